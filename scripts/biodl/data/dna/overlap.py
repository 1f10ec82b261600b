"""Multi-task labels from interval overlap: one label per window and task, computed in bulk.

Contract:
- ``OverlapRule(measure, min_fraction, ambiguous)`` says when a window is a positive of a task:
  ``measure: window`` — the fraction of the window's bases covered by the task's intervals
  (their union: nested or overlapping peaks count each base once) is at least ``min_fraction``;
  ``peak`` — at least ``min_fraction`` of one of the task's intervals lies inside the window;
  ``either`` — one of the two holds. A window that shares at least one base with the task's
  intervals but is not positive is *ambiguous*: ``ambiguous: missing`` labels it NaN (masked
  by the multilabel loss and metrics, never counted as a negative), ``negative`` labels it 0.
  Every other window is 0.
- ``TaskIntervals.build(frame)`` indexes one task's intervals (a ``read_bed`` frame) per
  chromosome: merged intervals with cumulative lengths (window coverage by two binary searches
  per window) and, per window length, the merged ranges of window starts that hold enough of
  one interval (one binary search per window): no loop over windows or pairs.
- ``label_windows(chroms, starts, ends, tasks, rule)`` returns float32 (n windows, n tasks)
  labels. Windows are taken chromosome by chromosome and in blocks of ``BLOCK`` windows, so the
  temporary arrays stay bounded by the block, whatever the number of windows.
- ``read_tasks(tasks, chrom_sizes, genome)`` reads each task's interval file through
  ``biodl.data.dna.bed.read_bed``; task names must be unique; a chromosome the genome lacks
  raises one ``InputError`` naming the file, the line and the first missing name, with a hint
  when adding or removing a ``chr`` prefix would match the genome's names.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from biodl.core.errors import InputError
from biodl.data.dna.bed import read_bed
from biodl.data.dna.fasta import other_spelling

log = logging.getLogger(__name__)

BLOCK = 1 << 16  # windows labelled at a time: bounds the temporary arrays

Measure = Literal["window", "peak", "either"]
Ambiguous = Literal["missing", "negative"]


@dataclass(frozen=True)
class OverlapRule:
    """When a window is a positive, negative or missing label of a task (see the module contract)."""

    measure: Measure
    min_fraction: float
    ambiguous: Ambiguous

    def __post_init__(self) -> None:
        if not 0 < self.min_fraction <= 1:
            raise ValueError(f"min_fraction must lie in (0, 1], found {self.min_fraction}")


@dataclass(frozen=True)
class _ChromIntervals:
    """One chromosome's intervals of one task, indexed for overlap queries."""

    starts: np.ndarray  # the intervals, sorted by start
    ends: np.ndarray
    merged_starts: np.ndarray  # their union: disjoint, sorted
    merged_ends: np.ndarray
    merged_before: np.ndarray  # bases covered by merged intervals 0..k-1 (length k + 1)
    peak_ranges: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @classmethod
    def build(cls, starts: np.ndarray, ends: np.ndarray) -> _ChromIntervals:
        order = np.argsort(starts, kind="stable")
        starts, ends = starts[order], ends[order]
        merged_starts, merged_ends = merge(starts, ends)
        before = np.concatenate([[0], np.cumsum(merged_ends - merged_starts)])
        return cls(starts, ends, merged_starts, merged_ends, before)

    def covered_before(self, points: np.ndarray) -> np.ndarray:
        """Bases covered by the intervals left of each point."""
        k = np.searchsorted(self.merged_starts, points, side="left")  # intervals starting before the point
        last_end = np.where(k > 0, self.merged_ends[np.maximum(k - 1, 0)], points)
        return self.merged_before[k] - np.maximum(last_end - points, 0)

    def coverage(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Bases of each window ``[start, end)`` covered by the intervals."""
        if not len(self.merged_starts):
            return np.zeros(len(starts), np.int64)
        return self.covered_before(ends) - self.covered_before(starts)

    def holds_peak(self, starts: np.ndarray, ends: np.ndarray, min_fraction: float) -> np.ndarray:
        """Whether at least ``min_fraction`` of one interval lies inside each window.

        For windows of one length L, an interval [a, b) needing t bases inside is met exactly
        by the window starts in [a + t - L, b - t] (when t <= L): the union of these ranges,
        built once per length, answers every window with one binary search.
        """
        result = np.zeros(len(starts), bool)
        lengths = ends - starts
        for length in np.unique(lengths):
            same = lengths == length
            low, high = self._peak_ranges(int(length), min_fraction)
            if not len(low):  # no interval can put enough of itself into a window this short
                continue
            k = np.searchsorted(low, starts[same], side="right") - 1
            result[same] = (k >= 0) & (starts[same] < high[np.maximum(k, 0)])
        return result

    def _peak_ranges(self, length: int, min_fraction: float) -> tuple[np.ndarray, np.ndarray]:
        """The merged ranges of window starts (half-open) meeting ``holds_peak``, cached."""
        key = (length, min_fraction)
        if key not in self.peak_ranges:
            sizes = self.ends - self.starts
            # The fewest bases t with t / size >= min_fraction, as the reference computes it.
            need = np.ceil(min_fraction * sizes).astype(np.int64)
            need = np.where((need - 1) / sizes >= min_fraction, need - 1, need)
            need = np.maximum(np.where(need / sizes < min_fraction, need + 1, need), 1)
            fits = need <= length
            low = self.starts[fits] + need[fits] - length
            high = self.ends[fits] - need[fits] + 1
            order = np.argsort(low, kind="stable")
            self.peak_ranges[key] = merge(low[order], high[order])
        return self.peak_ranges[key]


@dataclass(frozen=True)
class TaskIntervals:
    """One task's intervals, indexed per chromosome."""

    name: str
    by_chrom: dict[str, _ChromIntervals]

    @classmethod
    def build(cls, name: str, frame: pd.DataFrame) -> TaskIntervals:
        """Index a frame with ``chrom``, ``start`` and ``end`` columns (e.g. from ``read_bed``)."""
        by_chrom = {
            str(chrom): _ChromIntervals.build(
                group["start"].to_numpy(np.int64), group["end"].to_numpy(np.int64)
            )
            for chrom, group in frame.groupby("chrom", sort=False)
        }
        return cls(name, by_chrom)


def merge(starts: np.ndarray, ends: np.ndarray, distance: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Merge intervals sorted by start that overlap or lie at most ``distance`` bases apart."""
    if not len(starts):
        return starts.copy(), ends.copy()
    reach = np.maximum.accumulate(ends)
    new = np.concatenate([[True], starts[1:] > reach[:-1] + distance])
    first = np.flatnonzero(new)
    last = np.concatenate([first[1:], [len(starts)]]) - 1
    return starts[first], reach[last]


def label_windows(
    chroms: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    tasks: Sequence[TaskIntervals],
    rule: OverlapRule,
) -> np.ndarray:
    """float32 labels (windows x tasks): 1 positive, 0 negative, NaN missing (see the contract)."""
    chroms = np.asarray(chroms, dtype=object)
    starts, ends = np.asarray(starts, np.int64), np.asarray(ends, np.int64)
    labels = np.zeros((len(chroms), len(tasks)), np.float32)
    codes, names = pd.factorize(chroms)
    order = np.argsort(codes, kind="stable")  # rows grouped by chromosome, in their order
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    for c, chrom in enumerate(names):
        rows = order[bounds[c] : bounds[c + 1]]
        on_chrom = [task.by_chrom.get(str(chrom)) for task in tasks]
        for block in range(0, len(rows), BLOCK):
            part = rows[block : block + BLOCK]
            block_starts, block_ends = starts[part], ends[part]
            block_labels = np.zeros((len(part), len(tasks)), np.float32)
            for t, intervals in enumerate(on_chrom):
                if intervals is not None:
                    block_labels[:, t] = _label(intervals, block_starts, block_ends, rule)
            labels[part] = block_labels
    return labels


def _label(intervals: _ChromIntervals, starts: np.ndarray, ends: np.ndarray, rule: OverlapRule) -> np.ndarray:
    covered = intervals.coverage(starts, ends)
    positive = np.zeros(len(starts), bool)
    if rule.measure in ("window", "either"):
        positive |= covered >= rule.min_fraction * (ends - starts)
    if rule.measure in ("peak", "either"):
        undecided = (covered > 0) & ~positive  # only these windows can hold part of an interval
        positive[undecided] = intervals.holds_peak(starts[undecided], ends[undecided], rule.min_fraction)
    label = positive.astype(np.float32)
    if rule.ambiguous == "missing":
        label[(covered > 0) & ~positive] = np.nan
    return label


def read_tasks(
    tasks: Sequence[tuple[str, str | PathLike[str]]], chrom_sizes: Mapping[str, int], genome: str
) -> list[TaskIntervals]:
    """Read and index every task's interval file (see the module contract)."""
    names = [name for name, _ in tasks]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        paths = [str(path) for name, path in tasks if name == repeated[0]]
        raise InputError(
            "config",
            "tasks",
            f"task {repeated[0]!r} is given twice ({', '.join(paths)}); expected unique names",
        )
    indexed = []
    for name, path in tasks:
        frame = read_bed(path)
        check_chromosomes(frame, Path(path), chrom_sizes, genome)
        indexed.append(TaskIntervals.build(name, frame))
        log.info("task %s: %d intervals from %s", name, len(frame), path)
    return indexed


def check_chromosomes(frame: pd.DataFrame, path: Path, chrom_sizes: Mapping[str, int], genome: str) -> None:
    """Refuse intervals on chromosomes the genome lacks or past their ends, in one message."""
    known = frame["chrom"].isin(list(chrom_sizes)).to_numpy()
    if not known.all():
        row = int(np.flatnonzero(~known)[0])
        name = str(frame["chrom"].iat[row])
        raise InputError(
            path,
            f"line {frame['line'].iat[row]}",
            f"chromosome {name!r} is not in the genome {genome} "
            f"({len(chrom_sizes)} sequences: {', '.join(list(chrom_sizes)[:5])}"
            f"{', ...' if len(chrom_sizes) > 5 else ''}){_prefix_hint(name, chrom_sizes)}",
        )
    sizes = frame["chrom"].map(dict(chrom_sizes)).to_numpy(np.int64)
    past = frame["end"].to_numpy(np.int64) > sizes
    if past.any():
        row = int(np.flatnonzero(past)[0])
        raise InputError(
            path,
            f"line {frame['line'].iat[row]}",
            f"end {frame['end'].iat[row]} is past the end of {frame['chrom'].iat[row]} "
            f"(length {sizes[row]} in {genome}); is the file for another assembly?",
        )


def _prefix_hint(name: str, chrom_sizes: Mapping[str, int]) -> str:
    """A hint when the name matches the genome's with a ``chr`` prefix added or removed."""
    other = other_spelling(name, chrom_sizes)
    if other is None:
        return ""
    return (
        f"; the genome calls it {other!r}: the file and the genome name chromosomes differently "
        "(a 'chr' prefix): rename one of them"
    )
