"""Opening FASTA files (genomes, sequence files) for random access.

Contract: ``open_fasta(path, index_dir)`` opens a FASTA with pyfaidx, using its own up-to-date
``.fai`` when it has one (read-only) and otherwise building an index in ``index_dir``, never in the
input folder. A gzip file, a missing header, duplicate record names or unevenly wrapped lines
raise ``InputError`` naming the file and line.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import pyfaidx

from biodl.core.errors import InputError, _require_uncompressed, require_file


def open_fasta(path: str | PathLike[str], index_dir: str | PathLike[str]) -> pyfaidx.Fasta:
    """Open ``path`` with pyfaidx and an index that is never written beside the input.

    The FASTA's own ``.fai`` (``samtools faidx`` writes one beside it) is used, read-only, when
    it is at least as new as the FASTA and places its first and last records where the file
    has them; otherwise an index is built in ``index_dir``. pyfaidx builds it line by line in
    Python: about 20 s for a human genome, in every preparation job. Upper-casing is left to
    the encoder; malformed files raise ``InputError``.
    """
    path = require_file(path, "FASTA file", "FASTA records: a '>name' line, then lines of sequence")
    _require_uncompressed(path, "FASTA file")
    with open(path, "rb") as handle:
        first = handle.readline().strip()
    if not first.startswith(b">"):
        raise InputError(
            path,
            "line 1",
            f"expected a FASTA header starting with '>', found {first[:40].decode(errors='replace')!r}",
        )
    own_index = path.with_name(path.name + ".fai")
    reuse = _index_fits(path, own_index)
    index = own_index if reuse else Path(index_dir) / own_index.name
    index.parent.mkdir(parents=True, exist_ok=True)
    try:
        return pyfaidx.Fasta(str(path), indexname=str(index), as_raw=True, rebuild=not reuse)
    except (pyfaidx.FastaIndexingError, pyfaidx.FetchError, ValueError) as error:
        # pyfaidx names neither the line nor the fix; find them (only on this failure path).
        where, problem = _fasta_layout_problem(path) or (None, f"not a valid FASTA file ({error})")
        raise InputError(path, where, problem) from error


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
    may be shorter).
    """
    first_line: dict[str, int] = {}
    name, width, short_line = "", 0, 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip(b"\r\n")
            if line.startswith(b">"):
                name = (line[1:].split() or [b""])[0].decode(errors="replace")
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
