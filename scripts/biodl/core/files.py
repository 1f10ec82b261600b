"""Writing the workflow's files safely, and deleting only what a run owns.

Contract:
- ``atomic_path(target)`` yields a temporary sibling path; the target appears (by rename) only
  when the block finishes without an exception, so an interrupted step never leaves an output
  that looks complete. Every writer in the package goes through it. Temporary siblings left by
  a killed writer are deleted when the target is next written (``atomic_dir`` likewise).
- ``write_tsv`` / ``write_json`` / ``save_npy`` are atomic; ``load_npy`` never allows pickles.
- ``remove_tree(path, within)`` is the only way the package deletes a folder it did not just
  create: it resolves both real paths (symbolic links and ``..`` followed) and refuses, with
  ``UnsafeDeletion``, anything that is not strictly inside ``within``. ``RunFolder(root,
  dataset, model)`` is a run's own folder ``root/dataset/model`` (checkpoints, TensorBoard
  events): both names must be plain path components (``PLAIN_NAME``, as the config schema
  demands), and ``RunFolder.remove()`` deletes that folder only, never a sibling run's folder,
  the root or anything above it.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


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
        raise UnsafeDeletion(
            f"refusing to delete {path} (resolves to {real}): only folders inside {root} may be deleted"
        )
    shutil.rmtree(real, ignore_errors=True)


# A dataset or model name: one path component (scripts/biodl/config/config.schema.yaml, $defs.name).
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
                raise UnsafeDeletion(
                    f"{what} name {name!r} is not one plain path component; refusing to use it in a path"
                )

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
        elif (
            pd.api.types.infer_dtype(column, skipna=False) in ("string", "empty") and not column.isna().any()
        ):
            columns.append(column.tolist())
        else:
            return None
    rows = ["\t".join(frame.columns)] * header + list(map("\t".join, zip(*columns, strict=True)))
    text = "\n".join(rows) + "\n" if rows else ""
    lines = len(rows)
    if (
        text.count("\t") != lines * (frame.shape[1] - 1)
        or text.count("\n") != lines
        or '"' in text
        or "\r" in text
    ):
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
        # The array's own bytes as a memoryview: slices of it are written without a copy.
        data = array.reshape(-1).view(np.uint8).data
        for first in range(0, len(data), NPY_WRITE):
            handle.write(data[first : first + NPY_WRITE])


def load_npy(path: str | PathLike[str], mmap: bool = False) -> np.ndarray:
    """Load an array written by ``save_npy``; pickles are never allowed."""
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
