"""Tiles per second: biodl's tiler against histolab's GridTiler on the same slide (not a test).

Both tile the whole slide at level 0 with the same tile size and the same minimum tissue
percentage, keep the tiles with enough tissue and write them out: histolab as one PNG per tile
(its only output), biodl as one uint8 ``.npy`` array (what a shard holds). Every run is a
fresh process, so its peak memory (max RSS) is its own; the OS file cache is warm for both
after the first run. Reported: the median of ``--runs`` runs per tool, tiles/s = tiles kept
per second of wall time from opening the slide to the last tile written (imports excluded).

histolab lives in its own environment, never in the workflow's: the first run installs
histolab 0.7.0 and its pinned dependencies into ``.cache/bench-venvs/histolab/``
(``benchmarks/peer_env.py``), so one command measures both:

    .venv/bin/python benchmarks/tile_vs_histolab.py

Runs alternate between the tools (biodl, histolab, biodl, ...), so a change in machine load
hits both alike. ``--smoke`` runs biodl once on the demo slide and installs nothing.

``--copies 3x2`` tiles instead the large pyramidal TIFF that ``benchmarks/large_slide.py``
builds (the shipped slide's real tissue repeated across x down, benchmark only), written once
into a temporary folder before the runs; with ``--tile-size 64`` it holds over 10,000 tissue
tiles at level 0 with ``--overlap 32`` (stride 32 px, as training tiles overlap).

The two tools decide "tissue" differently (histolab: per tile, Otsu on grey levels of the
full-resolution tile inside its slide mask; biodl: once, on a thumbnail, Otsu on saturation),
so the numbers of kept tiles can differ; both are printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from peer_env import load_average, peak_rss_mb, peer_python  # noqa: E402

# histolab 0.7.0 with every dependency pinned. Its own pins (numpy <= 1.24.4, openslide-python
# < 1.3.2, scikit-image < 0.19.4, ...) have no wheels for python 3.11, so these are the versions
# it runs with here; the tile counts it prints show it works.
HISTOLAB_PINS = [
    "histolab==0.7.0",
    "certifi==2026.10.18",
    "charset-normalizer==3.5.2",
    "idna==3.20",
    "ImageIO==2.38.1",
    "lazy-loader==0.6",
    "networkx==3.6.1",
    "numpy==2.4.6",
    "openslide-bin==4.0.1.2",
    "openslide-python==1.4.7",
    "packaging==25.0",
    "pillow==13.0.0",
    "requests==2.34.2",
    "scikit-image==0.26.0",
    "scipy==1.17.1",
    "tifffile==2026.3.3",
    "urllib3==2.8.0",
]
DEFAULT_SLIDE = ROOT / "resources" / "images" / "cmu_small_region.svs"


def biodl_tiler(
    tile_size: int, overlap: int, tissue_percent: float, threads: int
) -> Callable[[Path, Path], int]:
    """biodl's tiling core, imported before the clock starts: slide, output folder → tiles kept."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import numpy as np

    from biodl.data.image.formats import open_sources
    from biodl.data.image.grid import Tiling, image_grid, read_tiles

    tiling = Tiling(
        size=tile_size,
        stride=tile_size - overlap,
        level=0,
        mpp=None,
        pad=False,
        background="light",
        tissue_threshold=tissue_percent / 100,
        tissue_resolution=16,
        min_coverage=0.5,
        min_labelled=0.5,
        mask_downsample=None,
        axis="axial",
        percentiles=(0.5, 99.5),
    )

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


def histolab_tiler(tile_size: int, overlap: int, tissue_percent: float) -> Callable[[Path, Path], int]:
    """histolab's GridTiler, imported before the clock starts: slide, output folder → tiles written."""
    from histolab.slide import Slide
    from histolab.tiler import GridTiler

    tiler = GridTiler(
        tile_size=(tile_size, tile_size),
        level=0,
        check_tissue=True,
        tissue_percent=tissue_percent,
        pixel_overlap=overlap,
        prefix="tile_",
        suffix=".png",
    )

    def run(slide: Path, out: Path) -> int:
        tiler.extract(Slide(str(slide), processed_path=str(out)))
        return len(list(out.rglob("tile_*.png")))

    return run


