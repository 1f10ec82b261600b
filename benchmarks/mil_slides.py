"""Slide-level labels: attention MIL on pseudo-slides of the demo slide (not a test).

The shipped skin slide is cut into 59 squares of about 96 µm (``resources/images/skin_regions.tsv``,
made by ``resources/images/make_region_bags.py``: each square is one bag, labelled
``epithelial`` or ``stromal`` from the share of haematoxylin-dense tissue in it; its tiles carry
no label). The squares are prepared as an image dataset (32-pixel tiles at 1 µm/px, stride 16,
tissue >= 0.5; groups split at random, stratified: about 60 / 20 / 20 %), an ``attention_mil``
model is trained on the training bags (``biodl.training.mil``), and the metrics of the test
bags (one row per square) are printed with bootstrap 95 % intervals, next to the chance level
and the training time. Then the training throughput: bags per second of ``fit`` on the bag
stream (``biodl.data.image.bags.BagBatches``) against ``fit`` on the same bags held in memory
as arrays (the issue's measure: >= 0.95x). Everything lands under ``--out`` (the prepared
dataset, the model, its history, the bag predictions and the attention of every tile).

    .venv/bin/python benchmarks/mil_slides.py

``--smoke`` trains for one epoch: it checks that the script runs, its figures mean nothing.
The squares are regions of one slide, not independent slides: scores are optimistic.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from biodl.training.mil import MilRun

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from biodl.config.datasets import ImageDataset, check_dataset  # noqa: E402
from biodl.config.models import AttentionMilModel, check_model  # noqa: E402
from biodl.data.image.prepare import prepare_image  # noqa: E402
from biodl.data.shards import ImageFiles  # noqa: E402

SHEET = ROOT / "resources/images/skin_regions.tsv"
DATASET: dict[str, Any] = {
    "modality": "image",
    "sample_sheet": str(SHEET),
    "classes": ["stromal", "epithelial"],
    "tile": {"size": 32, "stride": 16, "mpp": 1.0},
    "tissue": {"background": "light", "threshold": 0.5},
    "split": {"validation_fraction": 0.2, "test_fraction": 0.2},
}
MODEL: dict[str, Any] = {
    "kind": "attention_mil",
    "conv_layers": [
        {"filters": 8, "kernel_size": 3, "pool_size": 2},
        {"filters": 16, "kernel_size": 3, "pool_size": 2},
    ],
    "dense_layers": [{"units": 16}],
    "attention_units": 16,
    "max_tiles": 25,
    "training": {
        "epochs": 20,
        "batch_size": 8,
        "learning_rate": 0.003,
        "patience": 8,
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="one epoch, no bootstrap")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="mil_slides_"))
    run(out, args.seed, args.smoke)


def run(out: Path, seed: int, smoke: bool) -> None:
    from biodl.evaluation.metrics import compute_metrics
    from biodl.training.mil import MilRun, train_mil

    spec = check_dataset("skin_regions", DATASET)
    assert isinstance(spec, ImageDataset)
    prepared = out / "prepared"
    start = time.perf_counter()
    prepare_image(spec, seed, ImageFiles.in_folder(prepared))
    prepared_s = time.perf_counter() - start
    raw: dict[str, Any] = dict(MODEL)
    if smoke:
        raw["training"] = {**raw["training"], "epochs": 1}
    settings = check_model("mil", raw)
    assert isinstance(settings, AttentionMilModel)
    mil = MilRun(
        dataset=prepared,
        model=settings,
        seed=seed,
        model_path=out / "model.keras",
        history_path=out / "history.tsv",
        predictions_path=out / "predictions.tsv",
        attention_path=out / "attention.tsv",
        threads=2,
    )
    start = time.perf_counter()
    result = train_mil(mil)
    trained_s = time.perf_counter() - start
    test, validation = result.scores["test"], result.scores["validation"]
    metrics = compute_metrics(test, validation, seed=seed, bootstrap=0 if smoke else 1000, confidence=0.95)
    print(f"prepared in {prepared_s:.1f} s; trained {len(result.history)} epochs in {trained_s:.1f} s")
    print(f"bags: validation {validation.n}, test {test.n} (test positives: {int(test.y_true.sum())})")
    print("slide-level test metrics (95% bootstrap intervals; chance: auroc 0.5):")
    shown = metrics[metrics["metric"].isin(["auroc", "auprc", "accuracy", "f1", "n"])]
    print(shown.to_string(index=False))
    print(f"outputs in {out}")
    throughput(prepared, mil, epochs=1 if smoke else 3)


def throughput(prepared: Path, mil: MilRun, epochs: int) -> None:
    """Bags per second of ``fit``: the bag stream (``BagBatches``) against the same bags held in
    memory as arrays, alternating, each after a one-epoch warm-up (tracing); medians of two."""
    import numpy as np

    from biodl.data.dataset import open_dataset
    from biodl.data.image.bags import BagBatches, split_bags
    from biodl.training.mil import compile_mil

    dataset, settings = open_dataset(prepared), mil.model
    size = settings.training.batch_size
    bags = split_bags(dataset, settings.max_tiles, mil.seed)["train"]
    tiles = max(len(bag.rows) for bag in bags)
    stream = BagBatches(dataset, "train", bags, size, tiles, shuffle=True, seed=mil.seed)
    batches = [stream[i] for i in range(len(stream))]
    inputs = {key: np.concatenate([batch[0][key] for batch in batches]) for key in ("tiles", "mask")}
    labels = np.concatenate([batch[1] for batch in batches])

    def fit(model: Any, source: str, n_epochs: int) -> None:
        if source == "stream":
            model.fit(stream.tf_dataset(2), steps_per_epoch=len(stream), epochs=n_epochs, verbose=0)
        else:
            model.fit(inputs, labels, batch_size=size, epochs=n_epochs, verbose=0)

    rates: dict[str, list[float]] = {"stream": [], "memory": []}
    for source in ("stream", "memory") * 2:
        model = compile_mil(settings, dataset, tiles)
        fit(model, source, 1)
        start = time.perf_counter()
        fit(model, source, epochs)
        rates[source].append(epochs * len(bags) / (time.perf_counter() - start))
    stream_rate, memory_rate = (float(np.median(rates[k])) for k in ("stream", "memory"))
    print(
        f"training throughput: bag stream {stream_rate:.1f} bags/s, in-memory fit {memory_rate:.1f} "
        f"bags/s ({stream_rate / memory_rate:.2f}x)"
    )


if __name__ == "__main__":
    main()
