"""Wall time of the whole demo (``snakemake --cores N`` then ``--report``), cold and warm.

Usage: python benchmarks/demo_end_to_end.py [--cores 2] [--runs cold,warm] [--smoke]

Each run works in a fresh ``git clone`` of this repository's HEAD (uncommitted changes are not
measured), so no result, index or ``__pycache__`` is reused. "cold": the clone has no numba
cache, so memelite's Tomtom compiles in the interpretation jobs. "warm": a second clone gets a
copy of the cold run's ``.cache/numba`` and nothing else. The rest of the machine (OS file
cache, matplotlib's font cache) is as it is for both.

Printed per run: jobs, wall time of the workflow and of the report, the mean 1-minute load
average while it ran (a value well over ``--cores`` means something else competed for the
CPUs), and the slowest steps from the rules' ``benchmark:`` tables. This is one run each, not a
median: a cold demo takes tens of minutes on two cores. ``--smoke`` only dry-runs the demo (CI
keeps the script working without spending the time).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
# As make demo and the README write the report (the stylesheet keeps tall pages reachable).
REPORT_ARGS = ["--report", "report.html", "--report-stylesheet", "workflow/report/report.css"]


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


def run_demo(checkout: Path, cores: int, label: str) -> None:
    jobs_line = subprocess.run(
        [str(SNAKEMAKE), "-n", "--quiet", "rules"], cwd=checkout, capture_output=True, text=True, check=True
    ).stdout
    total_jobs = next((line.split()[1] for line in jobs_line.splitlines() if line.startswith("total")), "?")
    with LoadSampler() as load:
        workflow = timed([str(SNAKEMAKE), "--cores", str(cores)], checkout, checkout / "demo.log")
        report = timed([str(SNAKEMAKE), *REPORT_ARGS], checkout, checkout / "report.log")
    print(
        f"{label}: {total_jobs} jobs on {cores} cores: "
        f"workflow {workflow / 60:.1f} min, report {report:.0f} s, "
        f"total {(workflow + report) / 60:.1f} min; mean load average {load.mean:.1f}"
    )
    per_step = step_seconds(checkout)
    ranked = sorted(per_step.items(), key=lambda item: -sum(item[1]))
    for step, seconds in ranked:
        print(
            f"  {step:<18} {len(seconds):3d} jobs  {sum(seconds):7.0f} s in all  "
            f"(slowest {max(seconds):.0f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--runs", default="cold,warm", help="comma-separated: cold, warm (warm needs cold first)"
    )
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
        cold = fresh_clone(parent, "cold")
        if "cold" in runs:
            run_demo(cold, args.cores, "cold (no numba cache)")
        if "warm" in runs:
            if "cold" not in runs:
                sys.exit("warm reuses the cold run's numba cache: run --runs cold,warm")
            warm = fresh_clone(parent, "warm")
            shutil.copytree(cold / ".cache" / "numba", warm / ".cache" / "numba")
            run_demo(warm, args.cores, "warm (numba cache from the cold run)")


if __name__ == "__main__":
    main()
