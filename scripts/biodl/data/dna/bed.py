"""Reading BED and narrowPeak files.

Contract: ``read_bed(path, chrom_sizes)`` reads BED or narrowPeak records, plain or gzip-compressed
(header, track, browser and comment lines skipped; any line ends, a byte-order mark: the text is
read through ``biodl.core.text_input``, which refuses binary data with its line), checks every
record (at least three columns, integer coordinates, start < end, a known chromosome and an end
within it when
``chrom_sizes`` is given, strand ``+ - .``) and returns a frame with ``chrom``, ``start``,
``end``, ``name``, ``strand``, ``summit`` (narrowPeak column 10, else -1) and ``line`` (the file
line of each record). The first bad record raises ``InputError`` naming the file and line. The
file is read in blocks, so memory stays bounded by the block and the result.
"""

from __future__ import annotations

import itertools
import sys
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biodl.core.errors import InputError, require_file
from biodl.core.text_input import open_text

BED_BLOCK = 1 << 22  # characters read at a time (then to the end of the line): bounds the memory of parsing


SKIPPED_PREFIXES = ("#", "track", "browser")


def read_bed(path: str | PathLike[str], chrom_sizes: dict[str, int] | None = None) -> pd.DataFrame:
    """Read a BED (3 to 6+ columns) or narrowPeak file into a frame.

    Columns: chrom, start, end, name, score, strand (``.`` when absent), summit (offset from
    start, -1 when absent) and ``line`` (1-based line number in the file, for messages).
    When ``chrom_sizes`` is given, chromosomes and end coordinates are checked against it.

    Files of a million peaks are common, so the file is read in blocks whose columns are
    parsed and checked as whole arrays, with no Python object per line beyond its text; the
    record-by-record check (``_bed_record_problem``) runs only on the rows those array checks
    flag, and words the error for the first one in file order.
    """
    path = require_file(path, "BED file", "one region per line: chrom, start, end (tab-separated)")
    frames = []
    read = 0
    with open_text(path, "BED file") as handle:
        while text := handle.read(BED_BLOCK):
            lines = (text + handle.readline()).removesuffix("\n").split("\n")
            frames.append(_bed_block(path, lines, read, chrom_sizes))
            read += len(lines)
    kept = [frame for frame in frames if len(frame)] or frames[:1]
    return pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0]


def _bed_block(path: Path, lines: list[str], first: int, chrom_sizes: dict[str, int] | None) -> pd.DataFrame:
    """Parse and check lines ``first + 1``... of a BED file; raise InputError at the first bad record."""
    if _may_skip_some(lines):
        is_record = np.fromiter(
            (bool(line.strip()) and not line.startswith(SKIPPED_PREFIXES) for line in lines), bool, len(lines)
        )
        records = list(itertools.compress(lines, is_record))
        numbers = np.flatnonzero(is_record) + first + 1
    else:  # the usual case, told by first characters alone: every line is a record
        records, numbers = lines, np.arange(first + 1, first + len(lines) + 1)
    try:
        frame, flagged = _bed_columns(records, chrom_sizes)
    except (ValueError, OverflowError):  # a value that does not parse: find and word it below
        frame, flagged = None, np.arange(len(records))
    for row in flagged:
        problem = _bed_record_problem(records[row].split("\t"), chrom_sizes)
        if problem:
            raise InputError(path, f"line {numbers[row]}", problem)
    if frame is None:
        raise InputError(path, None, "coordinates too large for 64-bit integers")
    return frame.assign(line=numbers)


def _may_skip_some(lines: list[str]) -> bool:
    """Whether any line may be a header, comment or blank line, judged by first characters only
    (a superset, checked line by line if so): a set of 1-character strings is built several
    times faster than a multi-line regular expression scans the text."""
    return any(not first or first in "#tb" or first.isspace() for first in {line[:1] for line in lines})


def _bed_columns(records: list[str], chrom_sizes: dict[str, int] | None) -> tuple[pd.DataFrame, np.ndarray]:
    """The records (lines) as a frame, and the rows that may break a rule (a superset of those
    that do). Raises ValueError when a row has too few columns or a number does not parse."""
    n = len(records)
    widths = np.fromiter(map(str.count, records, itertools.repeat("\t")), np.int64, n) + 1
    if n and widths.min() < 3:
        raise ValueError("a record has fewer than 3 columns")
    if n and widths.min() == widths.max():  # the usual case: split every field at once, no list per line
        fields = "\t".join(records).split("\t")
        columns: list[Any] = [fields[k :: widths[0]] for k in range(widths[0])]
    else:
        columns = (
            list(itertools.zip_longest(*(tuple(line.split("\t")) for line in records))) if n else [()] * 3
        )

    def text(k: int, absent: str) -> np.ndarray:
        values = np.array(columns[k] if k < len(columns) else [absent] * n, dtype=object)
        values[widths <= k] = absent
        return values

    chrom = np.array(
        list(map(sys.intern, columns[0])), dtype=object
    )  # one string per chromosome, not per row
    start = np.array(columns[1], dtype=object).astype(np.int64)
    end = np.array(columns[2], dtype=object).astype(np.int64)
    strand = text(5, ".")
    summit = text(9, "-1").astype(np.int64)
    flagged = (
        (start < 0)
        | (end <= start)
        | ~np.isin(strand, ["+", "-", "."])
        | ((summit != -1) & ((summit < 0) | (summit >= end - start)))
    )
    if chrom_sizes is not None:
        size = pd.Series(chrom, dtype=object).map(chrom_sizes).to_numpy(dtype=np.float64, na_value=-1.0)
        flagged |= (size < 0) | (end > size)
    frame = pd.DataFrame(
        {
            "chrom": chrom,
            "start": start,
            "end": end,
            "name": text(3, "."),
            "score": text(4, "."),
            "strand": strand,
            "summit": summit,
        }
    )
    return frame, np.flatnonzero(flagged)


def _bed_record_problem(fields: list[str], chrom_sizes: dict[str, int] | None) -> str | None:
    """What is wrong with one BED record's fields, in the words of the error; None if nothing."""
    if len(fields) < 3:
        return f"expected at least 3 tab-separated columns (chrom, start, end), found {len(fields)}"
    chrom = fields[0]
    try:
        start, end = int(fields[1]), int(fields[2])
    except ValueError:
        return f"start and end must be integers, found {fields[1]!r} and {fields[2]!r}"
    if start < 0:
        return f"start must be >= 0, found {start}"
    if end <= start:
        return f"end must be greater than start, found start={start} end={end}"
    strand = fields[5] if len(fields) > 5 else "."
    if strand not in {"+", "-", "."}:
        return f"strand (column 6) must be '+', '-' or '.', found {strand!r}"
    if len(fields) >= 10:
        try:
            summit = int(fields[9])
        except ValueError:
            return f"narrowPeak summit (column 10) must be an integer, found {fields[9]!r}"
        if summit != -1 and not 0 <= summit < end - start:
            return (
                f"narrowPeak summit offset {summit} lies outside the peak (length {end - start}); expected "
                f"0 <= summit < {end - start}, or -1 for none"
            )
    if chrom_sizes is not None:
        if chrom not in chrom_sizes:
            return f"chromosome {chrom!r} is not in the genome (known: {', '.join(sorted(chrom_sizes)[:10])})"
        if end > chrom_sizes[chrom]:
            return f"end {end} is past the end of {chrom} (length {chrom_sizes[chrom]})"
    return None
