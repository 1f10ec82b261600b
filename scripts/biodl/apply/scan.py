"""Genome scan: a trained DNA model slid over genome regions, one bigWig track per task.

Contract:
- ``scan_centres(regions, sizes, length, stride)``: in each region (BED rows), window centres at
  ``start, start + stride, ...`` while ``< end``; a centre whose window of ``length`` bases
  (window base ``length // 2`` at the centre, as everywhere in ``biodl.apply``) would run past a
  chromosome end is dropped (counted in the log); centres of overlapping regions are kept once.
  Sorted by chromosome (genome order) and centre.
- ``scan_regions(model, path, genome, index_dir, stride)`` reads the regions as preparation reads
  BED files (``biodl.data.dna.bed.read_bed``; a chromosome the genome lacks, with a ``chr``-prefix
  hint, or an end past the chromosome raise ``InputError`` naming the line) and scores every
  window (``TrainedModel.predict``: strand averaging and ensembles as configured), one chromosome
  and ``SCAN_CHUNK`` windows at a time, so memory is bounded by one chromosome's codes and a
  chunk. Windows made only of N are skipped (counted in the log). Result: ``chrom``, ``centre``
  (0-based), one column per task.
- ``write_tracks(scan, sizes, targets, folder)`` writes one bigWig per task (pyBigWig) in
  ``folder`` with every chromosome of the genome in its header, at the genome's sizes, and
  ``tracks.tsv`` (``task``, ``file``). **Values are at window centres**: the score of the window
  centred on base ``c`` covers the ``stride``-wide bin ``[c - stride // 2, c - stride // 2 +
  stride)``, cut where the next centre's bin starts and at the chromosome ends; nothing is
  averaged over overlapping windows, and positions without a scanned window have no value.
- ``summarise_scan(scan, targets)``: one row per task: ``windows`` scored, ``mean``, ``median``,
  ``q90``, ``max`` and where the maximum is (``max_chrom``, ``max_centre``), for the report.
"""

from __future__ import annotations

import logging
import re
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from biodl.apply.genome import GenomeCodes, centred_start, require_chromosome
from biodl.apply.trained import TrainedModel
from biodl.core.errors import InputError
from biodl.core.files import atomic_dir, write_tsv
from biodl.data.dna import encode
from biodl.data.dna.bed import read_bed
from biodl.data.dna.from_genome import Genome

logger = logging.getLogger(__name__)

SCAN_CHUNK = 16384  # windows gathered and predicted at a time


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
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Scores of windows every ``stride`` bases over the regions, and the genome's sizes."""
    genome = Genome.open(genome_path, index_dir)
    regions = read_bed(path)
    for row in regions.itertuples():
        require_chromosome(genome.sizes, row.chrom, path, f"line {row.line}")
        if row.end > genome.sizes[row.chrom]:
            size = genome.sizes[row.chrom]
            raise InputError(
                path, f"line {row.line}", f"end {row.end} is past the end of {row.chrom} (length {size})"
            )
    centres = scan_centres(regions, genome.sizes, model.length, stride)
    chromosomes = GenomeCodes(genome)
    frames = []
    for chrom, rows in centres.groupby("chrom", sort=False).groups.items():
        windows = np.lib.stride_tricks.sliding_window_view(chromosomes.codes(str(chrom)), model.length)
        chrom_centres = centres.loc[rows, "centre"].to_numpy()
        for first in range(0, len(chrom_centres), SCAN_CHUNK):
            part = chrom_centres[first : first + SCAN_CHUNK]
            codes = windows[centred_start(part, model.length)]
            informative = ~(codes == encode.N_CODE).all(axis=1)
            scores = model.predict(codes[informative])
            frame = pd.DataFrame(scores, columns=list(model.targets))
            frames.append(
                pd.concat([pd.DataFrame({"chrom": chrom, "centre": part[informative]}), frame], axis=1)
            )
    skipped = len(centres) - sum(len(f) for f in frames)
    if skipped:
        logger.info("skipped %d window(s) made only of N", skipped)
    logger.info(
        "scanned %d window(s) of %s over %s every %d bases", len(centres) - skipped, path, genome_path, stride
    )
    empty = pd.DataFrame(columns=["chrom", "centre", *model.targets])
    return (pd.concat(frames, ignore_index=True) if frames else empty), genome.sizes


def track_file(task: str) -> str:
    """The bigWig file name of a task (characters other than letters, digits, ``_ . -`` as ``_``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", task) + ".bw"


def write_tracks(
    scan: pd.DataFrame,
    sizes: dict[str, int],
    targets: tuple[str, ...],
    stride: int,
    folder: str | PathLike[str],
) -> pd.DataFrame:
    """One bigWig per task and ``tracks.tsv`` in ``folder``, written atomically (see the contract)."""
    import pyBigWig

    listing = pd.DataFrame({"task": list(targets), "file": [track_file(task) for task in targets]})
    with atomic_dir(Path(folder)) as tmp:
        for task, name in zip(listing["task"], listing["file"], strict=True):
            handle = pyBigWig.open(str(tmp / name), "w")
            try:
                handle.addHeader([(chrom, int(size)) for chrom, size in sizes.items()])
                for chrom, rows in scan.groupby("chrom", sort=False).groups.items():
                    starts, ends = _bins(
                        scan.loc[rows, "centre"].to_numpy(np.int64), stride, sizes[str(chrom)]
                    )
                    values = scan.loc[rows, task].to_numpy(np.float64)
                    handle.addEntries(
                        [str(chrom)] * len(starts),
                        starts.tolist(),
                        ends=ends.tolist(),
                        values=values.tolist(),
                    )
            finally:
                handle.close()
        write_tsv(listing, tmp / "tracks.tsv")
    return listing


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
