"""GPU check: the demo's DNA and image models trained on the GPU and on the CPU, same seed.

What it does (from the repository root, a few minutes on a GPU machine):
1. Stops at once, exit status 2, when TensorFlow sees no GPU, printing why
   (``biodl.training.device.no_gpu_reason``: a CPU-only TensorFlow build, or no device visible)
   — unless ``--smoke``, which runs the CPU half alone on one small model to keep the script
   working where there is no GPU.
2. Prepares the demo's ``ctcf`` (DNA) and ``skin_epithelium`` (image tiles) datasets with the
   workflow (``snakemake`` on their ``prepare`` targets, config/config.yaml, in a temporary
   folder holding a copy of ``resources/``).
3. Trains the demo's ``cnn_motif`` on ctcf and ``cnn_tiles`` on skin_epithelium, each once with
   ``training.device: gpu`` and once with ``cpu`` (``--epochs`` epochs, no early stopping, the
   demo seed), every training in a fresh process (a process that has started on the GPU cannot
   hide it again), through ``biodl.training.loop.train_model`` as the train rule calls it.
   Speed: training examples per second of wall time, median over the epochs after the first
   (the first traces the graph). Agreement: the first epoch's training loss and the test auROC of
   the trained model (``predict_model``, as the workflow's predictions).
4. Prints, per model and device, samples/s, first-epoch loss and test auROC, then the GPU / CPU
   speed ratio and whether the two devices agree within the tolerance below; exit status 1 if
   they do not.

Tolerance (stated): first-epoch loss within 2 % (relative) and test auROC within 0.03
(absolute). Each device is deterministic on its own (op determinism, same seed), but cuDNN and
the CPU kernels sum in different orders, so the weights drift apart by rounding over the epochs;
0.03 is well inside the bootstrap confidence interval of either test auROC (about 100 test
sequences, a few hundred test tiles), so a larger gap means the devices compute different
things, not rounding.

Usage:
    .venv/bin/python benchmarks/gpu_check.py [--epochs 5] [--threads 2] [--smoke]
Record the printed figures in benchmarks/RESULTS.md with the GPU's name (printed first).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

SNAKEMAKE = Path(sys.executable).with_name("snakemake")
# (dataset, model) of the demo, one per modality with a GPU-worthy network.
PAIRS = (("ctcf", "cnn_motif"), ("skin_epithelium", "cnn_tiles"))
LOSS_TOLERANCE = 0.02  # relative, first epoch
AUROC_TOLERANCE = 0.03  # absolute, test split


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="CPU half only, ctcf, 2 epochs")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(train_once(**json.loads(args.child))))
        return 0
    devices = ("cpu",) if args.smoke else ("gpu", "cpu")
    if not args.smoke:
        gpus = visible_gpus()
        if not gpus:
            from biodl.training.device import no_gpu_reason

            print(f"No GPU visible to TensorFlow: {no_gpu_reason()}.")
            print("Nothing was trained; run this on a GPU machine.")
            return 2
        print(f"GPU: {', '.join(gpus)}")
    pairs = PAIRS[:1] if args.smoke else PAIRS
    epochs = 2 if args.smoke else args.epochs
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare(work, [dataset for dataset, _ in pairs])
        results = [
            run_child(work, dataset, model, device, epochs, args.threads)
            for dataset, model in pairs
            for device in devices
        ]
    print_results(results)
    return 0 if args.smoke else report_agreement(results)


def visible_gpus() -> list[str]:
    """The GPUs TensorFlow sees, with their model names."""
    import tensorflow as tf

    named = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        named.append(f"{gpu.name} ({details.get('device_name', 'unknown')})")
    return named


def prepare(work: Path, datasets: list[str]) -> None:
    """The demo's prepared datasets under ``work/results/prepared`` (the workflow's own rules)."""
    shutil.copytree(ROOT / "resources", work / "resources")
    targets = [f"results/prepared/{dataset}/dataset.json" for dataset in datasets]
    done = subprocess.run(
        [
            str(SNAKEMAKE),
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--configfile",
            str(ROOT / "config/config.yaml"),
            "--cores",
            "2",
            *targets,
        ],
        cwd=work,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"preparing {datasets} failed:\n{done.stderr[-3000:]}")


def run_child(work: Path, dataset: str, model: str, device: str, epochs: int, threads: int) -> dict[str, Any]:
    """One training in a fresh process; its measurements."""
    spec = {
        "work": str(work),
        "dataset": dataset,
        "model": model,
        "device": device,
        "epochs": epochs,
        "threads": threads,
    }
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"training {model} on {dataset} ({device}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def train_once(work: str, dataset: str, model: str, device: str, epochs: int, threads: int) -> dict[str, Any]:
    """Train ``model`` on ``dataset`` on ``device``; samples/s, first-epoch loss, test auROC."""
    import keras
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    from biodl.config.models import check_network
    from biodl.data.dataset import open_dataset
    from biodl.evaluation.inference import predict_model
    from biodl.training.loop import TrainingRun, train_model

    demo = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    raw = demo["models"][model]
    raw["training"] = {**raw.get("training", {}), "epochs": epochs, "patience": epochs, "device": device}
    folder = Path(work) / "results/prepared" / dataset
    out = Path(work) / "runs" / f"{dataset}_{model}_{device}"
    out.mkdir(parents=True)
    timer = EpochTimer(keras)
    run = TrainingRun(
        folder,
        check_network(model, raw),
        demo["seed"],
        out / "model.keras",
        out / "history.tsv",
        threads=threads,
    )
    history = train_model(run, [timer.callback])
    predictions = predict_model(folder, out / "model.keras", out / "predictions.tsv")
    test = predictions[predictions["split"] == "test"]
    seconds = timer.seconds[1:] or timer.seconds
    return {
        "dataset": dataset,
        "model": model,
        "device": device,
        "train_examples": open_dataset(folder).n("train"),
        "samples_per_s": open_dataset(folder).n("train") / statistics.median(seconds),
        "first_loss": float(pd.to_numeric(history["loss"]).iloc[0]),
        "test_auroc": float(roc_auc_score(test["y_true"], test["y_score"])),
    }


class EpochTimer:
    """Wall seconds of each epoch, as a Keras callback (``.callback``)."""

    def __init__(self, keras: Any) -> None:
        self.seconds: list[float] = []
        timer = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                timer.started = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                timer.seconds.append(time.perf_counter() - timer.started)

        self.started = 0.0
        self.callback = Callback()


def print_results(results: list[dict[str, Any]]) -> None:
    header = ("dataset", "model", "device", "train", "samples/s", "loss 1", "test auROC")
    print("{:<16} {:<10} {:<6} {:>6} {:>10} {:>8} {:>10}".format(*header))
    for r in results:
        print(
            f"{r['dataset']:<16} {r['model']:<10} {r['device']:<6} {r['train_examples']:>6} "
            f"{r['samples_per_s']:>10.0f} {r['first_loss']:>8.4f} {r['test_auroc']:>10.3f}"
        )


def report_agreement(results: list[dict[str, Any]]) -> int:
    """GPU / CPU speed ratio and agreement per model; 1 if any model's devices disagree."""
    failed = 0
    for dataset, model in PAIRS:
        gpu, cpu = (
            {r["device"]: r for r in results if r["model"] == model and r["dataset"] == dataset}[d]
            for d in ("gpu", "cpu")
        )
        loss_gap = abs(gpu["first_loss"] - cpu["first_loss"]) / abs(cpu["first_loss"])
        auroc_gap = abs(gpu["test_auroc"] - cpu["test_auroc"])
        agree = loss_gap <= LOSS_TOLERANCE and auroc_gap <= AUROC_TOLERANCE
        failed += not agree
        print(
            f"{dataset} / {model}: GPU / CPU speed {gpu['samples_per_s'] / cpu['samples_per_s']:.1f}x; "
            f"first-epoch loss differs by {loss_gap:.2%} (tolerance {LOSS_TOLERANCE:.0%}), test auROC by "
            f"{auroc_gap:.3f} (tolerance {AUROC_TOLERANCE}): {'agree' if agree else 'DISAGREE'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
