"""Reading a prepared dataset back (the training and evaluation side of ``biodl.data.shards``).

Contract:
- ``open_dataset(path)`` reads ``dataset.json`` (``path`` is that file or its folder) into a
  checked ``PreparedDataset`` (``biodl.data.manifest``, which says what is checked; it and
  ``SplitInfo`` are importable from here, with everything a reader needs).
- ``load_labels`` / ``load_metadata`` return one split's labels (float32, ``(n, T)``) and its
  metadata rows, both in shard-then-offset order; the metadata is checked to match the shards
  row for row, so predictions written beside it line up with their examples.
- ``open_dataset(path, fold=(i, k))`` is a cross-validation view for member ``i`` of ``k``
  (1-based) of a fold ensemble: the stored training split is cut into ``k`` folds (stratified
  by class for binary and multiclass tasks, a seeded shuffle otherwise; sizes differ by one at
  most; the same folds for every ``i``, drawn from the dataset's seed), and the view's
  ``validation`` split is fold ``i`` (early stopping watches it) while its ``train`` split is
  the other folds, both in stored order. The stored ``validation`` and ``test`` splits are
  left out of the view's training entirely; predictions and model selection read the dataset
  without a fold. Inputs keep the preparation's scaling (fitted on the whole training split).
- ``train_subset(dataset, rows)`` is a view whose ``train`` split is ``rows`` (sorted, distinct
  positions in the dataset's training split, e.g. ``biodl.training.learning_curve``'s nested
  subsets); ``validation`` and ``test`` are unchanged. Like a fold view it is a ``FoldView``
  (index and count 0: a subset, not a member), so every reader below follows it.
  ``load_labels``, ``load_metadata``, ``input_shards`` and ``biodl.training.batches.ShardBatches``
  all follow the view (the metadata rows keep their stored ``split`` value, ``train``).
- ``open_inputs`` / ``open_labels`` memory-map one split's shards (checked against the manifest)
  and ``ShardRows`` reads rows from them in any order with positioned reads (``os.preadv``,
  one call per run of consecutive rows) instead of through the maps: the data then passes
  through the OS page cache but not the process's resident memory, whereas every page of a
  memory map that is touched counts in RSS until the kernel reclaims it, so random access over
  a dataset larger than a memory cap would push RSS up to the data size.
  ``biodl.training.batches.ShardBatches`` streams batches with them for Keras. This module imports
  no TensorFlow, so steps that only read a dataset (evaluation, baselines, ensembles) start
  quickly.
- Inputs are float32; for DNA, when ``ambiguous`` is not ``"zeros"`` each position is divided by
  its channel sum (where > 0), so N becomes 0.25 per base and R 0.5 on A and G. Images are
  handed over in 0–255 units (the model normalises them). Regression labels are streamed
  standardised (``scale_targets``: training-split mean and standard deviation from
  ``dataset.json``); ``load_labels`` returns them in their own units.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from dataclasses import replace
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from biodl.core.errors import InputError, require, require_file
from biodl.core.files import load_npy
from biodl.data.format import INTEGER_COLUMNS, METADATA_COLUMNS
from biodl.data.manifest import FoldView, PreparedDataset, SplitInfo, is_int, read_prepared

__all__ = [
    "INPUT_DTYPES",
    "PreparedDataset",
    "ShardRows",
    "SplitInfo",
    "assign_folds",
    "fold_view",
    "train_subset",
    "input_shards",
    "load_labels",
    "load_metadata",
    "open_dataset",
    "open_inputs",
    "open_labels",
    "to_inputs",
]

INPUT_DTYPES = {"dna": np.uint8, "image": np.uint8, "table": np.float32}


def open_dataset(path: str | PathLike[str], fold: Sequence[int] | None = None) -> PreparedDataset:
    """Read and check ``dataset.json`` (``path`` may be the file or the folder holding it);
    with ``fold=(i, k)``, the cross-validation view of the module contract."""
    dataset = read_prepared(path)
    return dataset if fold is None else fold_view(dataset, fold)


def fold_view(dataset: PreparedDataset, fold: Sequence[int]) -> PreparedDataset:
    """``dataset`` seen by member ``fold = (i, k)`` of a fold ensemble (see the module contract)."""
    ok = (
        isinstance(fold, Sequence)
        and len(fold) == 2
        and all(is_int(v) for v in fold)
        and fold[1] >= 2
        and 1 <= fold[0] <= fold[1]
    )
    require(ok, "fold", None, f"expected (member i, folds k) with 1 <= i <= k and k >= 2, found {fold!r}")
    index, count = fold
    n = dataset.split("train").n
    require(
        n >= count,
        dataset.manifest,
        "splits.train.n",
        f"{n} training examples cannot be cut into {count} folds",
    )
    folds = assign_folds(_strata(dataset), count, dataset.seed)
    rows = {"train": np.flatnonzero(folds != index - 1), "validation": np.flatnonzero(folds == index - 1)}
    return replace(dataset, fold=FoldView(index, count, rows))


def train_subset(dataset: PreparedDataset, rows: np.ndarray) -> PreparedDataset:
    """``dataset`` with its training split cut down to ``rows`` (see the module contract)."""
    rows = np.asarray(rows, dtype=np.int64)
    n = dataset.n("train")
    require(
        len(rows) >= 1 and bool(np.all(np.diff(rows) > 0)) and rows[0] >= 0 and rows[-1] < n,
        dataset.manifest,
        "splits.train",
        f"a training subset needs sorted, distinct rows in 0..{n - 1}, found {len(rows)} rows",
    )
    view = dict(dataset.fold.rows) if dataset.fold is not None else {}
    _, train_rows = dataset.stored("train")
    view["train"] = rows if train_rows is None else train_rows[rows]
    return replace(dataset, fold=FoldView(0, 0, view))


def _strata(dataset: PreparedDataset) -> np.ndarray:
    """One stratum per class for single-label classification; one for everything else."""
    labels = load_labels(dataset, "train")
    if dataset.task == "binary":
        return labels[:, 0].astype(np.int64)
    if dataset.task == "multiclass":
        return labels.argmax(axis=1)
    return np.zeros(len(labels), dtype=np.int64)


def assign_folds(strata: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Fold (0-based) of each example: each stratum shuffled, then all dealt out in turn."""
    rng = np.random.default_rng([seed, count])
    order = np.concatenate([rng.permutation(np.flatnonzero(strata == s)) for s in np.unique(strata)])
    folds = np.empty(len(strata), dtype=np.int64)
    # Dealing continues across strata, so the fold sizes differ by one at most.
    folds[order] = np.arange(len(strata)) % count
    return folds


