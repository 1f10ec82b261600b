"""Training input pipeline: the workflow's training loop against a bare ``model.fit`` on NumPy
arrays (samples/s), and the peak memory of training on a dataset several times a memory cap.

1. Throughput. A synthetic prepared DNA dataset (random one-hot sequences, a motif planted in
   the positives, written by biodl's own shard writer) is trained on for ``--epochs`` epochs by
   - "workflow": ``biodl.training.loop.train_model`` as the train rule calls it: the shards on disk
     streamed by ``biodl.training.batches.ShardBatches``, the gradient norm tracked, a checkpoint and
     TensorBoard scalars written every epoch (all part of what is timed), and
   - "bare", the baseline: the same network (``biodl.training.loop.network_for``), optimiser, loss and
     metrics compiled on a plain ``keras.Model``, then ``model.fit(x, y, validation_data=...)``
     on the same examples, loaded beforehand into float32 NumPy arrays.
   Both use the model's batch size, the same seed and TensorFlow threads
   (``biodl.training.loop.configure_tensorflow``), a shuffle per epoch and a validation pass every
   epoch. The first epoch (graph tracing) is left out: a run's rate is its training examples
   divided by the median wall time of its other epochs. Every run is a fresh process and the
   contenders take turns. Printed: the median over ``--runs`` runs per contender and the ratio
   workflow / bare (goal >= 0.95); beside them the same from CPU time (all the process's
   threads), which moves less than wall time when other work shares the CPUs. Models
   (``--models``): the demo's ``cnn_motif`` and a tiny cnn1d, where the input pipeline weighs
   most (the default pair), and the model zoo at laptop sizes: ``danq_small`` (config/config.yaml),
   ``basset_small``, ``deepsea_small`` and ``resnet_small`` (config/position.yaml).
2. Memory cap. A dataset whose training inputs are ``--cap-factor`` times ``--cap-mb`` is trained
   on for one epoch by ``train_model`` (a small network, examples shuffled across all shards)
   in a child process, without any memory limit. Printed: the data size; the peak RSS (VmHWM)
   of that process once TensorFlow and biodl are imported, before any work (the baseline of a
   TensorFlow process); its peak RSS over the whole epoch against the cap, with the peaks of
   its anonymous and file-backed parts (touched pages of memory-mapped files are file-backed
   RSS). Where this process may create a memory cgroup (cgroup v1 ``memory.limit_in_bytes`` or
   v2 ``memory.max``: root in most containers), the epoch is run again inside one limited to
   the cap, the dataset first evicted from the page cache, so the kernel enforces the cap
   (going over it kills the child); otherwise the cap is measured, not enforced. The memory
   above the baseline grows with the batch size, not with the data: glibc's malloc keeps
   freed batch buffers for reuse (batch 512 instead of 128 here: about 170 MB more).

Usage (from the repository root, nothing to prepare; about 20 minutes on 2 cores):
    .venv/bin/python benchmarks/train_pipeline.py [--runs 5] [--epochs 4] [--threads 2]
        [--examples 20000] [--length 500] [--models cnn_motif,tiny] [--cap-mb 1024]
        [--cap-factor 3] [--skip throughput|memory] [--smoke]
``--smoke``: tiny data, one run of the tiny model per contender, 2 epochs, a small memory run
without cgroup (CI keeps the script working; no timing is asserted).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from peer_env import load_average  # noqa: E402
from process_memory import (  # noqa: E402
    PeakParts,
    evict_from_page_cache,
    memory_cgroup,
    oom_kills,
    peak_charge_mb,
    status_kb,
)

from biodl.core.files import RunFolder, write_json  # noqa: E402
from biodl.data.shards import close_dataset, writer_for  # noqa: E402

SEED = 1
MOTIF = "GATAAGGATAAG"
KINDS = ("bare", "workflow")
TINY_MODEL = {
    "kind": "cnn1d",
    "description": "One small convolution: the input pipeline weighs most.",
    "conv_layers": [{"filters": 8, "kernel_size": 8, "pool_size": 4}],
    "global_pool": "max",
    "dense_layers": [{"units": 8}],
    "training": {"batch_size": 64},
}
# The memory check streams a dataset larger than the cap once: the cheaper the network, the
# sooner it is done and the harder it presses on the input pipeline.
STREAM_MODEL: dict[str, Any] = {
    "kind": "cnn1d",
    "description": "One 1-bp filter averaged over the sequence.",
    "conv_layers": [{"filters": 1, "kernel_size": 1}],
    "global_pool": "average",
    "dense_layers": [],
    "training": {"batch_size": 128},
}


# The model zoo at laptop sizes: danq_small from the demo, the others from the position task.
ZOO_FROM = {
    "config.yaml": ("danq_small",),
    "position.yaml": ("basset_small", "deepsea_small", "resnet_small"),
}


def models() -> dict[str, dict[str, Any]]:
    """The benchmarked models: the demo's cnn_motif, the zoo kinds (``ZOO_FROM``), the tiny one
    and the memory check's."""
    read = {name: yaml.safe_load((ROOT / "config" / name).read_text())["models"] for name in ZOO_FROM}
    zoo = {model: read[config][model] for config, names in ZOO_FROM.items() for model in names}
    return {"cnn_motif": read["config.yaml"]["cnn_motif"], **zoo, "tiny": TINY_MODEL, "stream": STREAM_MODEL}


