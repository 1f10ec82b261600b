"""The configured windows of a genome dataset (``windows``): anchored on regions, or tiled bins.

Contract of ``configured_windows(spec, genome)`` (``tracks`` and ``tasks`` datasets alike):
- ``windows.regions`` alone: one window of ``length`` bases per region, anchored as for
  ``regions`` (``anchor``, ``edge``; repeated windows kept once); ``source`` ``regions``, ``name``
  the region's name (else ``chrom:start``).
- ``windows.stride``: bins (``tiled_bins``) of ``length`` bases every ``stride`` bases, over every
  chromosome of the genome, or, with ``windows.regions`` too, inside the given regions: regions
  that overlap or touch are merged first (so each bin comes once), and each merged region is
  tiled from its start; a bin that would run past its region's end is dropped, as a genome-wide
  bin past its chromosome's end is (a genome-wide bin tiles the region that is the whole
  chromosome). Bins with more than ``windows.max_ambiguous`` N bases are left out (counted in the
  log per chromosome); ``source`` ``bins``, ``name`` ``chrom:start``, strand ``+``.
- Returns a frame (chrom, start, end, name, strand, label, source) sorted by chromosome and
  start; none at all raises ``InputError`` naming the input files.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from biodl.config.datasets import DnaDataset
from biodl.core.errors import InputError
from biodl.data.dna.background import window_gc_and_n
from biodl.data.dna.bed import read_bed
from biodl.data.dna.examples import input_files
from biodl.data.dna.from_genome import Genome
from biodl.data.dna.overlap import merge
from biodl.data.dna.windows import drop_duplicates, make_windows

log = logging.getLogger(__name__)


def configured_windows(spec: DnaDataset, genome: Genome) -> pd.DataFrame:
    """The windows the ``windows`` block asks for (see the module contract)."""
    settings = spec.windows
    regions = read_bed(settings.regions, genome.sizes) if settings.regions is not None else None
    if settings.stride is not None:
        windows = tiled_bins(genome, spec.length, settings.stride, settings.max_ambiguous, regions)
    else:
        assert regions is not None, "regions or stride (biodl.config.checks)"
        windows = region_windows(regions, spec, genome)
    if windows.empty:
        raise InputError(
            input_files(spec),
            None,
            f"no window of {spec.length} bases: the regions run past chromosome ends (edge: {spec.edge}), "
            "are shorter than one bin, or the genome is shorter than one window, or all N; "
            "expected at least one",
        )
    # Sorted by name, as write_windows finds each chromosome's rows by binary search.
    return windows.sort_values(["chrom", "start"], kind="stable", ignore_index=True)


def region_windows(regions: pd.DataFrame, spec: DnaDataset, genome: Genome) -> pd.DataFrame:
    """One window per region, anchored as ``anchor`` and ``edge`` say, repeated windows once."""
    windows = make_windows(regions, spec.length, genome.sizes, spec.anchor, spec.edge)
    windows["strand"] = windows["strand"].replace(".", "+")
    windows = windows.assign(start=windows["win_start"], end=windows["win_end"], label="", source="regions")
    windows = drop_duplicates(windows, ["chrom", "start", "strand"])
    unnamed = windows["name"] == "."
    windows.loc[unnamed, "name"] = (
        windows.loc[unnamed, "chrom"] + ":" + windows.loc[unnamed, "start"].astype(str)
    )
    return windows


def tiled_bins(
    genome: Genome, length: int, stride: int, max_ambiguous: float, regions: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Bins every ``stride`` bases over each chromosome, or inside ``regions`` (a ``read_bed``
    frame, checked against the genome), mostly called bases (see the module contract)."""
    frames = []
    for chrom, size in genome.sizes.items():
        if regions is None:
            region_starts, region_ends = np.zeros(1, np.int64), np.array([size], np.int64)
        else:
            on_chrom = regions.loc[regions["chrom"] == chrom].sort_values("start", kind="stable")
            region_starts, region_ends = merge(
                on_chrom["start"].to_numpy(np.int64), on_chrom["end"].to_numpy(np.int64)
            )
        starts = bin_starts(region_starts, region_ends, length, stride)
        if not len(starts):
            continue
        _, ambiguous = window_gc_and_n(genome.codes(chrom), starts, length)
        kept = starts[ambiguous <= max_ambiguous]
        log.info("%s: %d of %d bins kept (at most %g N)", chrom, len(kept), len(starts), max_ambiguous)
        frames.append(pd.DataFrame({"chrom": chrom, "start": kept, "end": kept + length}))
    bins = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["chrom", "start", "end"])
    return bins.assign(
        name=bins["chrom"] + ":" + bins["start"].astype(str), strand="+", label="", source="bins"
    )


def bin_starts(region_starts: np.ndarray, region_ends: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Starts of the bins of ``length`` bases every ``stride`` bases from each region's start that
    end inside it (disjoint regions sorted by start: the result is sorted), with no loop per region."""
    counts = np.maximum((region_ends - region_starts - length) // stride + 1, 0)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(region_starts, counts) + stride * (np.arange(int(counts.sum()), dtype=np.int64) - first)
