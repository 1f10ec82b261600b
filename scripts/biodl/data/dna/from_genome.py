"""DNA examples from a genome FASTA and regions (BED / narrowPeak, one file per class).

Contract of ``from_genome(job, labels)``:
- Each region becomes one window of ``length`` bases (``biodl.data.dna.windows.make_windows``:
  ``anchor``, and ``edge`` for windows past a chromosome end), read on the region's strand
  (``.`` counts as ``+``). Duplicate windows, and a window listed under two classes, are dropped.
- Splits hold out whole chromosomes or regions (``split.validation`` / ``split.test``,
  ``biodl.data.splits.assign_by_location``); windows straddling a hold-out boundary are
  dropped. When nothing remains, ``InputError`` says how many were dropped for what.
- Negatives: ``gc_matched`` draws background windows away from every positive (and the
  ``blacklist``), split by split, matching the positives' GC content in ``gc_bins`` bins,
  ``ratio`` per positive; ``shuffle`` adds ``ratio`` dinucleotide shuffles of each window.
- Examples are written chromosome by chromosome in position order (each chromosome encoded
  once), so memory stays bounded by one chromosome and one shard.

Shared with multi-task (``from_tasks``) and track (``from_tracks``) preparation: ``Genome``
(``Genome.open``; ``holdouts(spec)`` checks the hold-outs against it), ``split_windows`` (the
split of each window, those straddling a boundary dropped), ``gc_matched`` and ``write_windows``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd
import pyfaidx
from tqdm import tqdm

from biodl.config.datasets import DnaDataset
from biodl.core.errors import InputError
from biodl.core.vocabulary import SPLITS
from biodl.data import splits
from biodl.data.dna import encode
from biodl.data.dna.background import candidate_starts, match_gc
from biodl.data.dna.bed import read_bed
from biodl.data.dna.examples import DnaJob, Labelling, chunks, input_files
from biodl.data.dna.fasta import open_fasta, record_codes
from biodl.data.dna.windows import drop_duplicates, gather, make_windows, one_hot_windows
from biodl.data.shards import ShardWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Genome:
    """The genome FASTA, opened once, and its chromosome sizes in file order."""

    path: str
    fasta: pyfaidx.Fasta
    sizes: dict[str, int]

    @classmethod
    def open(cls, path: str | PathLike[str], index_dir: str | PathLike[str]) -> Genome:
        """The genome FASTA at ``path`` (``biodl.data.dna.fasta.open_fasta``, its index in
        ``index_dir`` unless it has its own), with its chromosome sizes."""
        fasta = open_fasta(path, index_dir)
        return cls(str(path), fasta, {chrom: len(fasta[chrom]) for chrom in fasta.keys()})

    def codes(self, chrom: str) -> np.ndarray:
        """One chromosome's sequence as base codes (``biodl.data.dna.encode.to_codes``)."""
        return record_codes(self.fasta, self.path, chrom)

    def holdouts(self, spec: DnaDataset) -> dict[str, list[splits.Region]]:
        """The dataset's ``split.validation`` / ``split.test`` checked against this genome."""
        split = spec.split
        return splits.parse_holdouts(
            list(split.validation), list(split.test), self.sizes, f"{spec.key}.split"
        )


def split_windows(
    windows: pd.DataFrame, holdouts: dict[str, list[splits.Region]], bounds: tuple[str, str]
) -> tuple[pd.DataFrame, int]:
    """``windows`` with a ``split`` column by location (their start and end in the ``bounds``
    columns), those straddling a hold-out boundary dropped; and how many were dropped."""
    start, end = (windows[column].to_numpy() for column in bounds)
    split = splits.assign_by_location(windows["chrom"].to_numpy(), start, end, holdouts)
    kept = split != ""
    return windows.assign(split=split).loc[kept].reset_index(drop=True), int((~kept).sum())


