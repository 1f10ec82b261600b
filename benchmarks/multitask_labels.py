"""Multi-task labels by overlap: biodl against bioframe.overlap (not a test).

What is measured: labelling N windows (1 kb, at random on a 5-chromosome, 120 Mb synthetic
genome) for T tasks (default 20), each task 20,000 random intervals of 100 to 2,000 bp (so
peaks nest and overlap), by the rule ``overlap: {measure: either, min_fraction: 0.5,
ambiguous: missing}``: positive when the task's intervals cover half the window (each base
once) or half of one interval lies inside it; a window touching the task below that is
missing (NaN); else 0. Windows and intervals are generated from a fixed seed in each worker, so
both contenders label the same data. Time runs from the windows and intervals in memory (as
frames) to the (N, T) float32 labels; generating the data and the imports are excluded.

Contenders, each in a fresh process (its peak RSS, ``VmHWM``, is its own):
- **biodl**: ``TaskIntervals.build`` per task, then ``label_windows`` (sorted intervals,
  binary searches, windows in blocks of 65,536).
- **bioframe** (the baseline): per task, ``bioframe.merge`` of the intervals, then two
  ``bioframe.overlap(..., how="inner", return_overlap=True)`` calls (windows x merged, windows
  x intervals), overlap lengths summed (window fraction) and divided by interval length (peak
  fraction, max per window) with pandas ``groupby``. bioframe 0.8.0 lives in its own pinned
  virtual environment, ``.cache/bench-venvs/bioframe/`` (``peer_env``), never in the workflow's.
The two outputs must be identical (NaN where NaN), or the script stops: a fast wrong answer
cannot pass. Printed: seconds (wall and CPU: each worker is one thread, so CPU time is the steadier
figure on a busy machine) per contender and the speed ratios, at each N, and the peak RSS of
each run at each N with biodl's slope (bytes per window). What has to grow with N is the
windows' table and the labels themselves (N x T x 4 bytes: 80 B per window at T = 20); the
work arrays are bounded by the block.

Usage (from the repository root; the first run installs bioframe, a few minutes):
    .venv/bin/python benchmarks/multitask_labels.py                    # 250k, 500k, 1M windows
    .venv/bin/python benchmarks/multitask_labels.py --windows 100000 --tasks 8
    .venv/bin/python benchmarks/multitask_labels.py --smoke            # 20,000 windows, biodl only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHROMS = {
    f"chr{i}": size for i, size in enumerate((32_000_000, 28_000_000, 24_000_000, 21_000_000, 15_000_000), 1)
}
WINDOW = 1000
INTERVALS_PER_TASK = 20_000
MIN_FRACTION = 0.5
SEED = 7
BIOFRAME_PINS = (
    "bioframe==0.8.0 numpy==2.4.6 pandas==3.1.1 python-dateutil==4.0.0 six==1.17.0 tzdata==2026.6 "
    "matplotlib==3.11.2 contourpy==1.3.3 cycler==0.12.1 fonttools==4.68.0 kiwisolver==1.5.1 "
    "packaging==25.0 pillow==13.0.0 pyparsing==3.3.3 requests==2.34.2 charset-normalizer==3.5.2 "
    "idna==3.20 urllib3==2.8.0 certifi==2026.10.18 typing_extensions==4.16.0 PyYAML==6.0.3"
).split()


def generate(n_windows: int, n_tasks: int):
    """The windows and every task's intervals as frames (chrom, start, end), from ``SEED``."""
    import pandas as pd

    rng = np.random.default_rng(SEED)
    names, sizes = list(CHROMS), np.array(list(CHROMS.values()))
    share = sizes / sizes.sum()

    def frame(n: int, lengths: np.ndarray) -> pd.DataFrame:
        chrom = rng.choice(len(names), n, p=share)
        start = (rng.random(n) * (sizes[chrom] - lengths)).astype(np.int64)
        order = np.lexsort((start, chrom))
        return pd.DataFrame(
            {
                "chrom": np.array(names, dtype=object)[chrom[order]],
                "start": start[order],
                "end": (start + lengths)[order],
            }
        )

    windows = frame(n_windows, np.full(n_windows, WINDOW))
    tasks = [frame(INTERVALS_PER_TASK, rng.integers(100, 2001, INTERVALS_PER_TASK)) for _ in range(n_tasks)]
    return windows, tasks


def label_biodl(windows, tasks):
    from biodl.data.dna.overlap import OverlapRule, TaskIntervals, label_windows

    indexed = [TaskIntervals.build(f"t{k}", task) for k, task in enumerate(tasks)]
    rule = OverlapRule("either", MIN_FRACTION, "missing")
    return label_windows(
        windows["chrom"].to_numpy(), windows["start"].to_numpy(), windows["end"].to_numpy(), indexed, rule
    )