# ---------------------------------------------------------------------------- synthetic data


def write_dataset(root: Path, n_train: int, length: int, shard_size: int = 8192) -> Path:
    """A binary prepared DNA dataset under ``root`` (validation and test: 5% of ``n_train`` each),
    generated and written one shard at a time."""
    rng = np.random.default_rng(SEED)
    motif = np.array(["ACGT".index(b) for b in MOTIF], dtype=np.uint8)
    (root / "shards").mkdir(parents=True)
    writer = writer_for("dna", root / "shards", shard_size)
    n_other = held_out(n_train)
    for split, n in (("train", n_train), ("validation", n_other), ("test", n_other)):
        for first in range(0, n, shard_size):
            m = min(shard_size, n - first)
            y = (rng.random(m) < 0.5).astype(np.float32)[:, None]
            codes = rng.integers(0, 4, size=(m, length), dtype=np.uint8)
            positives = np.flatnonzero(y[:, 0])
            starts = rng.integers(0, length - len(motif), size=len(positives))
            codes[positives[:, None], starts[:, None] + np.arange(len(motif))] = motif
            x = (codes[..., None] == np.arange(4, dtype=np.uint8)).view(np.uint8)
            index = np.arange(first, first + m)
            meta = pd.DataFrame(
                {
                    "source": "synthetic",
                    "name": [f"{split}_{i}" for i in index],
                    "chrom": "chr1",
                    "start": index * length,
                    "end": (index + 1) * length,
                    "strand": "+",
                    "label": np.where(y[:, 0] > 0, "bound", "background"),
                }
            )
            writer.add(split, x, y, meta)
    description = close_dataset(
        writer,
        {
            "name": "synthetic",
            "modality": "dna",
            "task": "binary",
            "classes": ["background", "bound"],
            "targets": ["bound"],
            "input_shape": [length, 4],
            "ambiguous": "zeros",
            "seed": SEED,
        },
        "synthetic data",
        root / "metadata.tsv",
    )
    write_json(description, root / "dataset.json")
    return root


def held_out(n_train: int) -> int:
    """Examples in each of the validation and test splits."""
    return max(n_train // 20, 64)


def input_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in (root / "shards").glob("*.x.npy"))


# ---------------------------------------------------------------------------- worker processes


def model_config(name: str, epochs: int) -> dict[str, Any]:
    """The model's settings for ``epochs`` epochs without early stopping."""
    config = json.loads(json.dumps(models()[name]))
    config["training"] = {**config.get("training", {}), "epochs": epochs, "patience": epochs}
    return config


def worker(args: argparse.Namespace) -> None:
    """One run in this process; prints one JSON line."""
    import keras

    from biodl.config.models import check_network
    from biodl.training.loop import TrainingRun, train_model

    idle_mb = status_kb("VmHWM") / 1024  # TensorFlow and biodl imported, nothing else done yet

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self.cpu_seconds: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._start = (time.perf_counter(), time.process_time())

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.seconds.append(time.perf_counter() - self._start[0])
            self.cpu_seconds.append(time.process_time() - self._start[1])

    timer = EpochTimer()
    config = model_config(args.model, args.epochs)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        parts = PeakParts()
        if args.worker == "bare":
            bare_fit(args.dataset, args.model, config, args.threads, timer)
        else:
            train_model(
                TrainingRun(
                    args.dataset,
                    check_network(args.model, config),
                    SEED,
                    out / "model.keras",
                    out / "history.tsv",
                    threads=args.threads,
                    checkpoint=RunFolder(out, "d", "checkpoint"),
                    tensorboard=RunFolder(out, "d", "tensorboard"),
                ),
                callbacks=[timer],
            )
        result = parts.stop()
    print(
        json.dumps(
            {
                "epoch_seconds": timer.seconds,
                "epoch_cpu_seconds": timer.cpu_seconds,
                "idle_mb": idle_mb,
                "peak_mb": status_kb("VmHWM") / 1024,
                **result,
            }
        )
    )