def from_genome(job: DnaJob, labels: Labelling) -> None:
    """Write the windows of every region, and their negatives (see the module contract)."""
    spec = job.spec
    assert spec.genome is not None and spec.regions is not None, "checked by biodl.config.checks"
    genome = Genome.open(spec.genome, job.index_dir)
    length = spec.length
    regions = pd.concat(
        [
            read_bed(path, genome.sizes).assign(label=cls, source=str(path))
            for cls, path in spec.regions.items()
        ],
        ignore_index=True,
    )
    if regions.empty:
        raise InputError(
            input_files(spec),
            None,
            "no regions found (only comments, header or blank lines); expected "
            "one region per line: chrom, start, end (tab-separated)",
        )
    windows = make_windows(regions, length, genome.sizes, spec.anchor, spec.edge)
    n_regions = len(regions)
    del regions  # the windows carry on what is needed: hold one table of rows, not two
    past_end = n_regions - len(windows)
    windows["strand"] = windows["strand"].replace(".", "+")
    windows = drop_duplicates(windows, ["chrom", "win_start", "strand"])
    duplicates = n_regions - past_end - len(windows)
    holdouts = genome.holdouts(spec)
    windows, straddling = split_windows(windows, holdouts, ("win_start", "win_end"))
    if windows.empty:
        raise InputError(
            input_files(spec),
            None,
            f"every region was filtered out: of {n_regions}, {past_end} have a "
            f"{length} bp window running past a chromosome end (edge: {spec.edge}), "
            f"{duplicates} are duplicates or listed under two classes, {straddling} "
            f"straddle a hold-out boundary; expected at least one window to remain "
            f"(a shorter length or edge: pad keeps windows at chromosome ends)",
        )
    unnamed = windows["name"] == "."
    windows.loc[unnamed, "name"] = (
        windows.loc[unnamed, "chrom"] + ":" + windows.loc[unnamed, "win_start"].astype(str)
    )
    windows = windows.assign(start=windows["win_start"], end=windows["win_end"])
    if spec.negatives.method == "gc_matched":
        windows = pd.concat([windows, gc_matched(job, genome, windows, holdouts)], ignore_index=True)
    # Sorted, so each chromosome is one block of rows; only the columns the metadata keeps stay.
    windows = windows.sort_values(["chrom", "start", "strand", "label"], kind="stable", ignore_index=True)
    write_windows(job, labels, genome, windows[[*job.writer.row_columns, "split"]])


def write_windows(
    job: DnaJob, labels: Labelling, genome: Genome, windows: pd.DataFrame, y: np.ndarray | None = None
) -> None:
    """Encode and write ``windows`` (sorted by chromosome and position), one chromosome at a time;
    their targets are ``y`` (one row per window) when given, else from their ``label`` column."""
    spec, writer = job.spec, job.writer
    length, shuffle = spec.length, spec.negatives.method == "shuffle"
    chroms = windows["chrom"].to_numpy()
    split_of_rows = windows["split"].to_numpy()
    for chrom in tqdm(list(genome.sizes), desc="chromosomes", unit="chrom", mininterval=5):
        first, last = (
            np.searchsorted(chroms, chrom, side="left"),
            np.searchsorted(chroms, chrom, side="right"),
        )
        if first == last:
            continue
        chrom_codes = genome.codes(chrom)
        # Shuffles follow their chunk's rows in the shards, so that order keeps fixed chunks;
        # otherwise each part fills what its split's shard has room for, encoded in place.
        parts = (
            chunks(last - first, writer.shard_size)
            if shuffle
            else _writer_parts(split_of_rows[first:last], writer)
        )
        for part in parts:
            rows = windows.iloc[first + part.start : first + part.stop].reset_index(drop=True)
            starts = rows["start"].to_numpy()
            minus = rows["strand"].to_numpy() == "-"
            slot = None if shuffle else writer.slot(rows["split"].iat[0], len(rows), (length, 4), np.uint8)
            x = one_hot_windows(chrom_codes, starts, length, spec.ambiguous, out=slot)
            x[minus] = encode.reverse_complement(x[minus])
            job.emit(rows, x, labels, None if y is None else y[first + part.start : first + part.stop])
            if shuffle:
                codes = gather(chrom_codes, starts, length, encode.N_CODE)
                codes[minus] = encode.reverse_complement_codes(codes[minus])
                shuffled_rows, shuffled = job.shuffled(rows, codes, job.spec.negatives.label)
                job.emit(shuffled_rows, encode.one_hot(shuffled, spec.ambiguous), labels)


