"""Genome scan: a trained DNA model slid over genome regions, one bigWig track per task.

Contract:
- ``scan_centres(regions, sizes, length, stride)``: in each region (BED rows), window centres at
  ``start, start + stride, ...`` while ``< end``; a centre whose window of ``length`` bases
  (window base ``length // 2`` at the centre, as everywhere in ``biodl.apply``) would run past a
  chromosome end is dropped (counted in the log); centres of overlapping regions are kept once.
  Sorted by chromosome (genome order) and centre.
- ``scan_parts(regions)`` splits the regions' chromosomes (in file order) into the parts that
  the workflow scans as separate jobs: one part per chromosome, except that consecutive
  chromosomes with fewer than ``PART_BASES`` bases to scan are grouped until a part reaches it
  (a scaffold assembly's thousands of contigs make a few jobs, not thousands).
  ``read_scan_parts(path)`` is the same from the BED file (known when the workflow is planned).
- ``scan_regions(model, path, genome, index_dir, stride, chromosomes)`` reads the regions as
  preparation reads BED files (``biodl.data.dna.bed.read_bed``; a chromosome the genome lacks,
  with a ``chr``-prefix hint, or an end past the chromosome raise ``InputError`` naming the line)
  and scores every window (``TrainedModel.predict_chunks``: strand averaging and ensembles as
  configured), one chromosome and ``SCAN_CHUNK`` windows at a time, the next chunk gathered and
  encoded while one is predicted, so memory is bounded by one chromosome's codes and two chunks.
  Windows made only of N are skipped (counted in the log). With ``chromosomes`` only the regions
  on those are scanned (every line is still checked). Result: ``chrom``, ``centre`` (0-based),
  one column per task.
- ``write_part(scan, path)`` and ``gather_parts(paths, targets)``: a part's scan as a TSV, and the
  parts read back and concatenated in the order given (the workflow gives them in genome order
  of their first chromosome; ``gather_parts`` sorts nothing, the tracks writer groups by
  chromosome).
- ``write_tracks(scan, sizes, targets, layout, folder)`` writes one bigWig per task (pyBigWig) in
  ``folder`` with every chromosome of the genome in its header, at the genome's sizes; one BED
  per task of the windows whose score is at least ``layout.threshold``
  (``above_threshold``: BED6+, the whole window of the model's input length, name
  ``<task>:<chrom>:<centre>``, BED score ``round(1000 × score)`` for probabilities (clipped to
  0-1000) or 0 for regression values, strand ``.``, then the score; sorted by chromosome and
  start); and ``tracks.tsv`` (``task``, ``file``, ``windows_file``, ``threshold``,
  ``windows_above``). **Values are at window centres**: the score of the window
  centred on base ``c`` covers the ``stride``-wide bin ``[c - stride // 2, c - stride // 2 +
  stride)``, cut where the next centre's bin starts and at the chromosome ends; nothing is
  averaged over overlapping windows, and positions without a scanned window have no value.
- ``summarise_scan(scan, targets)``: one row per task: ``windows`` scored, ``mean``, ``median``,
  ``q90``, ``max`` and where the maximum is (``max_chrom``, ``max_centre``), for the report.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from biodl.apply.genome import GenomeCodes, centred_start, require_chromosome
from biodl.core.errors import InputError
from biodl.core.files import atomic_dir, atomic_path, tsv_text, write_tsv
from biodl.data.dna import encode
from biodl.data.dna.bed import read_bed
from biodl.data.dna.from_genome import Genome

if TYPE_CHECKING:  # the gather step and the workflow's planning import this module without TensorFlow
    from biodl.apply.trained import TrainedModel

logger = logging.getLogger(__name__)

PART_BASES = 20_000_000  # bases to scan that make a part (one job) on their own
SCAN_CHUNK = 8192  # windows gathered, encoded and predicted at a time (two in flight)
NAME_TEMPLATE = "{task}:{chrom}:{centre}"  # name of a window in the BED of windows above threshold


@dataclass(frozen=True)
class TrackLayout:
    """How scores become tracks: the scan's stride, the model's window length, the BED threshold,
    and whether the scores are probabilities (they set the BED score)."""

    stride: int
    length: int
    threshold: float
    probabilities: bool


def scan_parts(regions: pd.DataFrame) -> list[tuple[str, ...]]:
    """The regions' chromosomes in parts, in file order (see the module contract)."""
    bases = (regions["end"] - regions["start"]).groupby(regions["chrom"], sort=False).sum()
    parts: list[tuple[str, ...]] = []
    current: list[str] = []
    total = 0
    for chrom, size in bases.items():
        current.append(str(chrom))
        total += int(size)
        if total >= PART_BASES:
            parts.append(tuple(current))
            current, total = [], 0
    if current:
        parts.append(tuple(current))
    return parts