def worker(args: argparse.Namespace) -> None:
    """One timed run in this process; prints tiles, seconds and peak memory as JSON."""
    if args.worker == "biodl":
        tiler = biodl_tiler(args.tile_size, args.overlap, args.tissue_percent, args.threads)
    else:
        tiler = histolab_tiler(args.tile_size, args.overlap, args.tissue_percent)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        tiles = tiler(args.slide, Path(folder))
        seconds = time.perf_counter() - start
    peak_mb = peak_rss_mb()
    print(json.dumps({"tiles": tiles, "seconds": seconds, "peak_mb": peak_mb}))


def measure_once(python: Path, tool: str, args: argparse.Namespace) -> dict[str, float]:
    command = [
        str(python),
        __file__,
        "--worker",
        tool,
        "--slide",
        str(args.slide),
        "--tile-size",
        str(args.tile_size),
        "--tissue-percent",
        str(args.tissue_percent),
        "--overlap",
        str(args.overlap),
        "--threads",
        str(args.threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{tool} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(tool: str, runs: list[dict[str, float]]) -> float:
    seconds = statistics.median(r["seconds"] for r in runs)
    tiles = runs[0]["tiles"]
    rate = tiles / seconds
    each = ", ".join(f"{r['seconds']:.3f}" for r in runs)
    print(
        f"{tool:9s} {tiles:6d} tiles  median {seconds:7.3f} s  {rate:8.1f} tiles/s  "
        f"peak memory {max(r['peak_mb'] for r in runs):7.1f} MB  (runs: {each} s)"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slide", type=Path, default=DEFAULT_SLIDE)
    parser.add_argument("--copies", help="tile the shipped slide repeated across x down (e.g. 3x2)")
    parser.add_argument("--tile-size", type=int, default=256)
    parser.add_argument("--tissue-percent", type=float, default=80.0)
    parser.add_argument(
        "--overlap", type=int, default=0, help="pixels neighbouring tiles share (stride = size - overlap)"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=1, help="biodl's region-reading threads (histolab has one)"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="one biodl run, no histolab (CI keeps the script working)"
    )
    parser.add_argument("--worker", choices=["biodl", "histolab"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if args.copies:
        with tempfile.TemporaryDirectory() as folder:
            args.slide = mosaic(Path(folder), args.copies)
            compare(args)
    else:
        compare(args)


def mosaic(folder: Path, copies: str) -> Path:
    """The large pyramidal TIFF of ``benchmarks/large_slide.py``, written into ``folder``."""
    from large_slide import build_slide

    across, down = (int(v) for v in copies.split("x"))
    slide = folder / "mosaic.tiff"
    width, height = build_slide(slide, (across, down), None)
    print(f"slide: {width} x {height} px ({across} x {down} copies of the shipped slide)")
    return slide


def compare(args: argparse.Namespace) -> None:
    """Both tools, run after run, on ``args.slide``; medians and their ratio printed."""
    runs = 1 if args.smoke else args.runs
    pythons = {"biodl": Path(sys.executable)}
    if not args.smoke:
        pythons["histolab"] = peer_python("histolab", HISTOLAB_PINS)
    print(
        f"{args.slide.name}: {args.tile_size} px tiles at level 0, overlap {args.overlap} px, "
        f"tissue >= {args.tissue_percent:g}%, "
        f"median of {runs} runs, one process per run; load average {load_average()}"
    )
    results: dict[str, list[dict[str, float]]] = {tool: [] for tool in pythons}
    for _ in range(runs):
        for tool, python in pythons.items():
            results[tool].append(measure_once(python, tool, args))
    rates = {tool: summary(tool, tool_runs) for tool, tool_runs in results.items()}
    if "histolab" in rates:
        print(f"ratio     biodl / histolab = {rates['biodl'] / rates['histolab']:.1f}x tiles/s (goal >= 5x)")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
