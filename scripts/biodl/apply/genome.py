"""The genome a model is applied over: windows centred on positions, chromosomes checked.

Contract:
- The genome is opened as preparation opens it (``biodl.data.dna.from_genome.Genome.open``).
  ``GenomeCodes`` keeps the base codes of one chromosome at a time
  (``codes(chrom)``), so memory is bounded by the largest chromosome.
- ``require_chromosome(sizes, chrom, source, where)`` raises ``InputError`` for a chromosome the
  genome lacks; when the genome has the same name with or without a ``chr`` prefix the message
  says so (the usual UCSC/Ensembl naming mismatch).
- ``centred_start(centre, length)`` is the start of the window of ``length`` bases whose centre
  base (index ``length // 2``) is ``centre``; ``require_window(sizes, chrom, start, length, ...)``
  refuses a window that runs past either end of its chromosome, naming both.
"""

from __future__ import annotations

from os import PathLike

import numpy as np

from biodl.core.errors import InputError
from biodl.data.dna.fasta import other_spelling
from biodl.data.dna.from_genome import Genome

CHR = "chr"


class GenomeCodes:
    """Base codes of the genome's chromosomes, one chromosome kept at a time."""

    def __init__(self, genome: Genome) -> None:
        self.genome = genome
        self._chrom: str | None = None
        self._codes = np.empty(0, np.uint8)

    def codes(self, chrom: str) -> np.ndarray:
        if chrom != self._chrom:
            self._codes, self._chrom = self.genome.codes(chrom), chrom
        return self._codes


def require_chromosome(sizes: dict[str, int], chrom: str, source: str | PathLike[str], where: str) -> None:
    """Refuse a chromosome absent from the genome, with a hint about a ``chr`` prefix."""
    if chrom in sizes:
        return
    other = other_spelling(chrom, sizes)
    if other is not None:
        hint = (
            f"; the genome calls it {other!r}: the input and the genome name chromosomes differently "
            f"({'with' if chrom.startswith(CHR) else 'without'} a 'chr' prefix), rename one of them"
        )
    else:
        hint = f" (genome chromosomes: {', '.join(list(sizes)[:10])}{', ...' if len(sizes) > 10 else ''})"
    raise InputError(source, where, f"chromosome {chrom!r} is not in the genome{hint}")


def centred_start(centre: np.ndarray | int, length: int) -> np.ndarray:
    """Start of the window of ``length`` bases whose base ``length // 2`` is ``centre``."""
    return np.asarray(centre, dtype=np.int64) - length // 2


def require_window(
    sizes: dict[str, int], chrom: str, start: int, length: int, source: str | PathLike[str], where: str
) -> None:
    """Refuse a window of ``length`` bases at ``start`` that runs past either end of ``chrom``."""
    size = sizes[chrom]
    if start < 0 or start + length > size:
        raise InputError(
            source,
            where,
            f"the {length}-base window centred here ({chrom}:{start}-{start + length}) runs past "
            f"the {'start' if start < 0 else 'end'} of {chrom} (length {size}); expected regions at "
            f"least {length // 2} bases from either chromosome end",
        )
