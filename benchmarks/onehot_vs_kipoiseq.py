"""One-hot FASTA + BED → arrays on disk: biodl against pyfaidx + kipoiseq (not a test).

What is measured: turning N random 1 kb BED intervals on a real genome (E. coli 536, 4.9 Mb,
``resources/ecoli/NC_008253.fna.gz``, decompressed into a temporary folder first) into
``uint8`` one-hot arrays (N, 1000, 4) written to disk in shards. Throughput is Mbases/s =
N × 1000 bases / wall seconds, from the start of the work to the last file written; imports
and reading the arguments are excluded. Every run is a fresh process, limited to one thread
and pinned to one CPU, so its peak RSS (the high-water mark ``VmHWM``, read after the imports
and at the end) is its own; runs of the contenders are interleaved, in an order that rotates
from round to round, and each gets the median of ``--runs``.

Contenders:
- **biodl**: the workflow's own code path, ``biodl.data.dna.prepare.prepare_dna`` with a dataset spec
  filled by the config schema's defaults (shard size 8192, ambiguous bases as zeros, no
  generated negatives). biodl needs two classes when it generates no negatives, so the
  intervals are dealt at random into two BED files (classes ``a`` and ``b``). The genome has a
  single chromosome, so validation and test are regions (its first and second 500 kb); no
  interval straddles their boundaries and starts are distinct, so none is dropped and all N
  are encoded. Its time includes indexing the FASTA, reading the BEDs, splitting, shards,
  ``metadata.tsv`` and ``dataset.json``.
- **pyfaidx+kipoiseq** (the baseline): per interval, ``pyfaidx.Fasta(genome)[chrom][start:end]``
  then kipoiseq's ``one_hot_dna``, stacked and written with ``np.save`` in shards of the same
  size. ``one_hot_dna`` is asked for ``uint8`` so both write the same bytes (its default,
  float32, would write four times as many). Its time includes indexing the FASTA and reading
  the BEDs. kipoiseq 0.7.1 drags in kipoi and pins nothing, so it lives in its own virtual
  environment, ``.cache/bench-venvs/kipoiseq/``, created on first use (``peer_env``) with
  exactly the versions in ``KIPOISEQ_PINS``.
- **copy** (the physical bound): ``shutil.copyfile`` of a file as large as the one-hot output
  into the run's folder. The driver writes the source file once, before any run, so it is in
  the page cache (as an encoder's freshly computed arrays are in memory) and the timed
  process only copies. Writing those bytes is what any tool must do; a copy does nothing
  else. (Writing one small array over and over would be faster still, but only because it
  stays in the CPU cache.)

Both encoders' outputs are checked once against the genome text (a sample of intervals), so
a fast wrong answer cannot pass. Speed ratios are printed by wall time (the goals: biodl at
least 20x the baseline and half the copy's speed) and by CPU time, which a busy machine
disturbs less. Peak memory must not grow with N: biodl is also run at N, 2N and 4N, and the
slope of peak RSS against N (bytes per interval) is printed; what grows is the table of
intervals (one row each: coordinates, name, label), never the arrays.

Usage (from the repository root; the first run installs the baseline, about a minute):
    .venv/bin/python benchmarks/onehot_vs_kipoiseq.py                # N = 100,000, 5 runs
    .venv/bin/python benchmarks/onehot_vs_kipoiseq.py --intervals 200000 --runs 7
    .venv/bin/python benchmarks/onehot_vs_kipoiseq.py --smoke        # 2,000 intervals, 1 run, no baseline
The machine must be quiet for numbers worth reporting: the load averages are printed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Only the standard library (and peer_env, which uses only it) at module level: the
# baseline's environment runs this file too.
from peer_env import load_average, peak_rss_mb, peer_python

ROOT = Path(__file__).resolve().parents[1]
GENOME = ROOT / "resources" / "ecoli" / "NC_008253.fna.gz"
# kipoiseq 0.7.1 and everything importing it pulls in, at the versions pip resolved for it on
# Python 3.11 (installed with --no-deps); six is imported by kipoi's dependency `related`
# without being declared.
KIPOISEQ_PINS = [
    "kipoiseq==0.7.1",
    "kipoi==0.8.6",
    "kipoi-conda==0.3.1",
    "kipoi-utils==0.7.7",
    "six==1.17.0",
    "numpy==2.4.6",
    "pandas==3.1.1",
    "pyfaidx==0.9.2.2",
    "pyranges==0.1.7",
    "gffutils==0.14",
    "tqdm==4.70.1",
    "related==0.7.3",
    "attrs==21.4.0",
    "ncls==0.0.71",
    "sorted_nearest==0.0.42",
    "h5py==3.16.0",
    "argcomplete==3.7.2",
    "argh==0.31.3",
    "arrow==1.4.0",
    "binaryornot==0.6.0",
    "certifi==2026.10.18",
    "charset-normalizer==3.5.2",
    "click==8.5.1",
    "colorlog==6.12.0",
    "cookiecutter==2.7.1",
    "deprecation==2.1.0",
    "future==1.0.0",
    "idna==3.20",
    "Jinja2==3.1.6",
    "markdown-it-py==4.3.0",
    "MarkupSafe==3.0.4",
    "mdurl==0.1.2",
    "natsort==8.4.0",
    "packaging==26.3",
    "Pygments==2.21.0",
    "python-dateutil==4.0.0",
    "python-slugify==9.2.0",
    "PyYAML==6.0.3",
    "requests==2.34.2",
    "rich==15.0.0",
    "simplejson==4.3.0",
    "tabulate==0.10.0",
    "text-unidecode==1.3",
    "tinydb==4.9.0",
    "tzdata==2026.6",
    "urllib3==2.8.0",
]
LENGTH = 1000
HOLDOUT = 500_000  # validation: the first HOLDOUT bases, test: the next HOLDOUT
CLASSES = ("a", "b")
CHECKED = 300  # intervals per output compared with the genome text
SINGLE_THREAD = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "POLARS_MAX_THREADS",
    )
}


# --- the contenders, each run in a fresh process ------------------------------------------


def biodl_job(inputs: dict[str, Any], out: Path) -> Callable[[], None]:
    """biodl's preparation of the dataset in ``inputs`` into ``out``, ready to run."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from biodl.config.datasets import DnaDataset, dataset_settings
    from biodl.data.dna.prepare import prepare_dna
    from biodl.data.shards import PreparedFiles

    spec = dataset_settings("bench", dataset_spec(inputs))
    assert isinstance(spec, DnaDataset)

    def run() -> None:
        prepare_dna(spec, inputs["seed"], PreparedFiles.in_folder(out))

    return run


