"""Train / validation / test splits that never leak.

Contract:
- Genome input (``assign_by_location``): validation and test are whole chromosomes (``chrX``)
  or chromosome regions (``chrX:start-end``, 1-based inclusive, for genomes with few
  chromosomes). A window lies in a hold-out when it lies wholly inside one of its entries;
  a window that straddles a hold-out boundary is dropped (it would share bases with training)
  and counted. Everything else is training. Validation and test may not overlap.
- Sequence files and tables (``stratified_random``): a stratified random split seeded from the
  config (scikit-learn's ``train_test_split``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from biodl.validate import InputError

log = logging.getLogger(__name__)

REGION = re.compile(r"^(?P<chrom>[^:\s]+)(?::(?P<start>[\d,]+)-(?P<end>[\d,]+))?$")


@dataclass(frozen=True)
class Region:
    chrom: str
    start: int  # 0-based, inclusive
    end: int | None  # 0-based, exclusive; None = to the chromosome's end

    def overlaps(self, other: Region) -> bool:
        if self.chrom != other.chrom:
            return False
        self_end = np.inf if self.end is None else self.end
        other_end = np.inf if other.end is None else other.end
        return self.start < other_end and other.start < self_end


def parse_region(text: str, key: str) -> Region:
    """``chrI`` or ``chrI:1-100000`` (1-based, inclusive) → Region; ``key`` names the config key."""
    match = REGION.match(text.strip())
    if not match:
        raise InputError("config", key, f"expected a chromosome name or chrom:start-end, found {text!r}")
    if match["start"] is None:
        return Region(match["chrom"], 0, None)
    start, end = int(match["start"].replace(",", "")), int(match["end"].replace(",", ""))
    if start < 1 or end < start:
        raise InputError("config", key, f"region {text!r} must have 1 <= start <= end")
    return Region(match["chrom"], start - 1, end)


def parse_holdouts(validation: list[str], test: list[str], chrom_sizes: dict[str, int], key: str) -> dict[str, list[Region]]:
    """Parse and check the hold-out lists: known chromosomes, no overlap between them."""
    holdouts = {"validation": [parse_region(t, f"{key}.validation") for t in validation],
                "test": [parse_region(t, f"{key}.test") for t in test]}
    for split, regions in holdouts.items():
        for region in regions:
            if region.chrom not in chrom_sizes:
                raise InputError("config", f"{key}.{split}",
                                 f"chromosome {region.chrom!r} is not in the genome (known: {', '.join(sorted(chrom_sizes)[:10])})")
    for v in holdouts["validation"]:
        for t in holdouts["test"]:
            if v.overlaps(t):
                raise InputError("config", key, f"validation and test hold-outs overlap on {v.chrom}")
    if not holdouts["validation"] or not holdouts["test"]:
        raise InputError("config", key, "genome input needs at least one validation and one test chromosome or region")
    return holdouts


def assign_by_location(chroms: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                       holdouts: dict[str, list[Region]]) -> np.ndarray:
    """Split name per window; ``""`` for windows straddling a hold-out boundary (to be dropped)."""
    result = np.full(len(chroms), "train", dtype=object)
    straddling = np.zeros(len(chroms), dtype=bool)
    for split, regions in holdouts.items():
        for region in regions:
            on_chrom = chroms == region.chrom
            region_end = np.iinfo(np.int64).max if region.end is None else region.end
            inside = on_chrom & (starts >= region.start) & (ends <= region_end)
            overlapping = on_chrom & (starts < region_end) & (ends > region.start)
            result[inside] = split
            straddling |= overlapping & ~inside
    result[straddling] = ""
    if straddling.any():
        log.info("dropped %d window(s) straddling a hold-out boundary", int(straddling.sum()))
    return result


def stratified_random(strata: np.ndarray, validation_fraction: float, test_fraction: float, seed: int,
                      source: str) -> np.ndarray:
    """Stratified random split; ``strata`` holds one label (string) per example."""
    n = len(strata)
    index = np.arange(n)
    try:
        rest, test = train_test_split(index, test_size=test_fraction, stratify=strata, random_state=seed)
        train, validation = train_test_split(
            rest, test_size=validation_fraction / (1 - test_fraction), stratify=strata[rest], random_state=seed)
    except ValueError as error:
        counts = dict(zip(*np.unique(strata, return_counts=True)))
        raise InputError(source, None, f"cannot split {n} examples into train/validation/test stratified by label "
                                       f"(counts {counts}): {error}") from error
    result = np.empty(n, dtype=object)
    result[train], result[validation], result[test] = "train", "validation", "test"
    return result
