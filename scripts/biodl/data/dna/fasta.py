"""Opening FASTA files (genomes, sequence files) for random access.

Contract:
- ``open_fasta(path, index_dir)`` opens a FASTA with pyfaidx, using its own up-to-date ``.fai``
  when it has one (read-only) and otherwise building an index in ``index_dir``, never in the input
  folder. Text is read as every reader reads it (``biodl.core.text_input``): a FASTA with a
  byte-order mark, old Mac (CR) or mixed line ends, which pyfaidx misreads byte by byte, is
  accepted by indexing a normalised copy (UTF-8, LF, same line numbers) written into
  ``index_dir``; the results are those of the clean file. A gzip file, a missing header, binary
  data or bytes that are not UTF-8, a record without a name, duplicate record names or unevenly
  wrapped lines raise
  ``InputError`` naming the file (as given) and line.
- ``record_codes(fasta, path, record)`` is a record's sequence as base codes
  (``biodl.data.dna.encode.to_codes``); an invalid character is reported with its record,
  position and file line.
- ``other_spelling(chrom, known)``: the name ``chrom`` has among ``known`` with a ``chr`` prefix
  added or removed (``chr1`` / ``1``), or None: the hint for a chromosome absent from a genome or a
  track because two files name chromosomes differently.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from os import PathLike
from pathlib import Path

import numpy as np
import pyfaidx

from biodl.core.errors import InputError, _require_uncompressed, require_file
from biodl.core.text_input import needs_normalising, open_text, text_lines, write_normalised
from biodl.data.dna import encode

logger = logging.getLogger(__name__)

WHAT = "FASTA file"
COUNT_BLOCK = 1 << 24  # bytes read at a time when counting lines up to a position


def open_fasta(path: str | PathLike[str], index_dir: str | PathLike[str]) -> pyfaidx.Fasta:
    """Open ``path`` with pyfaidx and an index that is never written beside the input.

    The FASTA's own ``.fai`` (``samtools faidx`` writes one beside it) is used, read-only, when
    it is at least as new as the FASTA and places its first and last records where the file
    has them; otherwise an index is built in ``index_dir``. pyfaidx builds it line by line in
    Python: about 20 s for a human genome, in every preparation job. Upper-casing is left to
    the encoder; malformed files raise ``InputError``.
    """
    path = require_file(path, WHAT, "FASTA records: a '>name' line, then lines of sequence")
    _require_uncompressed(path, WHAT)
    with open_text(path, WHAT) as text:
        first = text.readline().strip()
    if not first.startswith(">"):
        raise InputError(path, "line 1", f"expected a FASTA header starting with '>', found {first[:40]!r}")
    index_dir = Path(index_dir)
    if needs_normalising(path):
        return _open_normalised(path, index_dir)
    own_index = path.with_name(path.name + ".fai")
    reuse = _index_fits(path, own_index)
    index = own_index if reuse else index_dir / own_index.name
    index.parent.mkdir(parents=True, exist_ok=True)
    try:
        return pyfaidx.Fasta(str(path), indexname=str(index), as_raw=True, rebuild=not reuse)
    except (pyfaidx.FastaIndexingError, pyfaidx.FetchError, ValueError) as error:
        # pyfaidx names neither the line nor the fix; find them (only on this failure path).
        problem = _fasta_layout_problem(path)
        if problem is None and _has_cr(path):  # CRLF and LF mixed: one width in bytes no longer
            return _open_normalised(path, index_dir)
        where, what = problem or (None, f"not a valid FASTA file ({error})")
        raise InputError(path, where, what) from error


def _open_normalised(path: Path, index_dir: Path) -> pyfaidx.Fasta:
    """pyfaidx on a copy of ``path`` with LF line ends and no byte-order mark, in ``index_dir``."""
    copy = index_dir / "normalised" / path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    write_normalised(path, WHAT, copy)
    logger.info("%s has a byte-order mark or CR line ends; reading a normalised copy (%s)", path, copy)
    try:
        return pyfaidx.Fasta(str(copy), indexname=str(copy) + ".fai", as_raw=True, rebuild=True)
    except (pyfaidx.FastaIndexingError, pyfaidx.FetchError, ValueError) as error:
        where, what = _fasta_layout_problem(path) or (None, f"not a valid FASTA file ({error})")
        raise InputError(path, where, what) from error


def _has_cr(path: Path) -> bool:
    with open(path, "rb") as handle:
        while block := handle.read(COUNT_BLOCK):
            if b"\r" in block:
                return True
    return False


def other_spelling(chrom: str, known: Collection[str]) -> str | None:
    """``chrom`` with its ``chr`` prefix removed or added, where ``known`` has that name."""
    other = chrom.removeprefix("chr") if chrom.startswith("chr") else f"chr{chrom}"
    return other if other in known else None


def record_codes(fasta: pyfaidx.Fasta, path: str | PathLike[str], record: str) -> np.ndarray:
    """The base codes of ``record``; an invalid character names its record, position and line."""
    sequence = fasta[record][:]
    try:
        return encode.to_codes(sequence, str(path), record)
    except InputError as error:
        codes = encode.CODE_TABLE[np.frombuffer(sequence.encode("ascii", errors="replace"), np.uint8)]
        position = int(np.flatnonzero(codes == encode.INVALID)[0])
        line = _line_of_base(fasta, record, position)
        raise InputError(error.source, f"{error.where}, line {line}", error.problem) from None


def _line_of_base(fasta: pyfaidx.Fasta, record: str, position: int) -> int:
    """The file line of base ``position`` (0-based) of ``record``: line breaks before its byte."""
    entry = fasta.faidx.index[record]
    offset = entry.offset + (position // entry.lenc) * entry.lenb + position % entry.lenc
    breaks = 0
    with open(fasta.filename, "rb") as handle:
        while offset > 0:
            block = handle.read(min(COUNT_BLOCK, offset))
            if not block:
                break
            breaks += block.count(b"\n")
            offset -= len(block)
    return breaks + 1


def _index_fits(fasta: Path, index: Path) -> bool:
    """Whether ``index`` (a ``.fai``) is at least as new as ``fasta`` and, for its first and
    last records, the file has a line break just before the sequence, a base at its start and
    a line break (or the end of the file) just after its last base."""
    try:
        if index.stat().st_mtime < fasta.stat().st_mtime:
            return False
        lines = index.read_text().splitlines()
        with open(fasta, "rb") as handle:
            for line in {lines[0], lines[-1]}:
                length, offset, line_bases, line_width = map(int, line.split("\t")[1:5])
                breaks = -(-length // line_bases) * (line_width - line_bases) if line_bases else 0
                # the last line's break counted above comes after the last base
                end = offset + length + breaks - (line_width - line_bases) * (length > 0)
                handle.seek(offset - 1)
                around_start = handle.read(2)
                handle.seek(end)
                after_end = handle.read(1)
                if (
                    around_start[:1] != b"\n"
                    or around_start[1:] in (b"", b">", b"\n", b"\r")
                    or after_end not in (b"", b"\n", b"\r")
                ):
                    return False
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return False
    return True


def _fasta_layout_problem(path: Path) -> tuple[str, str] | None:
    """The first duplicate record name or unevenly wrapped sequence line, as (where, problem).

    An index (``.fai``) needs unique names and, within a record, lines of one width (the last
    may be shorter). Read through ``biodl.core.text_input``, which raises ``InputError`` at
    binary data or bytes that are not UTF-8.
    """
    first_line: dict[str, int] = {}
    name, width, short_line = "", 0, 0
    for number, line in text_lines(path, WHAT):
        if line.startswith(">"):
            name = (line[1:].split() or [""])[0]
            if not name:
                return (
                    f"line {number}",
                    "a '>' line without a record name; expected '>name' to start a record",
                )
            if name in first_line:
                return f"line {number}", (
                    f"duplicate record name {name!r} (first on line {first_line[name]}); "
                    "expected every record to have its own name"
                )
            first_line[name], width, short_line = number, 0, 0
            continue
        if not line:
            continue
        if short_line or (width and len(line) > width):
            bad = short_line or number
            return f"line {bad}", (
                f"sequence line of record {name!r} is not {width} bases wide like the lines "
                "before it; expected every line of a record but its last to have the same "
                "length (re-wrap the file to one line width)"
            )
        if not width:
            width = len(line)
        elif len(line) < width:
            short_line = number
    return None
