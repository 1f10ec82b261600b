"""Per-window means of a bigWig: biodl against pyBigWig's per-window ``stats`` (not a test).

What is measured: the mean of a bigWig over N windows (1 kb, at random on a 3-chromosome, 60 Mb
synthetic track of 100 bp steps with random values, every fourth step left without data), bases
without data left out (``uncovered: skip``, which is what ``stats(type="mean", exact=True)``
computes). The track is written once per run (excluded from the time), windows are generated
from a fixed seed in each worker, so both contenders read the same data. Time runs from the open
bigWig and the windows in memory to the N float32 means; imports and generation are excluded.

Contenders, each in a fresh process (its peak RSS, ``VmHWM``, is its own), both with pyBigWig
0.3.29 from the project's environment:
- **biodl**: ``biodl.data.dna.coverage.window_statistic`` (the track's values read per
  chromosome in runs of at most 4 Mb, then every window from cumulative sums).
- **pyBigWig stats** (the baseline): one ``stats(chrom, start, end, type="mean", exact=True)``
  call per window, the way a per-window loop over a track is usually written.
The two outputs must agree (rtol 1e-5, NaN where NaN), or the script stops. Printed: seconds
(wall and CPU) per contender and the ratio at each N, and the peak RSS of each run with
biodl's slope (bytes per window): what grows with N is the windows' arrays and the means
themselves; the values read are bounded by the run (4 Mb), not by N.

Usage (from the repository root):
    .venv/bin/python benchmarks/coverage_targets.py                  # 250k, 500k, 1M windows
    .venv/bin/python benchmarks/coverage_targets.py --windows 100000
    .venv/bin/python benchmarks/coverage_targets.py --smoke          # 5,000 windows, small track
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
CHROMS = {"chr1": 25_000_000, "chr2": 20_000_000, "chr3": 15_000_000}
SMOKE_CHROMS = {"chr1": 300_000, "chr2": 200_000}
STEP = 100
WINDOW = 1000
SEED = 11


def write_track(path: Path, chroms: dict[str, int]) -> None:
    """The synthetic bigWig: 100 bp steps of gamma-distributed values, every fourth step empty."""
    import pyBigWig

    rng = np.random.default_rng(SEED)
    handle = pyBigWig.open(str(path), "w")
    handle.addHeader(list(chroms.items()))
    for chrom, size in chroms.items():
        starts = np.arange(0, size, STEP)
        starts = starts[np.arange(len(starts)) % 4 != 3]
        values = rng.gamma(2.0, 2.0, len(starts))
        handle.addEntries(
            [chrom] * len(starts), starts.tolist(), ends=(starts + STEP).tolist(), values=values.tolist()
        )
    handle.close()


def windows(n: int, chroms: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED + 1)
    names, sizes = list(chroms), np.array(list(chroms.values()))
    chrom = rng.choice(len(names), n, p=sizes / sizes.sum())
    starts = (rng.random(n) * (sizes[chrom] - WINDOW)).astype(np.int64)
    return np.array(names, dtype=object)[chrom], starts, starts + WINDOW


def worker(contender: str, track: Path, n: int, smoke: bool, out: Path) -> None:
    """One timed run in this process; writes the means and a JSON of seconds and peak RSS."""
    import pyBigWig

    chroms = SMOKE_CHROMS if smoke else CHROMS
    names, starts, ends = windows(n, chroms)
    sys.path.insert(0, str(ROOT / "scripts"))
    from biodl.data.dna.coverage import open_track, window_statistic

    opened = open_track(track, chroms, "synthetic")
    handle = pyBigWig.open(str(track))
    clock, cpu = time.perf_counter(), time.process_time()
    if contender == "biodl":
        means = window_statistic(opened, names, starts, ends, "mean", "skip")
    else:
        means = np.array(
            [
                handle.stats(c, int(s), int(e), type="mean", exact=True)[0]
                for c, s, e in zip(names, starts, ends, strict=True)
            ],
            dtype=float,
        )
    seconds, cpu = time.perf_counter() - clock, time.process_time() - cpu
    np.save(out / f"{contender}.npy", np.asarray(means, float))
    peak = int(Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]) / 1024
    (out / f"{contender}.json").write_text(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak}))


def run(contender: str, track: Path, n: int, smoke: bool, out: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--worker", contender, "--track", str(track), "--windows", str(n)]
    command += ["--out", str(out)] + (["--smoke"] if smoke else [])
    subprocess.run(command, check=True, cwd=ROOT)
    return json.loads((out / f"{contender}.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, nargs="+", default=[250_000, 500_000, 1_000_000])
    parser.add_argument("--smoke", action="store_true", help="5,000 windows on a 0.5 Mb track")
    parser.add_argument("--worker", choices=["biodl", "stats"], help=argparse.SUPPRESS)
    parser.add_argument("--track", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.track, args.windows[0], args.smoke, args.out)
        return
    sizes = [5_000] if args.smoke else args.windows
    peaks = []
    with tempfile.TemporaryDirectory() as folder:
        track = Path(folder) / "track.bw"
        write_track(track, SMOKE_CHROMS if args.smoke else CHROMS)
        for n in sizes:
            results = {name: run(name, track, n, args.smoke, Path(folder)) for name in ("biodl", "stats")}
            ours, theirs = np.load(Path(folder) / "biodl.npy"), np.load(Path(folder) / "stats.npy")
            np.testing.assert_allclose(ours, theirs, rtol=1e-5)
            peaks.append(results["biodl"]["peak_mb"])
            line = ", ".join(
                f"{name} {r['seconds']:.2f} s, CPU {r['cpu']:.2f} s (peak {r['peak_mb']:.0f} MB)"
                for name, r in results.items()
            )
            ratio = results["stats"]["seconds"] / results["biodl"]["seconds"]
            cpu_ratio = results["stats"]["cpu"] / results["biodl"]["cpu"]
            print(
                f"{n:,} windows: {line}; biodl {ratio:.1f}x pyBigWig stats ({cpu_ratio:.1f}x by CPU time; "
                f"means agree, {np.isnan(ours).sum()} windows without data)"
            )
    if len(sizes) > 1:
        slope = np.polyfit(np.array(sizes, float), np.array(peaks) * 2**20, 1)[0]
        print(f"biodl peak RSS slope: {slope:.0f} bytes per window (windows' arrays and means: ~36 bytes)")


if __name__ == "__main__":
    main()
