"""Value tracks from text: bedGraph files and the signalValue of narrowPeak/broadPeak peaks.

Contract:
- ``read_values(path, kind, chrom_sizes, genome)`` reads a ``bedgraph`` (chrom, start, end,
  value) or ``peaks`` file (narrowPeak or broadPeak: column 7, ``signalValue``), plain or gzip,
  through ``biodl.core.text_input`` (track, browser, comment and blank lines skipped) and
  returns an ``IntervalTrack``. The file is parsed in blocks whose columns are converted as whole
  arrays; the first bad record (too few columns, a coordinate or value that does not parse,
  ``end <= start``) raises ``InputError`` naming the file and line. Chromosomes are checked
  against the genome once (``biodl.data.dna.overlap.check_chromosomes``: the first name the
  genome lacks, with a ``chr`` prefix hint; an end past a chromosome's end). Records need not
  be sorted. A value that reads as NaN (``nan``) marks its bases as uncovered and is
  counted in the log.
- bedGraph intervals must not overlap (the format's rule): the first overlap raises
  ``InputError`` naming both lines. Peaks may overlap (and narrowPeak files repeat a peak once
  per summit): each base takes the largest signalValue of the peaks that cover it, so a window
  centred on a peak gets that peak's strength from the ``max`` statistic.
- ``IntervalTrack.values(chrom, start, end, numpy=True)`` gives the per-base values over
  ``[start, end)``, NaN where no interval covers a base: the call pyBigWig's file objects
  answer, so ``biodl.data.dna.coverage.window_statistic`` computes every statistic and uncovered
  policy the same way for both (``as_track`` wraps it as a ``coverage.Track``). Each call is
  vectorised over the bases (one binary search per base in the span asked for); the caller
  bounds the span.
"""

from __future__ import annotations

import itertools
import logging
import sys
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from biodl.core.errors import InputError, require_file
from biodl.core.text_input import open_text
from biodl.data.dna.coverage import Track
from biodl.data.dna.overlap import check_chromosomes

log = logging.getLogger(__name__)

BLOCK = 1 << 22  # characters parsed at a time (then to the end of the line)
SKIPPED_PREFIXES = ("#", "track", "browser")
ValueKind = Literal["bedgraph", "peaks"]
VALUE_COLUMN: dict[str, int] = {"bedgraph": 3, "peaks": 6}  # 0-based column of the value
WHAT = {"bedgraph": "bedGraph file", "peaks": "narrowPeak/broadPeak file"}


@dataclass(frozen=True)
class _ChromValues:
    starts: np.ndarray  # disjoint intervals, sorted
    ends: np.ndarray
    values: np.ndarray  # float64


@dataclass(frozen=True)
class IntervalTrack:
    """Disjoint valued intervals per chromosome (see the module contract)."""

    path: Path
    by_chrom: dict[str, _ChromValues]

    def values(self, chrom: str, start: int, end: int, numpy: bool = True) -> np.ndarray:
        """Per-base values over ``[start, end)``; NaN where uncovered (pyBigWig's ``values``)."""
        result = np.full(end - start, np.nan)
        intervals = self.by_chrom.get(chrom)
        if intervals is None or end <= start:
            return result
        positions = np.arange(start, end)
        k = np.searchsorted(intervals.starts, positions, side="right") - 1
        inside = (k >= 0) & (positions < intervals.ends[np.maximum(k, 0)])
        result[inside] = intervals.values[k[inside]]
        return result

    def as_track(self, chrom_sizes: dict[str, int]) -> Track:
        """This track where ``biodl.data.dna.coverage`` takes a bigWig: every genome chromosome is
        known (one without intervals is uncovered)."""
        return Track(self.path, self, dict(chrom_sizes))


def read_values(
    path: str | PathLike[str], kind: ValueKind, chrom_sizes: dict[str, int], genome: str
) -> IntervalTrack:
    """Read and check a bedGraph or peak file (see the module contract)."""
    path = require_file(path, WHAT[kind], "one interval per line: chrom, start, end, value (tab-separated)")
    frames, read = [], 0
    with open_text(path, WHAT[kind]) as handle:
        while text := handle.read(BLOCK):
            lines = (text + handle.readline()).removesuffix("\n").split("\n")
            frames.append(_block(path, lines, read, VALUE_COLUMN[kind]))
            read += len(lines)
    frame = pd.concat(frames, ignore_index=True)
    if frame.empty:
        raise InputError(path, None, f"no intervals found; expected {WHAT[kind]} records")
    check_chromosomes(frame, path, chrom_sizes, genome)
    unknown = frame["value"].isna().to_numpy()
    if unknown.any():
        log.info(
            "%s: %d of %d intervals have no value (NaN): their bases are uncovered",
            path,
            unknown.sum(),
            len(frame),
        )
        frame = frame.loc[~unknown]
    by_chrom = {}
    for chrom, group in frame.groupby("chrom", sort=False):
        group = group.sort_values("start", kind="stable")
        starts, ends = group["start"].to_numpy(np.int64), group["end"].to_numpy(np.int64)
        values = group["value"].to_numpy(np.float64)
        if kind == "bedgraph":
            _refuse_overlaps(path, starts, ends, group["line"].to_numpy())
        else:
            starts, ends, values = strongest_per_base(starts, ends, values)
        by_chrom[str(chrom)] = _ChromValues(starts, ends, values)
    log.info("%s: %d intervals on %d chromosomes", path, len(frame), len(by_chrom))
    return IntervalTrack(path, by_chrom)


