"""Readers and writers for the workflow's files.

Contract:
- ``atomic_path(target)`` yields a temporary sibling path; the target appears (by rename) only
  when the block finishes without an exception, so an interrupted step never leaves an output
  that looks complete. Every writer in the package goes through it. Temporary siblings left by
  a killed writer are deleted when the target is next written (``atomic_dir`` likewise).
- ``write_tsv`` / ``write_json`` / ``save_npy`` are atomic.
- ``remove_tree(path, within)`` is the only way the package deletes a folder it did not just
  create: it resolves both real paths (symbolic links and ``..`` followed) and refuses, with
  ``UnsafeDeletion``, anything that is not strictly inside ``within``. ``RunFolder(root,
  dataset, model)`` is a run's own folder ``root/dataset/model`` (checkpoints, TensorBoard
  events): both names must be plain path components (``PLAIN_NAME``, as the config schema
  demands), and ``RunFolder.remove()`` deletes that folder only, never a sibling run's folder,
  the root or anything above it.
- ``read_bed`` reads BED or narrowPeak files (header/track/browser lines skipped), checks every
  record and raises ``InputError`` naming the file and line.
- ``open_fasta`` opens a FASTA with pyfaidx, using its own up-to-date ``.fai`` when it has one
  and never writing an index into the input folder.
- ``SPLITS``, ``TASKS``, ``MODALITIES``, ``METADATA_COLUMNS`` / ``INTEGER_COLUMNS`` (per
  modality) and ``read_manifest`` define the prepared-dataset format shared by the steps that
  write it (``biodl.shards``) and those that read it (``biodl.dataset``).
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyfaidx

from biodl.validate import InputError, require_file

GZIP_MAGIC = b"\x1f\x8b"
SPLITS = ("train", "validation", "test")
TASKS = ("binary", "multiclass", "multilabel", "regression")
MODALITIES = ("dna", "image", "table")
# Every example's provenance, per modality: where it sits in the shards (split, shard, offset),
# where it came from, and its label. ``group`` is what splits must keep together (patient, slide).
METADATA_COLUMNS = {
    "dna": ("split", "shard", "offset", "source", "name", "chrom", "start", "end", "strand", "label"),
    "image": ("split", "shard", "offset", "image", "group", "level", "x", "y", "tissue_fraction", "label"),
    "table": ("split", "shard", "offset", "source", "row", "id", "group", "label"),
}
INTEGER_COLUMNS = {"dna": ("offset", "start", "end"), "image": ("offset", "level", "x", "y"), "table": ("offset", "row")}


@contextmanager
def atomic_path(target: str | PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    The temporary name ends in the target's suffix, for writers that insist on one (Keras).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target, f".tmp{target.suffix}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextmanager
def atomic_dir(target: str | PathLike[str]) -> Iterator[Path]:
    """Like ``atomic_path`` for a directory: filled under a temporary name, then renamed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target, ".tmp")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


class UnsafeDeletion(RuntimeError):
    """A deletion that would reach outside the folder it is confined to (a bug or a hostile name)."""


def remove_tree(path: str | PathLike[str], within: str | PathLike[str]) -> None:
    """Delete the folder ``path`` if its real path lies strictly inside ``within``'s; else raise."""
    real, root = Path(path).resolve(), Path(within).resolve()
    if real == root or not real.is_relative_to(root):
        raise UnsafeDeletion(f"refusing to delete {path} (resolves to {real}): only folders inside {root} may be deleted")
    shutil.rmtree(real, ignore_errors=True)


# A dataset or model name: one path component (workflow/schemas/config.schema.yaml, $defs.name).
PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class RunFolder:
    """A run's own folder ``root/dataset/model``: the one folder its clean-up may delete."""

    root: Path
    dataset: str
    model: str

    def __post_init__(self) -> None:
        for what, name in (("dataset", self.dataset), ("model", self.model)):
            if not PLAIN_NAME.fullmatch(name):
                raise UnsafeDeletion(f"{what} name {name!r} is not one plain path component; refusing to use it in a path")

    @property
    def path(self) -> Path:
        return Path(self.root) / self.dataset / self.model

    def remove(self) -> None:
        remove_tree(self.path, within=self.root)


