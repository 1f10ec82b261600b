"""The check a biologist makes of a genome scan: do windows over known sites score higher?

Contract:
- ``read_known_sites(path, sizes)`` reads a BED (or narrowPeak) of known sites as preparation
  reads BED files (``biodl.data.dna.bed.read_bed``); a chromosome the genome lacks (with a
  ``chr``-prefix hint) or an end past its chromosome raise ``InputError`` naming the line.
- ``over_sites(scan, sites, stride)``: per scanned window (``chrom``, ``centre``), whether it is
  *over a known site*: its centre base lies inside the site. A site narrower than ``stride`` is
  taken as the ``stride`` bases around its middle (``[middle - stride // 2, middle - stride // 2 +
  stride)``, ``middle = (start + end) // 2``), so that every site scanned has a window over it.
  (Windows that merely touch a site with their flank are not over it: with 200-base windows and
  sites, those see a few bases of the site, and a model of the site's motif rightly scores them
  low.)
- ``site_check(scan, labels, targets, resampling)``: one row per task: ``known_windows`` (windows
  over a known site), ``other_windows``, ``auroc`` (the probability that a window over a known
  site outscores one that is not, ties counting one half: ``biodl.evaluation.weighted_metrics``)
  and its percentile bootstrap interval ``auroc_ci_low``, ``auroc_ci_high``
  (``biodl.evaluation.bootstrap``, resampling windows; NaN with no resamples, and the auROC is
  NaN when either group is empty). Neighbouring windows overlap and are not independent, so the
  interval is narrower than one over independent sites would be: read it as a lower bound on
  the uncertainty. Past ``MAX_CHECKED`` windows, every window over a known site is kept and the
  others are a uniform sample (seeded from ``resampling.seed``): the auROC's expectation is
  unchanged and the bootstrap stays fast on a whole genome.
"""

from __future__ import annotations

import logging
from os import PathLike

import numpy as np
import pandas as pd

from biodl.apply.genome import require_chromosome
from biodl.core.errors import InputError
from biodl.data.dna.bed import read_bed
from biodl.evaluation.bootstrap import Resampling, bootstrap_intervals
from biodl.evaluation.weighted_metrics import auroc

logger = logging.getLogger(__name__)

MAX_CHECKED = 200_000  # windows in the auROC and its bootstrap (all known-site windows kept)
CHECK_COLUMNS = ["known_windows", "other_windows", "auroc", "auroc_ci_low", "auroc_ci_high"]


def read_known_sites(path: str | PathLike[str], sizes: dict[str, int]) -> pd.DataFrame:
    """The known sites of a BED file, checked against the genome (see the module contract)."""
    sites = read_bed(path)
    for row in sites.itertuples():
        require_chromosome(sizes, row.chrom, path, f"line {row.line}")
        if row.end > sizes[row.chrom]:
            raise InputError(
                path,
                f"line {row.line}",
                f"end {row.end} is past the end of {row.chrom} (length {sizes[row.chrom]})",
            )
    return sites


def _merged(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, disjoint intervals covering the same bases (overlapping or touching ones merged)."""
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    first = np.ones(len(starts), bool)
    first[1:] = starts[1:] > reach[:-1]
    return starts[first], np.maximum.reduceat(ends, np.flatnonzero(first))


def over_sites(scan: pd.DataFrame, sites: pd.DataFrame, stride: int) -> np.ndarray:
    """Whether each scanned window's centre lies in a known site (see the module contract)."""
    labels = np.zeros(len(scan), dtype=bool)
    centres = scan["centre"].to_numpy(np.int64)
    chroms = scan["chrom"].to_numpy()
    for chrom, rows in sites.groupby("chrom", sort=False):
        starts, ends = rows["start"].to_numpy(np.int64), rows["end"].to_numpy(np.int64)
        narrow = ends - starts < stride
        starts = np.where(narrow, (starts + ends) // 2 - stride // 2, starts)
        ends = np.where(narrow, starts + stride, ends)
        starts, ends = _merged(starts, ends)
        here = chroms == chrom
        k = np.searchsorted(ends, centres[here], side="right")  # the first site ending after the centre
        hit = k < len(starts)
        hit[hit] = starts[k[hit]] <= centres[here][hit]
        labels[here] = hit
    return labels


def site_check(
    scan: pd.DataFrame, labels: np.ndarray, targets: tuple[str, ...], resampling: Resampling
) -> pd.DataFrame:
    """Per task, the auROC of windows over known sites against the rest (see the module contract)."""
    rows = _checked_rows(labels, resampling.seed)
    y = labels[rows].astype(np.float64)
    result = []
    for task in targets:
        s = scan[task].to_numpy(np.float64)[rows]
        estimate = float(auroc(y, s, np.ones((1, len(y))))[0])
        low, high = np.nan, np.nan
        if resampling.resamples > 0 and len(y):
            low, high = _interval(y, s, task, resampling)
        result.append([task, int(labels.sum()), int((~labels).sum()), estimate, low, high])
    return pd.DataFrame(result, columns=["task", *CHECK_COLUMNS])


def _interval(y: np.ndarray, s: np.ndarray, task: str, resampling: Resampling) -> tuple[float, float]:
    key = ("auroc", task)

    def values(w: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
        return {key: auroc(y, s, w)}

    return bootstrap_intervals(len(y), [key], values, resampling)[key]


def _checked_rows(labels: np.ndarray, seed: int) -> np.ndarray:
    """Every window, or past ``MAX_CHECKED`` all known-site windows and a uniform sample of the others."""
    if len(labels) <= MAX_CHECKED:
        return np.arange(len(labels))
    known, others = np.flatnonzero(labels), np.flatnonzero(~labels)
    keep = max(MAX_CHECKED - len(known), 0)
    sample = np.random.default_rng(seed).choice(others, size=min(keep, len(others)), replace=False)
    logger.info(
        "known-site check on %d window(s): all %d over known sites and %d of the %d others, drawn at random",
        len(known) + len(sample),
        len(known),
        len(sample),
        len(others),
    )
    return np.sort(np.concatenate([known, sample]))