def label_bioframe(windows, tasks):
    import bioframe

    n = len(windows)
    windows = windows.assign(window=np.arange(n))
    lengths = (windows["end"] - windows["start"]).to_numpy()
    labels = np.zeros((n, len(tasks)), np.float32)
    for t, task in enumerate(tasks):
        merged = bioframe.merge(task)
        covered = np.zeros(n)
        hits = bioframe.overlap(windows, merged, how="inner", return_overlap=True)
        if len(hits):
            size = hits["overlap_end"] - hits["overlap_start"]
            per_window = size.groupby(hits["window"]).sum()
            covered[per_window.index.to_numpy()] = per_window.to_numpy()
        best = np.zeros(n)
        hits = bioframe.overlap(windows, task, how="inner", return_overlap=True)
        if len(hits):
            fraction = (hits["overlap_end"] - hits["overlap_start"]) / (hits["end_"] - hits["start_"])
            per_window = fraction.groupby(hits["window"]).max()
            best[per_window.index.to_numpy()] = per_window.to_numpy()
        positive = (covered >= MIN_FRACTION * lengths) | (best >= MIN_FRACTION)
        labels[:, t] = positive
        labels[(covered > 0) & ~positive, t] = np.nan
    return labels


def worker(contender: str, n_windows: int, n_tasks: int, out: Path) -> None:
    """One timed run in this process; writes the labels and a JSON of seconds and peak RSS."""
    windows, tasks = generate(n_windows, n_tasks)
    if contender == "biodl":  # imported before the clock starts
        sys.path.insert(0, str(ROOT / "scripts"))
        import biodl.data.dna.overlap  # noqa: F401
    else:
        import bioframe  # noqa: F401
    start, cpu = time.perf_counter(), time.process_time()
    labels = (label_biodl if contender == "biodl" else label_bioframe)(windows, tasks)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    np.save(out / f"{contender}.npy", labels)
    status = Path("/proc/self/status").read_text()
    peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
    (out / f"{contender}.json").write_text(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak}))


def run(python: Path, contender: str, n_windows: int, n_tasks: int, out: Path) -> dict[str, float]:
    subprocess.run(
        [
            str(python),
            __file__,
            "--worker",
            contender,
            "--windows",
            str(n_windows),
            "--tasks",
            str(n_tasks),
            "--out",
            str(out),
        ],
        check=True,
        cwd=ROOT,
    )
    return json.loads((out / f"{contender}.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, nargs="+", default=[250_000, 500_000, 1_000_000])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="20,000 windows, 4 tasks, biodl only")
    parser.add_argument("--worker", choices=["biodl", "bioframe"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.windows[0], args.tasks, args.out)
        return
    sizes, n_tasks = ([20_000], 4) if args.smoke else (args.windows, args.tasks)
    contenders = {"biodl": Path(sys.executable)}
    if not args.smoke:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from peer_env import load_average, peer_python

        contenders["bioframe"] = peer_python("bioframe", BIOFRAME_PINS)
        print(f"load average before: {load_average()}")
    peaks = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as folder:
            results = {
                name: run(python, name, n, n_tasks, Path(folder)) for name, python in contenders.items()
            }
            ours = np.load(Path(folder) / "biodl.npy")
            checked = "bioframe" in results
            if checked:
                np.testing.assert_array_equal(ours, np.load(Path(folder) / "bioframe.npy"))
        peaks.append(results["biodl"]["peak_mb"])
        line = ", ".join(
            f"{name} {r['seconds']:.2f} s, CPU {r['cpu']:.2f} s (peak {r['peak_mb']:.0f} MB)"
            for name, r in results.items()
        )
        ratio = (
            f"; biodl {results['bioframe']['seconds'] / results['biodl']['seconds']:.1f}x bioframe "
            f"({results['bioframe']['cpu'] / results['biodl']['cpu']:.1f}x by CPU time)"
            if "bioframe" in results
            else ""
        )
        positives = np.nanmean(ours, axis=0).mean()
        same = "labels identical; " if checked else ""
        print(f"{n:,} windows x {n_tasks} tasks: {line}{ratio} ({same}positive share {positives:.3f})")
    if len(sizes) > 1:
        slope = np.polyfit(np.array(sizes, float), np.array(peaks) * 2**20, 1)[0]
        print(
            f"biodl peak RSS slope: {slope:.0f} bytes per window (the windows' table and the labels "
            f"alone: {3 * 8 + 8 + 4 * n_tasks} bytes per window)"
        )


if __name__ == "__main__":
    main()