def bare_fit(dataset_dir: Path, name: str, config: dict[str, Any], threads: int, timer: Any) -> None:
    """The baseline: the same network and compile settings, ``fit`` on in-memory float32 arrays."""
    from biodl.config.models import check_network
    from biodl.data.dataset import input_shards, load_labels, open_dataset, to_inputs
    from biodl.models.objectives import loss_for, training_metrics
    from biodl.models.optimization import build_optimizer
    from biodl.training.device import configure_tensorflow
    from biodl.training.loop import network_for

    dataset = open_dataset(dataset_dir)
    settings = check_network(name, config)
    training = settings.training
    x, xv = (
        to_inputs(np.concatenate(input_shards(dataset, split)), dataset.ambiguous)
        for split in ("train", "validation")
    )
    y, yv = load_labels(dataset, "train"), load_labels(dataset, "validation")
    configure_tensorflow(SEED, threads)
    model = network_for(settings, dataset)
    model.compile(
        optimizer=build_optimizer(name, training),
        loss=loss_for(dataset.task, training),
        metrics=training_metrics(dataset.task),
    )
    model.fit(
        x,
        y,
        batch_size=training.batch_size,
        epochs=training.epochs,
        validation_data=(xv, yv),
        shuffle=True,
        verbose=0,
        callbacks=[timer],
    )


# ---------------------------------------------------------------------------- orchestration