def _shard_file(dataset: PreparedDataset, shard: str, kind: str) -> Path:
    return require_file(dataset.root / f"{shard}.{kind}.npy", f"{kind} shard of {dataset.name}")


def _load_shard(path: Path) -> np.ndarray:
    try:
        return load_npy(path, mmap=True)
    except (ValueError, OSError) as error:
        raise InputError(path, None, f"not a readable .npy array ({error})") from error


def open_labels(dataset: PreparedDataset, split: str) -> list[np.ndarray]:
    """Memory-mapped label shards of ``split``, checked against the manifest."""
    n_targets = len(dataset.targets)
    arrays = []
    for shard in dataset.split(split).shards:
        path = _shard_file(dataset, shard, "y")
        y = _load_shard(path)
        require(
            y.ndim == 2 and y.shape[1] == n_targets,
            path,
            None,
            f"expected labels of shape (n, {n_targets}), found {y.shape}",
        )
        require(np.issubdtype(y.dtype, np.floating), path, None, f"expected float32 labels, found {y.dtype}")
        arrays.append(y)
    total, expected = sum(len(y) for y in arrays), dataset.split(split).n
    require(
        total == expected,
        dataset.manifest,
        f"splits.{split}.n",
        f"says {expected} examples but the shards hold {total}",
    )
    return arrays


def open_inputs(dataset: PreparedDataset, split: str, labels: list[np.ndarray]) -> list[np.ndarray]:
    """Memory-mapped input shards of ``split``, checked against their label shards."""
    dtype = np.dtype(INPUT_DTYPES[dataset.modality])
    arrays = []
    for shard, y in zip(dataset.split(split).shards, labels, strict=True):
        path = _shard_file(dataset, shard, "x")
        x = _load_shard(path)
        require(
            x.dtype == dtype,
            path,
            None,
            f"expected {dtype} inputs for a {dataset.modality} dataset, found {x.dtype}",
        )
        require(
            x.shape == (len(y), *dataset.input_shape),
            path,
            None,
            f"expected shape {(len(y), *dataset.input_shape)} (rows as in the label shard), found {x.shape}",
        )
        arrays.append(x)
    return arrays


def input_shards(dataset: PreparedDataset, split: str) -> list[np.ndarray]:
    """The input shards of ``split``, memory-mapped and checked against the manifest (a fold
    view's split: its rows read into one array)."""
    stored, rows = dataset.stored(split)
    arrays = open_inputs(dataset, stored, open_labels(dataset, stored))
    return arrays if rows is None else [ShardRows(arrays).read(rows)]


def load_labels(dataset: PreparedDataset, split: str) -> np.ndarray:
    """All labels of ``split`` as float32 ``(n, T)``, in stored order."""
    stored, rows = dataset.stored(split)
    arrays = open_labels(dataset, stored)
    if not arrays:
        return np.zeros((0, len(dataset.targets)), dtype=np.float32)
    labels = np.concatenate(arrays).astype(np.float32)
    return labels if rows is None else labels[rows]