def _remove_leftovers(target: Path, suffix: str) -> None:
    """Delete temporary siblings of ``target`` left by a killed writer (SIGKILL skips clean-up).

    Safe because one target has one writer at a time (Snakemake runs one job per output).
    """
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*{suffix}"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def write_tsv(frame: pd.DataFrame, target: str | PathLike[str]) -> None:
    text = tsv_text(frame)
    with atomic_path(target) as tmp:
        tmp.write_bytes(text.encode("utf-8"))


def tsv_text(frame: pd.DataFrame, header: bool = True) -> str:
    """``frame.to_csv(sep="\\t", index=False, header=header)``; plain frames take a faster road."""
    text = _plain_tsv(frame, header)
    return frame.to_csv(sep="\t", index=False, header=header) if text is None else text


def _plain_tsv(frame: pd.DataFrame, header: bool) -> str | None:
    """The text pandas writes for a frame of integer, boolean and text columns, made by joining
    strings (several times faster: a prepared dataset's metadata has a row per example).

    None, for pandas to write, when a column holds anything else (floats, missing values), a
    field would be quoted (a tab, quote or line break in it) or there is a single column
    (pandas quotes an empty lone field).
    """
    if frame.shape[1] < 2 or not all(isinstance(name, str) for name in frame.columns):
        return None
    columns = []
    for k in range(frame.shape[1]):
        column = frame.iloc[:, k]
        if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iub":
            columns.append(list(map(str, column.tolist())))
        elif pd.api.types.infer_dtype(column, skipna=False) in ("string", "empty") and not column.isna().any():
            columns.append(column.tolist())
        else:
            return None
    rows = ["\t".join(frame.columns)] * header + list(map("\t".join, zip(*columns)))
    text = "\n".join(rows) + "\n" if rows else ""
    lines = len(rows)
    if text.count("\t") != lines * (frame.shape[1] - 1) or text.count("\n") != lines or '"' in text or "\r" in text:
        return None
    return text


def write_json(data: Any, target: str | PathLike[str]) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


NPY_WRITE = 1 << 20  # bytes per write() of an array's data


def save_npy(array: np.ndarray, target: str | PathLike[str]) -> None:
    """``np.save`` (no pickles), atomically, byte for byte; a C-ordered array's data go out in
    1 MiB writes. ``np.save`` writes a shard's tens of MB in one ``write()``, which cost the
    kernel five times more CPU than the same bytes in 1 MiB pieces on the (virtual) machines
    the benchmarks ran on: half of all the time spent preparing a DNA dataset.
    """
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        if not array.flags.c_contiguous or array.dtype.hasobject or array.dtype.names is not None:
            np.save(handle, array, allow_pickle=False)
            return
        # Format 1.0, as np.save picks for any dtype without field names (a header that needs
        # 2.0 takes more than 64 dimensions).
        np.lib.format.write_array_header_1_0(handle, np.lib.format.header_data_from_array_1_0(array))
        data = array.reshape(-1).view(np.uint8)
        for first in range(0, len(data), NPY_WRITE):
            handle.write(data[first:first + NPY_WRITE])


def load_npy(path: str | PathLike[str], mmap: bool = False) -> np.ndarray:
    """Load an array written by ``save_npy``; pickles are never allowed."""
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)