def run_worker(
    kind: str, dataset: Path, model: str, epochs: int, threads: int, cgroup: Path | None = None
) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        kind,
        "--dataset",
        str(dataset),
        "--model",
        model,
        "--epochs",
        str(epochs),
        "--threads",
        str(threads),
    ]

    def join_cgroup() -> None:
        assert cgroup is not None
        (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    done = subprocess.run(
        command, capture_output=True, text=True, check=False, preexec_fn=join_cgroup if cgroup else None
    )
    if done.returncode != 0:
        return {"failed": f"exit status {done.returncode}", "stderr": done.stderr[-3000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def throughput(args: argparse.Namespace, names: list[str], folder: Path) -> None:
    dataset = write_dataset(folder / "throughput", args.examples, args.length)
    print(
        f"\n1. Throughput: {args.examples} training + {held_out(args.examples)} validation examples "
        f"of {args.length} bp; {args.epochs} epochs, the first left out; {args.threads} TensorFlow threads; "
        f"median of {args.runs} runs, one process each, contenders alternating"
    )
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {(name, kind): [] for name in names for kind in KINDS}
    for run in range(args.runs):
        for name in names:
            for kind in KINDS if run % 2 == 0 else KINDS[::-1]:
                result = run_worker(kind, dataset, name, args.epochs, args.threads)
                if "failed" in result:
                    sys.exit(f"{kind} run of {name} failed ({result['failed']}):\n{result['stderr']}")
                runs[name, kind].append(result)
    for name in names:
        batch = model_config(name, 1)["training"]["batch_size"]
        rates = {}
        for kind in KINDS:
            # Samples per second of wall time, and per second of CPU time of all the process's threads.
            wall = [args.examples / statistics.median(r["epoch_seconds"][1:]) for r in runs[name, kind]]
            cpu = [args.examples / statistics.median(r["epoch_cpu_seconds"][1:]) for r in runs[name, kind]]
            rates[kind] = statistics.median(wall), statistics.median(cpu)
            each = ", ".join(f"{r:.0f}" for r in wall)
            print(
                f"  {name:13s} {kind:8s} batch {batch}: {rates[kind][0]:7.0f} samples/s (runs: {each}); "
                f"{rates[kind][1]:7.0f} samples per CPU-second"
            )
        wall_ratio, cpu_ratio = (rates["workflow"][i] / rates["bare"][i] for i in (0, 1))
        print(
            f"  {name:13s} ratio workflow / bare = {wall_ratio:.3f} samples/s (goal >= 0.95), "
            f"{cpu_ratio:.3f} per CPU-second"
        )


def memory_cap(args: argparse.Namespace, folder: Path) -> None:
    cap = args.cap_mb * 2**20
    row = args.cap_length * 4
    n = max(int(cap * args.cap_factor) // row, 128)
    start = time.perf_counter()
    dataset = write_dataset(folder / "capped", n, args.cap_length)
    size, seconds = input_bytes(dataset), time.perf_counter() - start
    shards = len(list((dataset / "shards").glob("train-*.x.npy")))
    print(
        f"\n2. Memory cap {args.cap_mb} MB: {n} training examples of {args.cap_length} bp, "
        f"inputs {size / 2**20:.0f} MB on disk ({size / cap:.1f}x the cap; written in {seconds:.0f} s); "
        f"one epoch of a small model (batch {STREAM_MODEL['training']['batch_size']}), "
        f"{args.threads} threads, shuffled across {shards} training shards"
    )
    result = run_worker("cap", dataset, "stream", 1, args.threads)
    if "failed" in result:
        sys.exit(f"capped training failed ({result['failed']}):\n{result['stderr']}")
    verdict = "under the cap" if result["peak_mb"] < args.cap_mb else "OVER the cap"
    print(
        "  TensorFlow process baseline (TensorFlow and biodl imported, nothing done): "
        f"peak RSS {result['idle_mb']:.0f} MB"
    )
    print(
        f"  training, no limit: peak RSS {result['peak_mb']:.0f} MB, {verdict} "
        f"(peak anonymous {result['peak_anon_mb']:.0f} MB, "
        f"peak file-backed {result['peak_file_mb']:.0f} MB); "
        f"epoch {result['epoch_seconds'][0]:.0f} s, "
        f"{n / result['epoch_seconds'][0]:.0f} samples/s"
    )
    if args.smoke:
        return
    made = memory_cgroup(cap)
    if made is None:
        print("  no memory cgroup could be created here: the cap was measured, not enforced")
        return
    cgroup, how = made
    evict_from_page_cache(dataset)
    try:
        result = run_worker("cap", dataset, "stream", 1, args.threads, cgroup)
        kills, charge = oom_kills(cgroup), peak_charge_mb(cgroup)
    except subprocess.SubprocessError as error:  # the child could not join the cgroup
        print(
            f"  the child could not be put in the {how} cgroup ({error}): the cap was measured, not enforced"
        )
        return
    finally:
        cgroup.rmdir()
    where = f"  training inside {how} = {args.cap_mb} MB (dataset evicted from the page cache first)"
    if "failed" in result:
        print(f"{where}: KILLED ({result['failed']}, {kills} OOM kill(s))")
    else:
        charged = "" if charge is None else f", peak cgroup charge {charge:.0f} MB (page cache included)"
        print(
            f"{where}: finished, peak RSS {result['peak_mb']:.0f} MB{charged}, {kills} OOM kill(s); "
            f"epoch {result['epoch_seconds'][0]:.0f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=4, help="per run; the first is left out")
    parser.add_argument(
        "--threads", type=int, default=2, help="TensorFlow threads (the train rule's threads)"
    )
    parser.add_argument(
        "--examples", type=int, default=20000, help="training examples of the throughput dataset"
    )
    parser.add_argument("--length", type=int, default=500, help="sequence length of the throughput dataset")
    parser.add_argument(
        "--models", default="cnn_motif,tiny", help=f"throughput models, of {', '.join(models())}"
    )
    parser.add_argument("--cap-mb", type=int, default=1024, help="memory cap for the streaming check")
    parser.add_argument("--cap-factor", type=float, default=3.0, help="inputs of the capped dataset, in caps")
    parser.add_argument("--cap-length", type=int, default=1000, help="sequence length of the capped dataset")
    parser.add_argument("--skip", choices=["throughput", "memory"], help="leave one part out")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, one run (CI keeps the script working)"
    )
    parser.add_argument("--worker", choices=["bare", "workflow", "cap"], help=argparse.SUPPRESS)
    parser.add_argument("--dataset", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    names = args.models.split(",")
    if unknown := sorted(set(names) - set(models())):
        parser.error(f"--models: unknown {', '.join(unknown)}; expected some of {', '.join(models())}")
    if args.smoke:
        args.runs, args.epochs, args.examples, args.length = 1, 2, 512, 100
        args.cap_factor, args.cap_length = 0.002, 100
        names = ["tiny"]
    print(f"train_pipeline: {os.cpu_count()} CPUs, load average {load_average()}")
    with tempfile.TemporaryDirectory(prefix="train_pipeline-") as folder:
        if args.skip != "throughput":
            throughput(args, names, Path(folder))
        if args.skip != "memory":
            memory_cap(args, Path(folder))
    print(f"load average now: {load_average()}")


if __name__ == "__main__":
    main()