def kipoiseq_job(inputs: dict[str, Any], out: Path) -> Callable[[], None]:
    """Per interval: a pyfaidx fetch and kipoiseq's one_hot_dna; shards saved with np.save."""
    import numpy as np
    import pyfaidx
    from kipoiseq.transforms.functional import one_hot_dna

    def run() -> None:
        fasta = pyfaidx.Fasta(inputs["genome"], indexname=str(out / "genome.fa.fai"))
        batch: list[np.ndarray] = []
        shard = 0
        for path in inputs["regions"].values():
            with open(path) as bed:
                for line in bed:
                    chrom, start, end = line.split("\t")[:3]
                    batch.append(one_hot_dna(fasta[chrom][int(start) : int(end)].seq, dtype=np.uint8))
                    if len(batch) == inputs["shard_size"]:
                        np.save(out / f"{shard:05d}.x.npy", np.stack(batch))
                        batch, shard = [], shard + 1
        if batch:
            np.save(out / f"{shard:05d}.x.npy", np.stack(batch))

    return run


def copy_job(inputs: dict[str, Any], out: Path) -> Callable[[], None]:
    """A plain copy, into ``out``, of the file the driver made as large as the one-hot output."""

    def run() -> None:
        shutil.copyfile(inputs["copy_source"], out / "copy.bin")

    return run


