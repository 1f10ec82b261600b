"""Train / validation / test splits that never leak.

Contract:
- Genome input (``assign_by_location``): validation and test are whole chromosomes (``chrX``)
  or chromosome regions (``chrX:start-end``, 1-based inclusive, for genomes with few
  chromosomes). A window lies in a hold-out when it lies wholly inside one of its entries;
  a window that straddles a hold-out boundary is dropped (it would share bases with training)
  and counted. Everything else is training. Validation and test may not overlap.
- Sequence files and tables (``stratified_random``): a stratified random split seeded from the
  config (scikit-learn's ``train_test_split``).
- Grouped data such as image tiles (``grouped_random``): whole groups (patient, slide, volume)
  are drawn at random, stratified by label, so no group spans two splits.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from biodl.core.errors import InputError

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


def parse_holdouts(
    validation: list[str], test: list[str], chrom_sizes: dict[str, int], key: str
) -> dict[str, list[Region]]:
    """Parse and check the hold-out lists: known chromosomes, no overlap between them."""
    holdouts = {
        "validation": [parse_region(t, f"{key}.validation") for t in validation],
        "test": [parse_region(t, f"{key}.test") for t in test],
    }
    for split, regions in holdouts.items():
        for region in regions:
            if region.chrom not in chrom_sizes:
                raise InputError(
                    "config",
                    f"{key}.{split}",
                    f"chromosome {region.chrom!r} is not in the genome "
                    f"(known: {', '.join(sorted(chrom_sizes)[:10])})",
                )
    for v in holdouts["validation"]:
        for t in holdouts["test"]:
            if v.overlaps(t):
                raise InputError("config", key, f"validation and test hold-outs overlap on {v.chrom}")
    if not holdouts["validation"] or not holdouts["test"]:
        raise InputError(
            "config", key, "genome input needs at least one validation and one test chromosome or region"
        )
    return holdouts


def assign_by_location(
    chroms: np.ndarray, starts: np.ndarray, ends: np.ndarray, holdouts: dict[str, list[Region]]
) -> np.ndarray:
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


REGRESSION_STRATA = 5


def label_strata(task: str, y: np.ndarray, label_text: np.ndarray) -> np.ndarray:
    """What a random split is stratified by: the label (set), or the first target's quintile."""
    if task == "regression":
        return pd.qcut(y[:, 0], REGRESSION_STRATA, labels=False, duplicates="drop").astype(str)
    return np.asarray(label_text, dtype=object)


def stratified_random(
    strata: np.ndarray, validation_fraction: float, test_fraction: float, seed: int, source: str
) -> np.ndarray:
    """Stratified random split; ``strata`` holds one label (string) per example."""
    n = len(strata)
    index = np.arange(n)
    try:
        rest, test = train_test_split(index, test_size=test_fraction, stratify=strata, random_state=seed)
        train, validation = train_test_split(
            rest,
            test_size=validation_fraction / (1 - test_fraction),
            stratify=strata[rest],
            random_state=seed,
        )
    except ValueError as error:
        counts = dict(zip(*np.unique(strata, return_counts=True), strict=True))
        raise InputError(
            source,
            None,
            f"cannot split {n} examples into train/validation/test stratified by label "
            f"(counts {counts}): {error}",
        ) from error
    result = np.empty(n, dtype=object)
    result[train], result[validation], result[test] = "train", "validation", "test"
    return result


def grouped_random(
    groups: list[str],
    strata: list[str] | None,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
    source: str,
) -> np.ndarray:
    """Split name per element, drawing whole groups (patients, slides, volumes) at random.

    Groups are shuffled with a generator seeded by ``seed``; within each stratum (a group's
    label, when ``strata`` gives one per element) ``round(n * fraction)`` groups go to test and
    to validation, at least one each when the stratum has three groups or more, and the rest to
    training. Every element of a group lands in the group's split, so no group spans two.
    """
    group_stratum: dict[str, set[str]] = {}
    for i, group in enumerate(groups):
        group_stratum.setdefault(group, set()).add(strata[i] if strata is not None else "")
    by_stratum: dict[str, list[str]] = {}
    for group, labels in group_stratum.items():
        by_stratum.setdefault("|".join(sorted(labels)), []).append(group)
    rng = np.random.default_rng(seed)
    split_of: dict[str, str] = {}
    for stratum in sorted(by_stratum):
        members = [by_stratum[stratum][i] for i in rng.permutation(len(by_stratum[stratum]))]
        n = len(members)
        n_test, n_validation = round(n * test_fraction), round(n * validation_fraction)
        if n >= 3:
            n_test, n_validation = max(n_test, 1), max(n_validation, 1)
        for k, group in enumerate(members):
            split_of[group] = "test" if k < n_test else "validation" if k < n_test + n_validation else "train"
    missing = [s for s in ("train", "validation", "test") if s not in split_of.values()]
    if missing:
        raise InputError(
            source,
            None,
            f"cannot draw {len(split_of)} group(s) into train, validation and test (none for "
            f"{', '.join(missing)}): give more groups, or a split column",
        )
    return np.array([split_of[group] for group in groups], dtype=object)