def read_scan_parts(path: str | PathLike[str]) -> list[tuple[str, ...]]:
    """The parts of a scan's BED file (``scan_parts`` of its regions)."""
    return scan_parts(read_bed(path))


def scan_centres(regions: pd.DataFrame, sizes: dict[str, int], length: int, stride: int) -> pd.DataFrame:
    """Window centres over the regions (see the module contract)."""
    frames, dropped = [], 0
    for row in regions.itertuples():
        centres = np.arange(row.start, row.end, stride, dtype=np.int64)
        starts = centred_start(centres, length)
        fits = (starts >= 0) & (starts + length <= sizes[row.chrom])
        frames.append(pd.DataFrame({"chrom": row.chrom, "centre": centres[fits]}))
        dropped += int((~fits).sum())
    if dropped:
        logger.warning(
            "%d window centre(s) dropped: within %d bases of a chromosome end", dropped, length // 2
        )
    if not frames:
        return pd.DataFrame({"chrom": pd.Series(dtype=object), "centre": pd.Series(dtype=np.int64)})
    order = {chrom: k for k, chrom in enumerate(sizes)}
    centres = pd.concat(frames, ignore_index=True).drop_duplicates(["chrom", "centre"])
    return centres.sort_values(
        ["chrom", "centre"], key=lambda column: column.map(order) if column.name == "chrom" else column
    ).reset_index(drop=True)


