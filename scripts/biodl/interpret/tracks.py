"""Attribution scores on the genome: a bigWig of per-base contributions (pyBigWig).

Contract: ``write_bigwig(path, windows, scores, chrom_sizes)`` writes, atomically, one value per
base: the actual contribution (summed over the four channels) of each window ``(n, L)`` placed at
its genome coordinates (``windows``: metadata rows with ``chrom``, ``start`` (0-based), ``end``
and ``strand``; a ``-`` window was read reverse-complemented, so its scores are flipped back).
Where windows overlap, the mean of their scores is written. Windows without coordinates
(``chrom`` ``.``: sequences from FASTA files, shuffled negatives) are skipped; ``chrom_sizes``
(chromosome -> length) comes from the genome's index. Returns the number of windows placed. A
window past its chromosome's end is refused with an ``InputError`` naming it.
"""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from biodl.core.errors import require
from biodl.core.files import atomic_path


def genome_windows(windows: pd.DataFrame) -> np.ndarray:
    """Rows of ``windows`` that have genome coordinates."""
    return np.flatnonzero(
        (windows["chrom"].astype(str) != ".").to_numpy() & (windows["start"] >= 0).to_numpy()
    )


def write_bigwig(
    path: str | PathLike[str], windows: pd.DataFrame, scores: np.ndarray, chrom_sizes: dict[str, int]
) -> int:
    """Per-base contributions of genome windows as a bigWig (module contract)."""
    import pyBigWig

    placed = genome_windows(windows)
    by_chrom: dict[str, list[int]] = {}
    for i in placed:
        row = windows.iloc[i]
        chrom, start, end = str(row["chrom"]), int(row["start"]), int(row["end"])
        require(
            chrom in chrom_sizes
            and 0 <= start
            and end <= chrom_sizes[chrom]
            and end - start == scores.shape[1],
            "attribution track",
            f"window {row['name']} ({chrom}:{start}-{end})",
            f"expected a window of {scores.shape[1]} bases inside a chromosome of the genome index",
        )
        by_chrom.setdefault(chrom, []).append(int(i))
    # Only the span the windows cover is held in memory, not whole chromosomes.
    tracks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for chrom, rows in by_chrom.items():
        starts = windows["start"].to_numpy()[rows].astype(np.int64)
        lo, hi = int(starts.min()), int(starts.max()) + scores.shape[1]
        total, count = np.zeros(hi - lo), np.zeros(hi - lo, dtype=np.int32)
        for i, start in zip(rows, starts, strict=True):
            values = scores[i][::-1] if windows["strand"].iat[i] == "-" else scores[i]
            total[start - lo : start - lo + scores.shape[1]] += values
            count[start - lo : start - lo + scores.shape[1]] += 1
        covered = np.flatnonzero(count)
        tracks[chrom] = (covered + lo, total[covered] / count[covered])
    with atomic_path(path) as tmp:
        handle = pyBigWig.open(str(tmp), "w")
        try:
            chroms = sorted(tracks)
            handle.addHeader([(c, int(chrom_sizes[c])) for c in chroms] or [("none", 1)])
            for chrom in chroms:
                positions, values = tracks[chrom]
                handle.addEntries(chrom, positions.astype(np.int64), values=values.astype(np.float64), span=1)
        finally:
            handle.close()
    return len(placed)
