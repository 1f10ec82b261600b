"""Whole-slide inference throughput (tiles/s) against a plain OpenSlide read + predict loop, and peak memory.

The slide. No slide of 10,000 tissue tiles ships, so one is built for the benchmark only (never
for the workflow): the shipped Aperio slide (``resources/images/cmu_small_region.svs``, 2220 x
2967 px at 0.499 µm/px, real H&E skin) is read whole at level 0 and repeated ``--copies`` times
across and down (``3x2``: 6660 x 5934 px, about 13,000 tissue tiles at the demo's tiling), then
written as a tiled pyramidal TIFF (256 px tiles, deflate, levels 1, 1/2, 1/4, 1/8, its µm/px in
the resolution tags) that OpenSlide opens as a generic TIFF. The copies are real tissue side by
side; only their arrangement is made up.

The model and tiling: the demo's ``cnn_tiles`` network, untrained (weights do not change the
cost), on 64 px tiles at 1 µm/px with stride 16 (the ``skin_epithelium`` dataset's settings,
tissue found as at preparation).

Contenders, in turns, ``--runs`` times each:
- "workflow": ``biodl.apply.whole_slides.map_slide`` (slide opened, thumbnail and tissue mask,
  the grid, every tissue tile read on ``--threads`` threads and predicted in chunks, the next
  chunk read while one is predicted; all timed);
- "plain": the same tile origins (given to it, so its tissue detection is free), each read with
  ``OpenSlide.read_region`` at level 0, converted to RGB, resized to 64 px with Pillow, batched by
  256 and predicted with ``model.predict`` in a loop.
Printed: tiles/s per run, the medians, the ratio workflow / plain (goal >= 1), and the peak RSS
(VmHWM) of a fresh process that maps the slide with the workflow: after finding tissue (the
thumbnail), after predicting one batch and then one chunk of tiles alone, after mapping, and
after mapping the same slide ``--repeats`` times (the resident size after each map is printed:
a leak would keep raising it). ``--memory-only --copies 1x1,2x1,3x2`` prints only the memory lines, for each
slide size.

Usage (from the repository root; minutes on 2 cores):
    .venv/bin/python benchmarks/apply_slides.py [--copies 3x2] [--runs 5] [--threads 2]
``--smoke``: a 512 x 512 crop of one copy, one run each (CI keeps the script working).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

SEED = 5
BATCH = 256


def demo_setup(threads: int):
    """The untrained demo tile network as a TileModel, and the skin dataset's tiling."""
    import yaml

    from biodl.apply.whole_slides import SlideTiling, TileModel
    from biodl.config.checks import validate_config
    from biodl.config.datasets import ImageDataset, dataset_settings
    from biodl.config.models import NetworkModel, model_settings
    from biodl.data.dataset import PreparedDataset
    from biodl.data.image.grid import Tiling
    from biodl.models.networks import build_model
    from biodl.training.device import configure_tensorflow

    configure_tensorflow(SEED, threads)
    config = validate_config(yaml.safe_load((ROOT / "config/config.yaml").read_text()), base_dir=ROOT)
    spec = dataset_settings("skin_epithelium", config["datasets"]["skin_epithelium"])
    assert isinstance(spec, ImageDataset)
    size = spec.tile.size
    settings = model_settings("cnn_tiles", config["models"]["cnn_tiles"])
    assert isinstance(settings, NetworkModel)
    network = build_model(settings, (size, size, 3), "binary", 1, ((200.0, 150.0, 200.0), (40.0, 50.0, 40.0)))
    dataset = PreparedDataset(
        root=ROOT, name="bench", modality="image", task="binary", classes=("stroma", "epithelium"),
        targets=("epithelium",), input_shape=(size, size, 3), ambiguous="zeros", splits={}, seed=SEED,
    )  # fmt: skip
    return TileModel((network,), dataset), SlideTiling(Tiling.from_settings(spec))


def run_workflow(model, tiling, slide: Path, threads: int):
    from biodl.apply.slide_sheet import SlideRow
    from biodl.apply.whole_slides import map_slide

    start = time.perf_counter()
    mapped = map_slide(model, SlideRow(2, slide, "bench", None), tiling, threads)
    return time.perf_counter() - start, mapped.tiles


def run_plain(network, slide: Path, xs: np.ndarray, ys: np.ndarray, side: int, size: int) -> float:
    import openslide
    from PIL import Image

    start = time.perf_counter()
    with openslide.OpenSlide(str(slide)) as handle:
        for first in range(0, len(xs), BATCH):
            batch = np.stack(
                [
                    np.asarray(
                        handle.read_region((int(x), int(y)), 0, (side, side))
                        .convert("RGB")
                        .resize((size, size), Image.Resampling.BILINEAR)
                    )
                    for x, y in zip(xs[first : first + BATCH], ys[first : first + BATCH], strict=True)
                ]
            )
            network.predict(batch.astype(np.float32), batch_size=BATCH, verbose=0)
    return time.perf_counter() - start