def scan_regions(
    model: TrainedModel,
    path: str | PathLike[str],
    genome_path: str | PathLike[str],
    index_dir: str | PathLike[str],
    stride: int,
    chromosomes: Collection[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Scores of windows every ``stride`` bases over the regions (those on ``chromosomes`` when
    given), and the genome's sizes."""
    genome = Genome.open(genome_path, index_dir)
    regions = read_bed(path)
    for row in regions.itertuples():
        require_chromosome(genome.sizes, row.chrom, path, f"line {row.line}")
        if row.end > genome.sizes[row.chrom]:
            size = genome.sizes[row.chrom]
            raise InputError(
                path, f"line {row.line}", f"end {row.end} is past the end of {row.chrom} (length {size})"
            )
    if chromosomes is not None:
        regions = regions[regions["chrom"].isin(set(chromosomes))]
    centres = scan_centres(regions, genome.sizes, model.length, stride)
    genome_codes = GenomeCodes(genome)
    kept: list[tuple[str, np.ndarray]] = []  # each chunk's chromosome and informative centres

    def informative_chunks() -> Iterator[np.ndarray]:
        for chrom, rows in centres.groupby("chrom", sort=False).groups.items():
            windows = np.lib.stride_tricks.sliding_window_view(genome_codes.codes(str(chrom)), model.length)
            chrom_centres = centres.loc[rows, "centre"].to_numpy()
            for first in range(0, len(chrom_centres), SCAN_CHUNK):
                part = chrom_centres[first : first + SCAN_CHUNK]
                codes = windows[centred_start(part, model.length)]
                informative = ~(codes == encode.N_CODE).all(axis=1)
                kept.append((str(chrom), part[informative]))
                yield codes[informative]

    frames = []
    for index, scores in enumerate(model.predict_chunks(informative_chunks())):
        chrom, part = kept[index]  # appended before its chunk was handed over for encoding
        frame = pd.DataFrame(scores, columns=list(model.targets))
        frames.append(pd.concat([pd.DataFrame({"chrom": chrom, "centre": part}), frame], axis=1))
    skipped = len(centres) - sum(len(f) for f in frames)
    if skipped:
        logger.info("skipped %d window(s) made only of N", skipped)
    logger.info(
        "scanned %d window(s) of %s over %s every %d bases", len(centres) - skipped, path, genome_path, stride
    )
    empty = pd.DataFrame(columns=["chrom", "centre", *model.targets])
    return (pd.concat(frames, ignore_index=True) if frames else empty), genome.sizes


def write_part(scan: pd.DataFrame, path: str | PathLike[str]) -> None:
    """One part's scan as a TSV (``chrom``, ``centre``, one column per task)."""
    write_tsv(scan, path)


def gather_parts(paths: Sequence[str | PathLike[str]], targets: tuple[str, ...]) -> pd.DataFrame:
    """The parts' scans, concatenated in the order given."""
    dtypes = {"chrom": str, "centre": np.int64} | {task: np.float64 for task in targets}
    frames = [pd.read_csv(path, sep="\t", dtype=dtypes, keep_default_na=False) for path in paths]
    for path, frame in zip(paths, frames, strict=True):
        if list(frame.columns) != ["chrom", "centre", *targets]:
            raise ValueError(f"{path}: columns {list(frame.columns)}, expected chrom, centre, {targets}")
    if not frames:
        return pd.DataFrame(columns=["chrom", "centre", *targets])
    return pd.concat(frames, ignore_index=True)


def _safe_name(task: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", task)


def track_file(task: str) -> str:
    """The bigWig file name of a task (characters other than letters, digits, ``_ . -`` as ``_``)."""
    return _safe_name(task) + ".bw"


def windows_file(task: str) -> str:
    """The file name of a task's BED of windows above the threshold (named like ``track_file``)."""
    return _safe_name(task) + ".above.bed"


def above_threshold(scan: pd.DataFrame, task: str, layout: TrackLayout) -> pd.DataFrame:
    """The windows whose ``task`` score is at least the threshold, as BED6+ (module contract)."""
    hits = scan.loc[scan[task].to_numpy(np.float64) >= layout.threshold, ["chrom", "centre", task]]
    centres = hits["centre"].to_numpy(np.int64)
    values = hits[task].to_numpy(np.float64)
    starts = centred_start(centres, layout.length)
    score = np.clip(np.round(1000 * values), 0, 1000) if layout.probabilities else np.zeros(len(values))
    return pd.DataFrame(
        {
            "chrom": hits["chrom"].to_numpy(),
            "start": starts,
            "end": starts + layout.length,
            "name": [
                NAME_TEMPLATE.format(task=task, chrom=c, centre=x)
                for c, x in zip(hits["chrom"], centres, strict=True)
            ],
            "score": score.astype(np.int64),
            "strand": ".",
            "value": values,
        }
    )


def write_tracks(
    scan: pd.DataFrame,
    sizes: dict[str, int],
    targets: tuple[str, ...],
    layout: TrackLayout,
    folder: str | PathLike[str],
) -> pd.DataFrame:
    """Per task a bigWig and a BED of windows above the threshold, and ``tracks.tsv``, in
    ``folder``, written atomically (see the contract)."""
    scan = _genome_order(scan, sizes)
    listing = pd.DataFrame(
        {
            "task": list(targets),
            "file": [track_file(task) for task in targets],
            "windows_file": [windows_file(task) for task in targets],
            "threshold": layout.threshold,
            "windows_above": 0,
        }
    )
    with atomic_dir(Path(folder)) as tmp:
        for row in listing.itertuples():
            _write_bigwig(scan, sizes, row.task, layout.stride, tmp / row.file)
            windows = above_threshold(scan, row.task, layout)
            write_bed(windows, tmp / row.windows_file)
            listing.loc[row.Index, "windows_above"] = len(windows)
        write_tsv(listing, tmp / "tracks.tsv")
    return listing


def write_bed(windows: pd.DataFrame, path: str | PathLike[str]) -> None:
    """BED6+ without a header line (genome browsers read it as it is)."""
    text = tsv_text(windows, header=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _genome_order(scan: pd.DataFrame, sizes: dict[str, int]) -> pd.DataFrame:
    order = {chrom: k for k, chrom in enumerate(sizes)}
    return scan.sort_values(
        ["chrom", "centre"],
        key=lambda column: column.map(order) if column.name == "chrom" else column,
        kind="stable",
    ).reset_index(drop=True)


def _write_bigwig(scan: pd.DataFrame, sizes: dict[str, int], task: str, stride: int, path: Path) -> None:
    import pyBigWig

    handle = pyBigWig.open(str(path), "w")
    try:
        handle.addHeader([(chrom, int(size)) for chrom, size in sizes.items()])
        for chrom, rows in scan.groupby("chrom", sort=False).groups.items():
            starts, ends = _bins(scan.loc[rows, "centre"].to_numpy(np.int64), stride, sizes[str(chrom)])
            values = scan.loc[rows, task].to_numpy(np.float64)
            handle.addEntries(
                [str(chrom)] * len(starts), starts.tolist(), ends=ends.tolist(), values=values.tolist()
            )
    finally:
        handle.close()


def _bins(centres: np.ndarray, stride: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted centres → non-overlapping bins ``[c - stride // 2, c - stride // 2 + stride)``, each cut
    where the next begins and at the chromosome's ends."""
    starts = np.clip(centres - stride // 2, 0, size)
    ends = np.minimum(starts + stride, np.append(starts[1:], size))
    return starts, np.maximum(ends, starts + 1).clip(max=size)


def summarise_scan(scan: pd.DataFrame, targets: tuple[str, ...]) -> pd.DataFrame:
    """Per task: windows scored, mean, median, 90th percentile, maximum and where it is."""
    rows = []
    for task in targets:
        values = scan[task].to_numpy(np.float64)
        best = int(np.argmax(values)) if len(values) else None
        rows.append(
            {
                "task": task,
                "windows": len(values),
                "mean": float(values.mean()) if len(values) else np.nan,
                "median": float(np.median(values)) if len(values) else np.nan,
                "q90": float(np.quantile(values, 0.9)) if len(values) else np.nan,
                "max": float(values[best]) if best is not None else np.nan,
                "max_chrom": scan["chrom"].iat[best] if best is not None else ".",
                "max_centre": int(scan["centre"].iat[best]) if best is not None else -1,
            }
        )
    return pd.DataFrame(rows)