def load_metadata(dataset: PreparedDataset, split: str) -> pd.DataFrame:
    """Metadata rows of ``split``, checked to follow the shards row for row."""
    split, view_rows = dataset.stored(split)
    path = require_file(dataset.root / "metadata.tsv", f"metadata of {dataset.name}")
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in METADATA_COLUMNS[dataset.modality] if c not in frame.columns]
    require(not missing, path, "header", f"missing column(s) {', '.join(missing)}")
    rows = frame[frame["split"] == split]
    lines = rows.index.to_numpy() + 2  # 1-based file lines, after the header
    rows = rows.reset_index(drop=True)
    for column in INTEGER_COLUMNS[dataset.modality]:
        values = pd.to_numeric(rows[column], errors="coerce")
        bad = np.flatnonzero(values.isna() | (values % 1 != 0))
        if len(bad):
            raise InputError(
                path,
                f"line {lines[bad[0]]}",
                f"column {column} must be an integer, found {rows[column][bad[0]]!r}",
            )
        rows[column] = values.astype("int64")
    sizes = [len(y) for y in open_labels(dataset, split)]
    expected_shard = np.repeat(np.array(dataset.split(split).shards, dtype=object), sizes)
    expected_offset = (
        np.concatenate([np.arange(size) for size in sizes]) if sizes else np.zeros(0, dtype=np.int64)
    )
    require(
        len(rows) == len(expected_shard),
        path,
        f"split {split}",
        f"expected {len(expected_shard)} rows, found {len(rows)}",
    )
    mismatch = np.flatnonzero(
        (rows["shard"].to_numpy() != expected_shard) | (rows["offset"].to_numpy() != expected_offset)
    )
    if len(mismatch):
        i = mismatch[0]
        raise InputError(
            path,
            f"line {lines[i]}",
            f"expected shard {expected_shard[i]} offset {expected_offset[i]}, "
            f"found {rows['shard'][i]} offset {rows['offset'][i]}",
        )
    return rows if view_rows is None else rows.iloc[view_rows].reset_index(drop=True)


def to_inputs(stored: np.ndarray, ambiguous: str) -> np.ndarray:
    """Stored inputs to float32 network input (DNA: ambiguous bases spread to sum 1)."""
    x = stored.astype(np.float32)
    if ambiguous != "zeros":
        total = x.sum(axis=-1, keepdims=True)
        np.divide(x, total, out=x, where=total > 0)
    return x


class ShardRows:
    """Rows of memory-mapped shards (one after another) read with positioned reads from their
    files (see the module contract). Thread-safe: every read names its own file offset."""

    def __init__(self, shards: list[np.ndarray]) -> None:
        self.paths: list[Path] = []
        offsets = []
        for shard in shards:
            if not (isinstance(shard, np.memmap) and shard.filename and shard.flags.c_contiguous):
                raise InputError(
                    getattr(shard, "filename", None) or "shard",
                    None,
                    "expected a memory-mapped .npy array stored row by row (C order)",
                )
            self.paths.append(Path(shard.filename))
            offsets.append(shard.offset)
        self.dtype = shards[0].dtype if shards else np.dtype(np.float32)
        self.row_shape: tuple[int, ...] = shards[0].shape[1:] if shards else ()
        self.row_bytes = self.dtype.itemsize * int(np.prod(self.row_shape))
        self.offsets = np.array(offsets, dtype=np.int64)
        self.bounds = np.cumsum([0] + [len(shard) for shard in shards])
        self.n = int(self.bounds[-1])
        self._files = [os.open(path, os.O_RDONLY) for path in self.paths]
        weakref.finalize(self, _close_all, list(self._files))

    def read(self, wanted: np.ndarray) -> np.ndarray:
        """Rows ``wanted`` (indices into the shards one after another) in the order asked."""
        wanted = np.asarray(wanted, dtype=np.int64)
        out = np.empty((len(wanted), *self.row_shape), dtype=self.dtype)
        if not len(wanted):
            return out
        in_order = bool(np.all(wanted[1:] >= wanted[:-1]))
        order = None if in_order else np.argsort(wanted, kind="stable")
        rows = wanted if order is None else wanted[order]
        if rows[0] < 0 or rows[-1] >= self.n:
            raise IndexError(f"rows {rows[0]}..{rows[-1]} asked of {self.n}")
        # Reading in file order turns runs of consecutive rows into one call each.
        buffer = out if order is None else np.empty_like(out)
        shard = np.searchsorted(self.bounds, rows, side="right") - 1
        first = np.flatnonzero(np.concatenate([[True], (np.diff(rows) != 1) | (np.diff(shard) != 0)]))
        last = np.append(first[1:], len(rows))
        where = self.offsets[shard[first]] + (rows[first] - self.bounds[shard[first]]) * self.row_bytes
        view = buffer.reshape(-1).view(np.uint8).data  # the buffer's bytes, written in place
        # One entry per run of consecutive rows in each list.
        for k, offset, a, b in zip(
            shard[first].tolist(), where.tolist(), first.tolist(), last.tolist(), strict=True
        ):
            size = (b - a) * self.row_bytes
            if os.preadv(self._files[k], [view[a * self.row_bytes : b * self.row_bytes]], offset) != size:
                raise InputError(
                    self.paths[k],
                    None,
                    f"file ends before row {rows[b - 1] - self.bounds[k]}; was it truncated?",
                )
        if order is not None:
            out[order] = buffer
        return out


def _close_all(files: list[int]) -> None:
    for descriptor in files:
        os.close(descriptor)