JOBS = {"biodl": biodl_job, "pyfaidx+kipoiseq": kipoiseq_job, "copy": copy_job}


def dataset_spec(inputs: dict[str, Any]) -> dict[str, Any]:
    """The benchmark dataset as the workflow sees it: checked, with every schema default filled."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from biodl.config.checks import validate_config

    dataset = {
        "modality": "dna",
        "genome": inputs["genome"],
        "regions": inputs["regions"],
        "length": LENGTH,
        "split": {"validation": [inputs["validation"]], "test": [inputs["test"]]},
    }
    config = {
        "seed": inputs["seed"],
        "datasets": {"bench": dataset},
        "models": {"m": {"kind": "baseline", "estimator": "linear"}},
    }
    return validate_config(config)["datasets"]["bench"]


def worker(tool: str, inputs_path: Path, out: Path, cpu: int) -> None:
    """One timed run in this process; prints seconds, CPU seconds and memory as JSON."""
    os.sched_setaffinity(0, {cpu})
    inputs = json.loads(inputs_path.read_text())
    job = JOBS[tool](inputs, out)
    after_imports_mb = peak_rss_mb()
    cpu_start = time.process_time()
    start = time.perf_counter()
    job()
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": time.process_time() - cpu_start,
                "peak_mb": peak_rss_mb(),
                "imports_mb": after_imports_mb,
            }
        )
    )


# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Genome:
    """The decompressed genome: its FASTA file, its one record's name and its bases (upper case)."""

    path: Path
    chrom: str
    bases: bytes


def decompress_genome(folder: Path) -> Genome:
    """The shipped genome, decompressed byte for byte into ``folder``."""
    path = folder / "genome.fa"
    with gzip.open(GENOME, "rb") as source, open(path, "wb") as target:
        shutil.copyfileobj(source, target)
    header, *lines = path.read_bytes().split(b"\n")
    return Genome(path, header[1:].split()[0].decode(), b"".join(lines).upper())


def write_intervals(folder: Path, n: int, chrom: str, size: int, seed: int) -> dict[str, str]:
    """``n`` seeded random 1 kb intervals with distinct starts, none straddling a hold-out
    boundary, dealt at random into one BED file per class; returns class → path."""
    import numpy as np

    rng = np.random.default_rng(seed)
    starts = np.arange(size - LENGTH + 1)
    clear = np.ones(len(starts), dtype=bool)
    for boundary in (HOLDOUT, 2 * HOLDOUT):
        clear &= ~((starts < boundary) & (starts + LENGTH > boundary))
    chosen = np.sort(rng.choice(starts[clear], size=n, replace=False))
    label = rng.integers(len(CLASSES), size=n)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for k, cls in enumerate(CLASSES):
        mine = np.flatnonzero(label == k)
        path = folder / f"{cls}.bed"
        path.write_text(
            "".join(f"{chrom}\t{s}\t{s + LENGTH}\ti{i}\n" for i, s in zip(mine, chosen[mine], strict=True))
        )
        paths[cls] = str(path)
    return paths


def write_copy_source(folder: Path, n: int) -> Path:
    """A file of the size of ``n`` one-hot intervals, for the copy to copy."""
    path, size, block = folder / "copy-source.bin", n * LENGTH * 4, bytes(1 << 24)
    with open(path, "wb") as handle:
        for first in range(0, size, len(block)):
            handle.write(block[: size - first])
    return path


def make_inputs(folder: Path, genome: Genome, n: int, seed: int, copy: bool = False) -> Path:
    """Write the BED files (and, for ``copy``, the copy's source) and the workers' inputs.json
    for ``n`` intervals; return the path of inputs.json."""
    chrom = genome.chrom
    inputs: dict[str, Any] = {
        "genome": str(genome.path),
        "seed": seed,
        "intervals": n,
        "regions": write_intervals(folder, n, chrom, len(genome.bases), seed),
        "validation": f"{chrom}:1-{HOLDOUT}",
        "test": f"{chrom}:{HOLDOUT + 1}-{2 * HOLDOUT}",
    }
    if copy:
        inputs["copy_source"] = str(write_copy_source(folder, n))
    inputs["shard_size"] = dataset_spec(inputs)["shard_size"]
    path = folder / "inputs.json"
    path.write_text(json.dumps(inputs))
    return path