def throughput(args: argparse.Namespace, slide: Path) -> None:
    model, tiling = demo_setup(args.threads)
    network = model.networks[0]
    network.predict(np.zeros((1, *model.dataset.input_shape), np.float32), verbose=0)  # warm up
    rates: dict[str, list[float]] = {"workflow": [], "plain": []}
    for run in range(args.runs):
        seconds, tiles = run_workflow(model, tiling, slide, args.threads)
        rates["workflow"].append(len(tiles) / seconds)
        side = int(round(float(tiles["size"].iloc[0])))
        plain = run_plain(
            network, slide, tiles["x"].to_numpy(), tiles["y"].to_numpy(), side, tiling.tiling.size
        )
        rates["plain"].append(len(tiles) / plain)
        print(
            f"run {run + 1}: {len(tiles)} tissue tiles; workflow {rates['workflow'][-1]:.0f} tiles/s, "
            f"plain {rates['plain'][-1]:.0f} tiles/s"
        )
    workflow, plain = statistics.median(rates["workflow"]), statistics.median(rates["plain"])
    print(f"median: workflow {workflow:.0f} tiles/s, plain {plain:.0f} tiles/s")
    print(f"ratio workflow / plain: {workflow / plain:.2f} (goal >= 1)")


def memory(args: argparse.Namespace, slide: Path) -> None:
    """The workflow's peak RSS, in a fresh process (the slide written beforehand by this one)."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__)), "--child", str(slide), str(args.threads), str(args.repeats)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(("stage", "workflow"))]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"memory run failed:\n{done.stderr[-3000:]}")
    print("\n".join(lines))


def child(slide: Path, threads: int, repeats: int) -> None:
    """Peak RSS after each stage: tissue found (the thumbnail), one batch of tiles then one chunk
    predicted alone (``TileModel.predict``, what mapping does per chunk), the slide mapped; then the
    resident size after mapping the same slide ``repeats`` times: a leak would keep raising
    it, bounded memory would not."""
    from peer_env import peak_rss_mb, resident_mb

    from biodl.data.image.formats import open_sources
    from biodl.data.image.grid import image_grid

    model, tiling = demo_setup(threads)
    model.networks[0].predict(np.zeros((1, *model.dataset.input_shape), np.float32), verbose=0)
    before = peak_rss_mb()
    for source in open_sources(slide, percentiles=tiling.tiling.percentiles):
        grid = image_grid(source, tiling.tiling)
        print(
            f"stage grid: thumbnail {grid.thumbnail.shape[1]} x {grid.thumbnail.shape[0]} "
            f"({grid.thumbnail.nbytes / 2**20:.1f} MB); peak RSS {peak_rss_mb():.0f} MB"
        )
        del grid
    from biodl.evaluation.inference import PREDICT_BATCH_SIZE

    model.predict(np.zeros((PREDICT_BATCH_SIZE, *model.dataset.input_shape), np.uint8))
    batch_peak = peak_rss_mb()
    print(f"stage predict: one batch of {PREDICT_BATCH_SIZE} tiles alone; peak RSS {batch_peak:.0f} MB")
    chunk = np.zeros((tiling.chunk, *model.dataset.input_shape), np.uint8)
    model.predict(chunk)
    chunk_mb = chunk.nbytes / 2**20
    print(
        f"stage predict: one chunk of {tiling.chunk} tiles ({chunk_mb:.0f} MB uint8, "
        f"{4 * chunk_mb:.0f} MB float32) predicted alone; peak RSS {peak_rss_mb():.0f} MB"
    )
    del chunk
    _, tiles = run_workflow(model, tiling, slide, threads)
    first = peak_rss_mb()
    resident = [resident_mb()]
    for _ in range(repeats - 1):
        run_workflow(model, tiling, slide, threads)
        resident.append(resident_mb())
    print(f"stage maps: resident after each of {repeats} maps: {', '.join(f'{r:.0f}' for r in resident)} MB")
    print(
        f"workflow, {len(tiles)} tiles: peak RSS {before:.0f} MB before mapping, {first:.0f} MB "
        f"after, {peak_rss_mb():.0f} MB after mapping it {repeats} times"
    )


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", default="3x2", help="copies of the shipped slide across x down")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--repeats", type=int, default=2, help="maps of the slide in the memory process")
    parser.add_argument(
        "--memory-only", action="store_true", help="peak memory only, for each of --copies (e.g. 1x1,3x2)"
    )
    args = parser.parse_args()
    from large_slide import build_slide
    from peer_env import load_average

    for copies in args.copies.split(",") if args.memory_only else [args.copies]:
        across, down = (int(v) for v in copies.split("x"))
        if args.smoke:
            across, down, args.runs = 1, 1, 1
        with tempfile.TemporaryDirectory() as tmp:
            slide = Path(tmp) / "mosaic.tiff"
            width, height = build_slide(slide, (across, down), 512 if args.smoke else None)
            crop = " of a crop" if args.smoke else ""
            print(f"slide: {width} x {height} px ({across} x {down} copies{crop})")
            if not args.memory_only:
                throughput(args, slide)
            memory(args, slide)
    print(f"load average: {load_average()}")


if __name__ == "__main__":
    main()
