"""Wall time of ``make demo`` from a fresh clone: install, workflow and report, cold and warm.

Usage: python benchmarks/demo_end_to_end.py [--cores 2] [--runs cold,warm] [--repeat 3] [--smoke]

"cold": a fresh ``git clone`` of this repository's HEAD (uncommitted changes are not measured),
then ``make install`` (a new ``.venv``, the pinned packages, numba's compile of the motif
kernels) and ``make demo`` in it, as a new user runs them. The machine's package download cache
is as it is (downloads depend on the network, not on the workflow). "warm": the same clone again
with its results, logs and report removed, so ``make demo`` finds the install done and runs the
workflow and the report only (a second demo run).

Printed per run: the jobs, the wall time of the install and of ``make demo`` (workflow and
report), their total, the mean 1-minute load average while it ran (well over ``--cores`` means
something else competed for the CPUs) and the job time per step from the rules' ``benchmark:``
tables; with ``--repeat`` above 1, the median total of each kind. ``--smoke`` only dry-runs the
demo in a fresh clone with this interpreter's Snakemake (CI keeps the script working without
spending the time).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


class LoadSampler:
    """The 1-minute load average, sampled every few seconds on a background thread."""

    def __init__(self, every: float = 5.0) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.samples.append(float(Path("/proc/loadavg").read_text().split()[0]))

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else float("nan")


def fresh_clone(parent: Path, name: str) -> Path:
    checkout = parent / name
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(checkout)], check=True)
    return checkout


def timed(command: list[str], cwd: Path, log: Path) -> float:
    start = time.perf_counter()
    with log.open("w") as out:
        result = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"{' '.join(command)} failed in {cwd} (exit {result.returncode}); see {log}")
    return seconds


def step_seconds(checkout: Path) -> dict[str, list[float]]:
    """Seconds of every job per rule folder, from the ``benchmark:`` tables Snakemake wrote."""
    per_step: dict[str, list[float]] = defaultdict(list)
    for table in sorted((checkout / "benchmarks").glob("*/**/*.tsv")):
        with table.open() as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        per_step[table.relative_to(checkout / "benchmarks").parts[0]].append(float(row["s"]))
    return per_step


def forget_results(checkout: Path) -> None:
    """Remove what ``make demo`` wrote (untracked files only), keeping ``.venv`` and ``.cache``."""
    written = ["results", "logs", "benchmarks", ".snakemake", "report.html"]
    subprocess.run(["git", "clean", "-fdxq", "--", *written], cwd=checkout, check=True)


def run_demo(checkout: Path, cores: int, kind: str, label: str) -> float:
    """``make install`` then ``make demo`` in ``checkout``, their output in ``<step>-<kind>.log``
    there; prints the times, returns the total."""
    with LoadSampler() as load:
        install = timed(["make", "install"], checkout, checkout / f"install-{kind}.log")
        demo = timed(["make", "demo", f"CORES={cores}"], checkout, checkout / f"demo-{kind}.log")
    jobs_line = subprocess.run(
        [str(checkout / ".venv" / "bin" / "snakemake"), "-n", "--forceall", "--quiet", "rules"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total_jobs = next((line.split()[1] for line in jobs_line.splitlines() if line.startswith("total")), "?")
    total = install + demo
    print(
        f"{label}: {total_jobs} jobs on {cores} cores: install {install:.0f} s, "
        f"make demo {demo / 60:.2f} min, total {total / 60:.2f} min; mean load average {load.mean:.1f}"
    )
    per_step = step_seconds(checkout)
    ranked = sorted(per_step.items(), key=lambda item: -sum(item[1]))
    for step, seconds in ranked:
        print(
            f"  {step:<18} {len(seconds):3d} jobs  {sum(seconds):7.0f} s in all  "
            f"(slowest {max(seconds):.0f} s)"
        )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--runs", default="cold,warm", help="comma-separated: cold, warm (warm follows a cold run)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind; the median is printed")
    parser.add_argument(
        "--keep", type=Path, help="keep the clones under this folder instead of a temporary one"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="dry-run the demo in a fresh clone, nothing timed"
    )
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    print(f"demo end to end at commit {commit}, {os.cpu_count()} CPUs visible")
    with tempfile.TemporaryDirectory(prefix="biodl-e2e-") as scratch:
        parent = args.keep or Path(scratch)
        parent.mkdir(parents=True, exist_ok=True)
        if args.smoke:
            checkout = fresh_clone(parent, "smoke")
            subprocess.run([str(SNAKEMAKE), "-n", "--quiet", "rules"], cwd=checkout, check=True)
            print("smoke: the demo dry-runs in a fresh clone")
            return
        runs = args.runs.split(",")
        totals: dict[str, list[float]] = defaultdict(list)
        for repeat in range(1, args.repeat + 1):
            checkout = fresh_clone(parent, f"clone{repeat}")
            if "cold" in runs:
                label = f"cold {repeat} (new clone, new .venv)"
                totals["cold"].append(run_demo(checkout, args.cores, "cold", label))
            if "warm" in runs:
                if "cold" not in runs:
                    subprocess.run(["make", "install"], cwd=checkout, check=True, capture_output=True)
                forget_results(checkout)
                label = f"warm {repeat} (installed, results removed)"
                totals["warm"].append(run_demo(checkout, args.cores, "warm", label))
        for kind, values in totals.items():
            print(
                f"{kind}: median {statistics.median(values) / 60:.2f} min of {len(values)} "
                f"({', '.join(f'{value / 60:.2f}' for value in values)})"
            )


if __name__ == "__main__":
    main()