# --- checking an output against the genome ----------------------------------------------------


def check_output(tool: str, out: Path, inputs: dict[str, Any], bases: bytes) -> None:
    """Compare a sample of the written one-hot arrays with the genome text; exit on a mismatch."""
    import numpy as np
    import pandas as pd

    if tool == "biodl":
        meta = pd.read_csv(out / "metadata.tsv", sep="\t")
        where = [
            (out / f"{shard}.x.npy", offset, start)
            for shard, offset, start in meta[["shard", "offset", "start"]].itertuples(index=False)
        ]
    else:  # the BED files' rows, in order
        starts = [int(line.split("\t")[1]) for path in inputs["regions"].values() for line in open(path)]
        size = inputs["shard_size"]
        where = [(out / f"{i // size:05d}.x.npy", i % size, s) for i, s in enumerate(starts)]
    if len(where) != inputs["intervals"]:
        sys.exit(f"{tool} wrote {len(where)} intervals, expected {inputs['intervals']}")
    genome = np.frombuffer(bases, dtype=np.uint8)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    for k in np.random.default_rng(0).choice(len(where), size=min(CHECKED, len(where)), replace=False):
        shard, offset, start = where[k]
        expected = (genome[start : start + LENGTH, None] == letters).astype(np.uint8)
        if not np.array_equal(np.load(shard, mmap_mode="r")[offset], expected):
            sys.exit(f"{tool}: interval at {start} in {shard.name}[{offset}] does not match the genome")


# --- driving the runs -----------------------------------------------------------------------