def _writer_parts(split_of_rows: np.ndarray, writer: ShardWriter) -> Iterator[slice]:
    """Consecutive parts of rows of one split each, none more than the writer has room for in
    that split's shard when the part is reached (read lazily: the caller adds each part first)."""
    bounds = [0, *(np.flatnonzero(split_of_rows[1:] != split_of_rows[:-1]) + 1), len(split_of_rows)]
    # Both lists come from one list of boundaries: one element shorter than it, each.
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        while start < stop:
            end = min(stop, start + writer.room(split_of_rows[start]))
            yield slice(start, end)
            start = end


def gc_matched(
    job: DnaJob, genome: Genome, positives: pd.DataFrame, holdouts: dict[str, list[splits.Region]]
) -> pd.DataFrame:
    """Background windows GC-matched to the positives (``chrom``, ``start``, ``end``, ``split``),
    split by split, away from the positives' bases (and the blacklist)."""
    settings, length = job.spec.negatives, job.spec.length
    stride = settings.stride or max(1, length // 4)
    blacklist = read_bed(settings.blacklist) if settings.blacklist else None
    positive_gc = np.empty(len(positives))
    candidates = []
    for chrom in genome.sizes:
        codes = genome.codes(chrom)
        excluded = np.zeros(len(codes), dtype=bool)
        on_chrom = (positives["chrom"] == chrom).to_numpy()
        for start, end in positives.loc[on_chrom, ["start", "end"]].itertuples(index=False):
            excluded[max(start, 0) : end] = True
        if blacklist is not None:
            for start, end in blacklist.loc[blacklist["chrom"] == chrom, ["start", "end"]].itertuples(
                index=False
            ):
                excluded[start:end] = True
        if on_chrom.any():
            windows = gather(codes, positives.loc[on_chrom, "start"].to_numpy(), length, encode.N_CODE)
            positive_gc[on_chrom] = encode.gc_fraction(windows)
        starts, gc = candidate_starts(codes, excluded, length, stride, settings.max_ambiguous)
        split_of_starts = splits.assign_by_location(
            np.full(len(starts), chrom, dtype=object), starts, starts + length, holdouts
        )
        candidates.append(pd.DataFrame({"chrom": chrom, "start": starts, "gc": gc, "split": split_of_starts}))
    pool = pd.concat(candidates, ignore_index=True)
    pool = pool.loc[pool["split"] != ""]
    chosen = []
    for split in SPLITS:
        in_split = (positives["split"] == split).to_numpy()
        split_pool = pool.loc[pool["split"] == split].reset_index(drop=True)
        picked = match_gc(
            positive_gc[in_split], split_pool["gc"].to_numpy(), settings.ratio, settings.gc_bins, job.rng
        )
        chosen.append(split_pool.iloc[picked])
        log.info(
            "%s: GC of positives %.3f ± %.3f, of %d background windows %.3f ± %.3f",
            split,
            positive_gc[in_split].mean(),
            positive_gc[in_split].std(),
            len(picked),
            split_pool["gc"].to_numpy()[picked].mean() if len(picked) else float("nan"),
            split_pool["gc"].to_numpy()[picked].std() if len(picked) else float("nan"),
        )
    background = pd.concat(chosen, ignore_index=True)
    return pd.DataFrame(
        {
            "chrom": background["chrom"],
            "start": background["start"],
            "end": background["start"] + length,
            "strand": "+",
            "label": settings.label,
            "source": "gc_matched",
            "split": background["split"],
            "name": background["chrom"] + ":" + background["start"].astype(str),
        }
    )
