"""What the one input layer costs: biodl's table and BED readers against pandas (not a test).

What is measured: reading a generated CSV table (``--rows`` rows: an id, 20 numeric features and
a class label; about 3.7 MB per 20,000 rows) and a generated narrowPeak file (``--peaks`` peaks
on 22 chromosomes, 10 columns) into a frame, in this process, after one warm-up read of each
(the files are in the page cache). Wall and CPU time (``time.process_time``: a busy machine
disturbs it less) of each read; the contenders alternate, in an order that rotates from round
to round, and each gets the median of ``--runs``.

Contenders:
- **biodl**: ``biodl.data.tabular.read_table`` and ``biodl.data.dna.bed.read_bed``, which read
  every byte through ``biodl.core.text_input`` (gzip, encodings, line ends, binary data refused
  with its line, quoted cells numbered by their first line) and check every record.
- **pandas** (the baseline): ``pandas.read_csv`` of the same file as text cells
  (``dtype=str, keep_default_na=False``, the table reader's settings before the input layer),
  and of the BED file with ``sep="\\t", header=None``: parsing alone, without line numbers or
  checks. The ratio says what the layer and the checks cost on top of parsing.

Both contenders' frames are compared once (same cells, same coordinates), so a fast wrong
answer cannot pass. ``--smoke`` runs tiny sizes once (``tests/test_benchmarks.py``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from biodl.data.dna.bed import read_bed  # noqa: E402
from biodl.data.tabular import read_table  # noqa: E402


def write_table(path: Path, rows: int) -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(rows, 20))
    header = "id," + ",".join(f"f{k}" for k in range(20)) + ",label\n"
    body = "".join(
        f"s{r}," + ",".join(f"{v:.4f}" for v in values[r]) + f",{'ab'[r % 2]}\n" for r in range(rows)
    )
    path.write_text(header + body)


def write_peaks(path: Path, peaks: int) -> None:
    rng = np.random.default_rng(0)
    starts = rng.integers(0, 10**8, peaks)
    chroms = rng.choice([f"chr{i}" for i in range(1, 23)], peaks)
    path.write_text(
        "".join(
            f"{c}\t{s}\t{s + 200}\tpeak\t0\t+\t5.0\t-1\t-1\t100\n"
            for c, s in zip(chroms, starts, strict=True)
        )
    )


def timed(read: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    read()
    return time.perf_counter() - wall, time.process_time() - cpu


def check_same(table: Path, peaks: Path) -> None:
    ours = read_table(table, "table")
    theirs = pd.read_csv(table, dtype=str, keep_default_na=False)
    assert ours.to_numpy().tolist() == theirs.to_numpy().tolist(), "the table readers disagree"
    regions = read_bed(peaks)
    plain = pd.read_csv(peaks, sep="\t", header=None)
    assert regions["start"].tolist() == plain[1].tolist() and regions["summit"].tolist() == plain[9].tolist()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--peaks", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.peaks, args.runs = 500, 2000, 1
    with tempfile.TemporaryDirectory() as folder:
        table, peaks = Path(folder) / "table.csv", Path(folder) / "peaks.narrowPeak"
        write_table(table, args.rows)
        write_peaks(peaks, args.peaks)
        check_same(table, peaks)  # also the warm-up read of both files
        contenders: dict[str, Callable[[], object]] = {
            "table biodl": lambda: read_table(table, "table"),
            "table pandas": lambda: pd.read_csv(table, dtype=str, keep_default_na=False),
            "BED biodl": lambda: read_bed(peaks),
            "BED pandas": lambda: pd.read_csv(peaks, sep="\t", header=None),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
        names = list(contenders)
        for round_ in range(args.runs):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                times[name].append(timed(contenders[name]))
    median = {
        name: tuple(statistics.median(t[k] for t in runs) for k in (0, 1)) for name, runs in times.items()
    }
    print(f"{args.rows} table rows, {args.peaks} peaks, median of {args.runs} run(s)")
    for name, (wall, cpu) in median.items():
        print(f"{name:13s} wall {wall:7.3f} s  CPU {cpu:7.3f} s")
    for what in ("table", "BED"):
        ours, theirs = median[f"{what} biodl"], median[f"{what} pandas"]
        print(
            f"ratio biodl / pandas, {what}: {ours[0] / theirs[0]:.2f}x wall, {ours[1] / theirs[1]:.2f}x CPU"
        )


if __name__ == "__main__":
    main()