def run_once(python: str, tool: str, inputs: Path, out: Path, cpu: int) -> dict[str, float]:
    out.mkdir()
    command = [
        python,
        __file__,
        "--worker",
        tool,
        "--inputs",
        str(inputs),
        "--out",
        str(out),
        "--cpu",
        str(cpu),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, **SINGLE_THREAD}
    )
    if done.returncode != 0:
        sys.exit(f"{tool} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{model}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def report(tool: str, runs: list[dict[str, float]], bases: int) -> tuple[float, float]:
    """Print one contender's line; return its median wall and CPU seconds."""
    seconds = statistics.median(r["seconds"] for r in runs)
    cpu = statistics.median(r["cpu_seconds"] for r in runs)
    each = ", ".join(f"{r['seconds']:.3f}" for r in runs)
    peak = max(r["peak_mb"] for r in runs)
    print(
        f"{tool:17s} median {seconds:8.3f} s {bases / seconds / 1e6:8.1f} Mbases/s  CPU {cpu:7.3f} s  "
        f"peak RSS {peak:6.1f} MB (after imports {runs[0]['imports_mb']:.1f})  runs: {each} s"
    )
    return seconds, cpu


def ratio(name: str, ours: tuple[float, float], theirs: tuple[float, float], goal: float) -> None:
    """Speed of biodl over another contender, by wall time (the goal) and by CPU time."""
    wall, cpu = theirs[0] / ours[0], theirs[1] / ours[1]
    print(
        f"speed biodl / {name:16s} = {wall:6.2f}x by wall time, {cpu:6.2f}x by CPU time "
        f"(goal >= {goal:g}x: {'met' if wall >= goal else 'not met'})"
    )


def memory_series(folder: Path, genome: Genome, args: argparse.Namespace, shard_size: int) -> None:
    """biodl's peak RSS at N, 2N and 4N (N: ``args.intervals``, ``args.seed``, pinned to
    ``args.cpu``); the least-squares slope in bytes per interval.

    From N = 100,000 up every split fills at least one shard, so the shard buffers are at full
    size at all three points and the slope is what each further interval costs.
    """
    n = args.intervals
    sizes = [n, 2 * n, 4 * n]
    peaks = []
    print(f"\npeak memory of biodl against the number of intervals (one run each; load {load_average()})")
    for size in sizes:
        inputs = make_inputs(folder / f"n{size}", genome, size, args.seed)
        result = run_once(sys.executable, "biodl", inputs, folder / "out", args.cpu)
        shutil.rmtree(folder / "out")
        peaks.append(result["peak_mb"] * 2**20)
        rate = size * LENGTH / result["seconds"] / 1e6
        print(f"  N = {size:8d}  peak RSS {result['peak_mb']:7.1f} MB  {rate:7.1f} Mbases/s")
    mean_n, mean_peak = statistics.fmean(sizes), statistics.fmean(peaks)
    slope = sum((s - mean_n) * (p - mean_peak) for s, p in zip(sizes, peaks, strict=True)) / sum(
        (s - mean_n) ** 2 for s in sizes
    )
    print(
        f"  slope {slope:.0f} bytes per interval; "
        f"the one-hot arrays alone take {LENGTH * 4} bytes per interval"
    )
    if n * HOLDOUT / len(genome.bases) < shard_size:
        print(
            f"  (below {shard_size} intervals in each hold-out the shard buffers are not yet full, so they "
            f"grow with N too)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--intervals", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-baseline", action="store_true", help="skip pyfaidx+kipoiseq (no install)")
    parser.add_argument(
        "--smoke", action="store_true", help="2,000 intervals, 1 run, no baseline: checks the script works"
    )
    parser.add_argument(
        "--cpu", type=int, default=max(os.sched_getaffinity(0)), help="the CPU every run is pinned to"
    )
    parser.add_argument("--worker", choices=list(JOBS), help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.inputs, args.out, args.cpu)
        return
    if args.smoke:
        args.intervals, args.runs, args.no_baseline = 2000, 1, True
    tools = {"biodl": sys.executable, "copy": sys.executable}
    if not args.no_baseline:
        tools["pyfaidx+kipoiseq"] = str(peer_python("kipoiseq", KIPOISEQ_PINS))
    with tempfile.TemporaryDirectory(prefix="onehot-bench-") as tmp:
        folder = Path(tmp)
        genome = decompress_genome(folder)
        inputs = make_inputs(folder / f"n{args.intervals}", genome, args.intervals, args.seed, copy=True)
        total = args.intervals * LENGTH
        print(
            f"{machine()}\n{GENOME.name}: {genome.chrom}, {len(genome.bases):,} bp; "
            f"{args.intervals:,} intervals of {LENGTH} bp = {total / 1e6:.0f} Mbases, "
            f"{total * 4 / 2**20:.0f} MiB of uint8 one-hot; median of {args.runs} run(s), interleaved, "
            f"one process per run, one thread pinned to CPU {args.cpu}; load {load_average()}"
        )
        results: dict[str, list[dict[str, float]]] = {tool: [] for tool in tools}
        order = list(tools)
        for round_ in range(args.runs):
            for tool in (
                order[round_ % len(order) :] + order[: round_ % len(order)]
            ):  # each follows each in turn
                out = folder / "out"
                results[tool].append(run_once(tools[tool], tool, inputs, out, args.cpu))
                if round_ == 0 and tool != "copy":
                    check_output(tool, out, json.loads(inputs.read_text()), genome.bases)
                shutil.rmtree(out)
        times = {tool: report(tool, runs, total) for tool, runs in results.items()}
        if "pyfaidx+kipoiseq" in times:
            ratio("pyfaidx+kipoiseq", times["biodl"], times["pyfaidx+kipoiseq"], 20)
        ratio("copy", times["biodl"], times["copy"], 0.5)
        memory_series(folder, genome, args, json.loads(inputs.read_text())["shard_size"])
        print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
