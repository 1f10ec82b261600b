"""Readers and writers for the workflow's files.

Contract:
- ``atomic_path(target)`` yields a temporary sibling path; the target appears (by rename) only
  when the block finishes without an exception, so an interrupted step never leaves an output
  that looks complete. Every writer in the package goes through it. Temporary siblings left by
  a killed writer are deleted when the target is next written (``atomic_dir`` likewise).
- ``write_tsv`` / ``write_json`` / ``save_npy`` are atomic.
- ``read_bed`` reads BED or narrowPeak files (header/track/browser lines skipped), checks every
  record and raises ``InputError`` naming the file and line.
- ``open_fasta`` opens a FASTA with pyfaidx, keeping its index out of the input folder.
- ``SPLITS``, ``TASKS``, ``MODALITIES``, ``METADATA_COLUMNS`` / ``INTEGER_COLUMNS`` (per
  modality) and ``read_manifest`` define the prepared-dataset format shared by the steps that
  write it (``biodl.shards``) and those that read it (``biodl.dataset``).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, sep="\t", index=False)


def write_json(data: Any, target: str | PathLike[str]) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def save_npy(array: np.ndarray, target: str | PathLike[str]) -> None:
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, array, allow_pickle=False)


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
    """Open ``path`` with pyfaidx, building its index in ``index_dir`` (never beside the input).

    Upper-casing is left to the encoder; malformed files raise ``InputError``.
    """
    path = require_file(path, "FASTA file", "FASTA records: a '>name' line, then lines of sequence")
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    index = index_dir / (path.name + ".fai")
    _require_uncompressed(path, "FASTA file")
    with open(path, "rb") as handle:
        first = handle.readline().strip()
    if not first.startswith(b">"):
        raise InputError(path, "line 1", f"expected a FASTA header starting with '>', found {first[:40].decode(errors='replace')!r}")
    try:
        return pyfaidx.Fasta(str(path), indexname=str(index), as_raw=True, rebuild=True)
    except (pyfaidx.FastaIndexingError, pyfaidx.FetchError, ValueError) as error:
        # pyfaidx names neither the line nor the fix; find them (only on this failure path).
        where, problem = _fasta_layout_problem(path) or (None, f"not a valid FASTA file ({error})")
        raise InputError(path, where, problem) from error


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


def read_bed(path: str | PathLike[str], chrom_sizes: dict[str, int] | None = None) -> pd.DataFrame:
    """Read a BED (3 to 6+ columns) or narrowPeak file into a frame.

    Columns: chrom, start, end, name, score, strand (``.`` when absent), summit (offset from
    start, -1 when absent) and ``line`` (1-based line number in the file, for messages).
    When ``chrom_sizes`` is given, chromosomes and end coordinates are checked against it.
    """
    path = require_file(path, "BED file", "one region per line: chrom, start, end (tab-separated)")
    _require_uncompressed(path, "BED file")
    rows: list[tuple[str, int, int, str, str, str, int, int]] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.split("\t")
            where = f"line {number}"
            if len(fields) < 3:
                raise InputError(path, where, f"expected at least 3 tab-separated columns (chrom, start, end), found {len(fields)}")
            chrom = fields[0]
            try:
                start, end = int(fields[1]), int(fields[2])
            except ValueError:
                raise InputError(path, where, f"start and end must be integers, found {fields[1]!r} and {fields[2]!r}") from None
            if start < 0:
                raise InputError(path, where, f"start must be >= 0, found {start}")
            if end <= start:
                raise InputError(path, where, f"end must be greater than start, found start={start} end={end}")
            name = fields[3] if len(fields) > 3 else "."
            score = fields[4] if len(fields) > 4 else "."
            strand = fields[5] if len(fields) > 5 else "."
            if strand not in {"+", "-", "."}:
                raise InputError(path, where, f"strand (column 6) must be '+', '-' or '.', found {strand!r}")
            summit = -1
            if len(fields) >= 10:
                try:
                    summit = int(fields[9])
                except ValueError:
                    raise InputError(path, where, f"narrowPeak summit (column 10) must be an integer, found {fields[9]!r}") from None
                if summit != -1 and not 0 <= summit < end - start:
                    raise InputError(path, where, f"narrowPeak summit offset {summit} lies outside the peak (length "
                                                  f"{end - start}); expected 0 <= summit < {end - start}, or -1 for none")
            if chrom_sizes is not None:
                if chrom not in chrom_sizes:
                    raise InputError(path, where, f"chromosome {chrom!r} is not in the genome (known: {', '.join(sorted(chrom_sizes)[:10])})")
                if end > chrom_sizes[chrom]:
                    raise InputError(path, where, f"end {end} is past the end of {chrom} (length {chrom_sizes[chrom]})")
            rows.append((chrom, start, end, name, score, strand, summit, number))
    columns = ["chrom", "start", "end", "name", "score", "strand", "summit", "line"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"start": "int64", "end": "int64", "summit": "int64", "line": "int64"})