def read_manifest(path: str | PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """Read a prepared dataset's ``dataset.json`` (the file or its folder); check its task.

    Returns the manifest's path and its content.
    """
    path = Path(path)
    manifest = require_file(path / "dataset.json" if path.is_dir() else path, "dataset manifest (dataset.json)")
    try:
        raw = json.loads(manifest.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(manifest, None, f"not valid JSON ({error})") from error
    if not isinstance(raw, dict):
        raise InputError(manifest, None, "expected a JSON object")
    if raw.get("task") not in TASKS:
        raise InputError(manifest, "task", f"expected one of {', '.join(TASKS)}, found {raw.get('task')!r}")
    return manifest, raw


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
        raise InputError(path, "line 1", f"expected a FASTA header starting with '>', found {first[:40].decode(errors='replace')!r}")
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
                if around_start[:1] != b"\n" or around_start[1:] in (b"", b">", b"\n", b"\r") \
                        or after_end not in (b"", b"\n", b"\r"):
                    return False
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return False
    return True


def _require_uncompressed(path: Path, what: str) -> None:
    """Refuse a gzip file up front: read as text it only gives a confusing first-line error."""
    with open(path, "rb") as handle:
        if handle.read(2) == GZIP_MAGIC:
            raise InputError(path, None, f"is gzip-compressed; expected an uncompressed {what} (decompress it, e.g. "
                                         f"gunzip -k {path.name}, and give the decompressed file in the config)")


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
                    return f"line {number}", (f"duplicate record name {name!r} (first on line {first_line[name]}); "
                                              "expected every record to have its own name")
                first_line[name], width, short_line = number, 0, 0
                continue
            if not line:
                continue
            if short_line or (width and len(line) > width):
                bad = short_line or number
                return f"line {bad}", (f"sequence line of record {name!r} is not {width} bases wide like the lines "
                                       "before it; expected every line of a record but its last to have the same "
                                       "length (re-wrap the file to one line width)")
            if not width:
                width = len(line)
            elif len(line) < width:
                short_line = number
    return None


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
    _require_uncompressed(path, "BED file")
    frames = []
    read = 0
    with open(path, encoding="utf-8", errors="replace") as handle:  # text mode turns \r\n and \r into \n
        while text := handle.read(BED_BLOCK):
            lines = (text + handle.readline()).removesuffix("\n").split("\n")
            frames.append(_bed_block(path, lines, read, chrom_sizes))
            read += len(lines)
    kept = [frame for frame in frames if len(frame)] or frames[:1]
    return pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0]


def _bed_block(path: Path, lines: list[str], first: int, chrom_sizes: dict[str, int] | None) -> pd.DataFrame:
    """Parse and check lines ``first + 1``... of a BED file; raise InputError at the first bad record."""
    if _may_skip_some(lines):
        is_record = np.fromiter((bool(line.strip()) and not line.startswith(SKIPPED_PREFIXES) for line in lines), bool,
                                len(lines))
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
        columns: list[Any] = [fields[k::widths[0]] for k in range(widths[0])]
    else:
        columns = list(itertools.zip_longest(*(tuple(line.split("\t")) for line in records))) if n else [()] * 3

    def text(k: int, absent: str) -> np.ndarray:
        values = np.array(columns[k] if k < len(columns) else [absent] * n, dtype=object)
        values[widths <= k] = absent
        return values

    chrom = np.array(list(map(sys.intern, columns[0])), dtype=object)  # one string per chromosome, not per row
    start = np.array(columns[1], dtype=object).astype(np.int64)
    end = np.array(columns[2], dtype=object).astype(np.int64)
    strand = text(5, ".")
    summit = text(9, "-1").astype(np.int64)
    flagged = (start < 0) | (end <= start) | ~np.isin(strand, ["+", "-", "."]) \
        | ((summit != -1) & ((summit < 0) | (summit >= end - start)))
    if chrom_sizes is not None:
        size = pd.Series(chrom, dtype=object).map(chrom_sizes).to_numpy(dtype=np.float64, na_value=-1.0)
        flagged |= (size < 0) | (end > size)
    frame = pd.DataFrame({"chrom": chrom, "start": start, "end": end, "name": text(3, "."), "score": text(4, "."),
                          "strand": strand, "summit": summit})
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
            return (f"narrowPeak summit offset {summit} lies outside the peak (length {end - start}); expected "
                    f"0 <= summit < {end - start}, or -1 for none")
    if chrom_sizes is not None:
        if chrom not in chrom_sizes:
            return f"chromosome {chrom!r} is not in the genome (known: {', '.join(sorted(chrom_sizes)[:10])})"
        if end > chrom_sizes[chrom]:
            return f"end {end} is past the end of {chrom} (length {chrom_sizes[chrom]})"
    return None
