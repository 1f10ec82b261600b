"""Training throughput: samples per second of one epoch of a cnn1d network on synthetic DNA.

Usage: python benchmarks/train_throughput.py [--examples N] [--length L] [--batch-size B]
       [--mixed-precision] [--distribute]
Runs through biodl.train (the workflow's code path: GPU when one is visible, else the CPU) on a
random one-hot dataset written to a temporary folder; the first epoch (graph tracing) is timed
apart from the second.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import write_dataset  # noqa: E402  (the test fixtures' prepared-dataset writer)

import tensorflow as tf  # noqa: E402

from biodl.train import EpochLog, train_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20000)
    parser.add_argument("--length", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--mixed-precision", action="store_true")
    parser.add_argument("--distribute", action="store_true")
    args = parser.parse_args()
    seconds: list[float] = []
    original = EpochLog.on_epoch_end

    def timed(self: EpochLog, epoch: int, logs: dict | None = None) -> None:
        original(self, epoch, logs)
        seconds.append(self._seconds[-1])

    EpochLog.on_epoch_end = timed  # type: ignore[method-assign]
    config = {"kind": "cnn1d", "conv_layers": [{"filters": 64, "kernel_size": 19, "pool_size": 4}, {"filters": 64, "kernel_size": 7}],
              "global_pool": "max", "dense_layers": [{"units": 64, "dropout": 0.2}],
              "training": {"epochs": 2, "patience": 5, "batch_size": args.batch_size,
                           "mixed_precision": args.mixed_precision, "distribute": args.distribute}}
    with tempfile.TemporaryDirectory() as folder:
        n = args.examples
        data = write_dataset(Path(folder) / "data", sizes=(n, max(n // 10, 1), 1), length=args.length, shard_size=8192)
        start = time.perf_counter()
        train_model(data, "throughput", config, 1, Path(folder) / "model.keras", Path(folder) / "history.tsv", threads=4)
        total = time.perf_counter() - start
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"device {device}; {n} examples of {args.length} bp, batch {args.batch_size}; total {total:.1f} s")
    for epoch, s in enumerate(seconds, start=1):
        print(f"epoch {epoch}: {s:.2f} s, {n / s:.0f} samples/s (training and validation pass)")


if __name__ == "__main__":
    main()
