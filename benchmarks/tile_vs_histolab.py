"""Tiles per second: biodl's tiler against histolab's GridTiler on the same slide (not a test).

Both tile the whole slide at level 0 with the same tile size and the same minimum tissue
percentage, keep the tiles with enough tissue and write them out: histolab as one PNG per tile
(its only output), biodl as one uint8 ``.npy`` array (what a shard holds). Every run is a
fresh process, so its peak memory (max RSS) is its own; the OS file cache is warm for both
after the first run. Reported: the median of ``--runs`` runs per tool, tiles/s = tiles kept
per second of wall time from opening the slide to the last tile written (imports excluded).

histolab 0.7.0 pins numpy <= 1.24 and an old scikit-image, so it lives in its own
environment, never in the workflow's:

    python3.11 -m venv /tmp/histolab-venv && /tmp/histolab-venv/bin/pip install histolab==0.7.0
    .venv/bin/python benchmarks/tile_vs_histolab.py --histolab-python /tmp/histolab-venv/bin/python

The two tools decide "tissue" differently (histolab: per tile, Otsu on grey levels of the
full-resolution tile inside its slide mask; biodl: once, on a thumbnail, Otsu on saturation),
so the numbers of kept tiles can differ; both are printed.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SLIDE = ROOT / "resources" / "images" / "cmu_small_region.svs"


def biodl_tiler(tile_size: int, tissue_percent: float, threads: int) -> Callable[[Path, Path], int]:
    """biodl's tiling core, imported before the clock starts: slide, output folder → tiles kept."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import numpy as np

    from biodl.prepare_image import Tiling, image_grid, read_tiles
    from biodl.slides import open_sources

    tiling = Tiling(size=tile_size, stride=tile_size, level=0, mpp=None, pad=False, background="light",
                    tissue_threshold=tissue_percent / 100, tissue_resolution=16, min_coverage=0.5, min_labelled=0.5,
                    mask_downsample=None, axis="axial", percentiles=(0.5, 99.5))

    def run(slide: Path, out: Path) -> int:
        kept = 0
        for source in open_sources(slide):
            grid = image_grid(source, tiling)
            xs, ys, fractions = grid.tiles((0, 0, *source.size), pad_right=False, pad_bottom=False)
            keep = fractions >= tiling.tissue_threshold
            tiles = read_tiles(source, grid.resolution, xs[keep], ys[keep], tiling, threads)
            np.save(out / "tiles.npy", tiles)
            kept += len(tiles)
        return kept

    return run


def histolab_tiler(tile_size: int, tissue_percent: float) -> Callable[[Path, Path], int]:
    """histolab's GridTiler, imported before the clock starts: slide, output folder → tiles written."""
    from histolab.slide import Slide
    from histolab.tiler import GridTiler

    tiler = GridTiler(tile_size=(tile_size, tile_size), level=0, check_tissue=True, tissue_percent=tissue_percent,
                      pixel_overlap=0, prefix="tile_", suffix=".png")

    def run(slide: Path, out: Path) -> int:
        tiler.extract(Slide(str(slide), processed_path=str(out)))
        return len(list(out.rglob("tile_*.png")))

    return run


def worker(args: argparse.Namespace) -> None:
    """One timed run in this process; prints tiles, seconds and peak memory as JSON."""
    if args.worker == "biodl":
        tiler = biodl_tiler(args.tile_size, args.tissue_percent, args.threads)
    else:
        tiler = histolab_tiler(args.tile_size, args.tissue_percent)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        tiles = tiler(args.slide, Path(folder))
        seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(json.dumps({"tiles": tiles, "seconds": seconds, "peak_mb": peak_mb}))


def measure(python: str, tool: str, args: argparse.Namespace) -> list[dict[str, float]]:
    command = [python, __file__, "--worker", tool, "--slide", str(args.slide), "--tile-size", str(args.tile_size),
               "--tissue-percent", str(args.tissue_percent), "--threads", str(args.threads)]
    runs = []
    for _ in range(args.runs):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"{tool} run failed:\n{done.stderr[-3000:]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return runs


def summary(tool: str, runs: list[dict[str, float]]) -> float:
    seconds = statistics.median(r["seconds"] for r in runs)
    tiles = runs[0]["tiles"]
    rate = tiles / seconds
    each = ", ".join(f"{r['seconds']:.3f}" for r in runs)
    print(f"{tool:9s} {tiles:6d} tiles  median {seconds:7.3f} s  {rate:8.1f} tiles/s  "
          f"peak memory {max(r['peak_mb'] for r in runs):7.1f} MB  (runs: {each} s)")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slide", type=Path, default=DEFAULT_SLIDE)
    parser.add_argument("--tile-size", type=int, default=256)
    parser.add_argument("--tissue-percent", type=float, default=80.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="biodl's region-reading threads (histolab has one)")
    parser.add_argument("--histolab-python", help="interpreter with histolab installed; without it only biodl runs")
    parser.add_argument("--worker", choices=["biodl", "histolab"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    print(f"{args.slide.name}: {args.tile_size} px tiles at level 0, tissue >= {args.tissue_percent:g}%, "
          f"median of {args.runs} runs, one process per run")
    ours = summary("biodl", measure(sys.executable, "biodl", args))
    if args.histolab_python:
        theirs = summary("histolab", measure(args.histolab_python, "histolab", args))
        print(f"ratio     biodl / histolab = {ours / theirs:.1f}x tiles/s")


if __name__ == "__main__":
    main()
