"""Coverage targets: one statistic of a bigWig track per window (regression targets).

Contract:
- ``open_track(path, chrom_sizes, genome)`` opens a bigWig with pyBigWig and checks it against
  the genome once: a file that is not a bigWig, a genome chromosome the track lacks (the first
  one named, with a hint when a ``chr`` prefix is the only difference) or a chromosome whose
  length differs (a track of another assembly) raises ``InputError`` naming the file. A genome
  chromosome the track lacks is refused only when windows use it: ``Track.require(chroms)``.
- ``window_statistic(track, chroms, starts, ends, statistic, uncovered)`` gives float32 values,
  one per window: ``mean``, ``max``, ``sum`` or ``log1p_sum`` (``log1p`` of the sum) of the
  track's values over the window's bases. Bases without data (NaN in pyBigWig) are counted in
  the log and follow ``uncovered``: ``zero`` (read as 0, the convention of sparse coverage
  tracks), ``skip`` (the statistic of the covered bases, as pyBigWig's ``stats(exact=True)``;
  NaN when none is covered) or ``missing`` (a window with any uncovered base gets NaN, a
  missing target masked in the loss). Windows are read chromosome by chromosome in runs whose
  span is at most ``SPAN`` bases, so memory is bounded by the run, not by the chromosome or
  the number of windows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from biodl.core.errors import InputError, require_file
from biodl.data.dna.fasta import other_spelling

log = logging.getLogger(__name__)

SPAN = 1 << 22  # bases read from the track at a time
Statistic = Literal["mean", "max", "sum", "log1p_sum"]
Uncovered = Literal["zero", "skip", "missing"]


@dataclass(frozen=True)
class Track:
    """An open bigWig, checked against the genome."""

    path: Path
    handle: Any  # pyBigWig's file object
    sizes: dict[str, int]

    def require(self, chroms: np.ndarray, genome_sizes: dict[str, int]) -> None:
        """Refuse windows on a chromosome the track lacks, naming the first one."""
        for chrom in pd.unique(np.asarray(chroms, dtype=object)):
            if chrom not in self.sizes:
                raise InputError(
                    self.path,
                    None,
                    f"chromosome {chrom!r} of the genome is not in the bigWig "
                    f"({len(self.sizes)} chromosomes: {', '.join(list(self.sizes)[:5])}"
                    f"{', ...' if len(self.sizes) > 5 else ''}){_prefix_hint(str(chrom), self.sizes)}",
                )
            assert genome_sizes[chrom] == self.sizes[chrom], "checked by open_track"


def open_track(path: str | PathLike[str], chrom_sizes: dict[str, int], genome: str) -> Track:
    """Open and check a bigWig (see the module contract)."""
    import pyBigWig

    path = require_file(path, "bigWig file", "a bigWig coverage track")
    try:
        handle = pyBigWig.open(str(path))
    except RuntimeError:
        handle = None
    if handle is None or not handle.isBigWig():
        raise InputError(path, None, "not a bigWig file (bedGraph? convert it with bedGraphToBigWig)")
    sizes = dict(handle.chroms())
    for chrom, size in sizes.items():
        if chrom in chrom_sizes and chrom_sizes[chrom] != size:
            raise InputError(
                path,
                f"chromosome {chrom!r}",
                f"is {size:,} bases long in the bigWig but {chrom_sizes[chrom]:,} in the genome {genome}: "
                "a track of another assembly? expected the genome's lengths",
            )
    return Track(path, handle, sizes)


def window_statistic(
    track: Track,
    chroms: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    statistic: Statistic,
    uncovered: Uncovered,
) -> np.ndarray:
    """One float32 value per window (see the module contract)."""
    chroms = np.asarray(chroms, dtype=object)
    starts, ends = np.asarray(starts, np.int64), np.asarray(ends, np.int64)
    result = np.empty(len(chroms), np.float32)
    partly_uncovered = 0
    for chrom in pd.unique(chroms):
        rows = np.flatnonzero(chroms == chrom)
        rows = rows[np.argsort(starts[rows], kind="stable")]
        for run in _runs(starts[rows], ends[rows]):
            part = rows[run]
            values, holes = _read(track, str(chrom), starts[part], ends[part])
            result[part], gaps = _statistic(values, holes, starts[part], ends[part], statistic, uncovered)
            partly_uncovered += gaps
    if partly_uncovered:
        log.info(
            "%s: %d of %d windows have bases without data (uncovered: %s)",
            track.path,
            partly_uncovered,
            len(chroms),
            uncovered,
        )
    return result


def _runs(starts: np.ndarray, ends: np.ndarray) -> list[slice]:
    """Consecutive windows (sorted by start) whose span stays within ``SPAN`` bases (one window
    longer than that is a run of its own)."""
    runs, first = [], 0
    reach = np.maximum.accumulate(ends)
    for k in range(1, len(starts) + 1):
        if k == len(starts) or reach[k] - starts[first] > SPAN:
            runs.append(slice(first, k))
            first = k
    return runs


def _read(track: Track, chrom: str, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The track's values over the run's span (uncovered bases as 0) and where they are uncovered."""
    lo, hi = int(starts.min()), int(ends.max())
    values = np.asarray(track.handle.values(chrom, lo, hi, numpy=True), dtype=np.float64)
    holes = np.isnan(values)
    values[holes] = 0.0
    return values, holes


def _statistic(
    values: np.ndarray,
    holes: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    statistic: Statistic,
    uncovered: Uncovered,
) -> tuple[np.ndarray, int]:
    lo = int(starts.min())
    first, last = starts - lo, ends - lo
    summed = np.concatenate([[0.0], np.cumsum(values)])
    gaps = np.concatenate([[0], np.cumsum(holes, dtype=np.int64)])
    total = summed[last] - summed[first]
    missing = gaps[last] - gaps[first]
    covered = (ends - starts) - missing
    if statistic == "max":
        value = _window_max(np.where(holes, -np.inf, values) if uncovered == "skip" else values, first, last)
    elif statistic == "mean":
        value = total / np.maximum(covered if uncovered == "skip" else ends - starts, 1)
    elif statistic == "sum":
        value = total
    else:
        value = np.log1p(total)
    value = value.astype(np.float32)
    if uncovered == "skip":
        value[covered == 0] = np.nan
    if uncovered == "missing":
        value[missing > 0] = np.nan
    return value, int((missing > 0).sum())


def _window_max(values: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Maximum of ``values[first:last]`` per window, windows of one length at a time."""
    result = np.empty(len(first))
    lengths = last - first
    for length in np.unique(lengths):
        same = lengths == length
        result[same] = np.lib.stride_tricks.sliding_window_view(values, int(length))[first[same]].max(axis=1)
    return result


def _prefix_hint(name: str, sizes: dict[str, int]) -> str:
    other = other_spelling(name, sizes)
    if other is None:
        return ""
    return (
        f"; the bigWig calls it {other!r}: the track and the genome name chromosomes "
        "differently (a 'chr' prefix)"
    )