def strongest_per_base(
    starts: np.ndarray, ends: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overlapping intervals (sorted by start) as disjoint pieces, each with the largest value of
    the intervals covering it: cut at every boundary, then one ``maximum.at`` over the pieces."""
    if len(starts) < 2 or (starts[1:] >= np.maximum.accumulate(ends)[:-1]).all():
        return starts, ends, values
    bounds = np.unique(np.concatenate([starts, ends]))
    first = np.searchsorted(bounds, starts)
    count = np.searchsorted(bounds, ends) - first  # pieces each interval covers
    piece = np.repeat(first - np.cumsum(count) + count, count) + np.arange(count.sum())
    best = np.full(len(bounds) - 1, -np.inf)
    np.maximum.at(best, piece, np.repeat(values, count))
    covered = np.isfinite(best)
    return bounds[:-1][covered], bounds[1:][covered], best[covered]


def _refuse_overlaps(path: Path, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray) -> None:
    overlapping = np.flatnonzero(starts[1:] < np.maximum.accumulate(ends)[:-1])
    if len(overlapping):
        k = int(overlapping[0]) + 1
        earlier = int(np.argmax(ends[:k] > starts[k]))
        raise InputError(
            path,
            f"line {lines[k]}",
            f"interval {starts[k]}-{ends[k]} overlaps {starts[earlier]}-{ends[earlier]} (line "
            f"{lines[earlier]}); expected a bedGraph of non-overlapping intervals",
        )


def _block(path: Path, lines: list[str], first: int, value_column: int) -> pd.DataFrame:
    """Records of lines ``first + 1``... as chrom, start, end, value, line."""
    is_record = np.fromiter(
        (bool(line.strip()) and not line.startswith(SKIPPED_PREFIXES) for line in lines), bool, len(lines)
    )
    records = list(itertools.compress(lines, is_record))
    numbers = np.flatnonzero(is_record) + first + 1
    try:
        frame = _columns(records, value_column)
    except (ValueError, OverflowError):
        frame = None
    bad = (
        np.arange(len(records))
        if frame is None
        else np.flatnonzero((frame["start"] < 0) | (frame["end"] <= frame["start"]))
    )
    for row in bad:
        problem = _record_problem(records[row].split("\t"), value_column)
        if problem:
            raise InputError(path, f"line {numbers[row]}", problem)
    assert frame is not None, "a block that does not parse has a bad record"
    return frame.assign(line=numbers)


def _columns(records: list[str], value_column: int) -> pd.DataFrame:
    """Columns parsed as whole arrays; ValueError when a record is short or a field does not parse."""
    n = len(records)
    widths = np.fromiter(map(str.count, records, itertools.repeat("\t")), np.int64, n) + 1
    if n and widths.min() <= value_column:
        raise ValueError("a record is too short")
    if n and widths.min() == widths.max():
        fields = "\t".join(records).split("\t")
        columns = [fields[k :: int(widths[0])] for k in (0, 1, 2, value_column)]
    else:
        split = [line.split("\t") for line in records]
        columns = [[fields[k] for fields in split] for k in (0, 1, 2, value_column)]
    return pd.DataFrame(
        {
            "chrom": np.array(list(map(sys.intern, columns[0])), dtype=object),
            "start": np.array(columns[1], dtype=object).astype(np.int64),
            "end": np.array(columns[2], dtype=object).astype(np.int64),
            "value": np.array(columns[3], dtype=object).astype(np.float64),
        }
    )


def _record_problem(fields: list[str], value_column: int) -> str | None:
    """What is wrong with one record, in the words of the error; None if nothing."""
    if len(fields) <= value_column:
        return (
            f"expected at least {value_column + 1} tab-separated columns (the value in column "
            f"{value_column + 1}), found {len(fields)}"
        )
    try:
        start, end = int(fields[1]), int(fields[2])
    except ValueError:
        return f"start and end must be integers, found {fields[1]!r} and {fields[2]!r}"
    try:
        float(fields[value_column])
    except ValueError:
        return f"the value (column {value_column + 1}) must be a number, found {fields[value_column]!r}"
    if start < 0:
        return f"start must be >= 0, found {start}"
    if end <= start:
        return f"end must be greater than start, found start={start} end={end}"
    return None
