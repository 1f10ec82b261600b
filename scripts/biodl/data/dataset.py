"""Reading a prepared dataset back (the training and evaluation side of ``biodl.data.shards``).

Contract:
- ``open_dataset(path)`` reads ``dataset.json`` (``path`` is that file or its folder), checks
  every field the training and evaluation steps rely on and raises ``InputError`` otherwise.
  Input shapes per modality: dna ``[length, 4]`` (uint8 one-hot), image ``[height, width,
  channels]`` (uint8), table ``[features]`` (float32, already scaled by the preparation step).
  Regression datasets have no classes; their targets are the label columns.
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
  ``load_labels``, ``load_metadata``, ``input_shards`` and ``biodl.training.batches.ShardBatches`` all follow the view
  (the metadata rows keep their stored ``split`` value, ``train``).
- ``open_inputs`` / ``open_labels`` memory-map one split's shards (checked against the manifest)
  and ``ShardRows`` reads rows from them in any order with positioned reads (``os.preadv``,
  one call per run of consecutive rows) instead of through the maps: the data then passes
  through the OS page cache but not the process's resident memory, whereas every page of a
  memory map that is touched counts in RSS until the kernel reclaims it, so random access over
  a dataset larger than a memory cap would push RSS up to the data size.
  ``biodl.training.batches.ShardBatches`` streams batches with them for Keras. This module imports no
  TensorFlow, so steps that only read a dataset (evaluation, baselines, ensembles) start
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
from dataclasses import dataclass, field, replace
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from biodl.core.errors import InputError, require, require_file
from biodl.core.files import load_npy
from biodl.core.vocabulary import MODALITIES, SPLITS
from biodl.data.format import INTEGER_COLUMNS, METADATA_COLUMNS, read_manifest

AMBIGUOUS_MODES = ("zeros", "uniform", "iupac")
INPUT_DTYPES = {"dna": np.uint8, "image": np.uint8, "table": np.float32}


@dataclass(frozen=True)
class SplitInfo:
    n: int
    shards: tuple[str, ...]


@dataclass(frozen=True)
class PreparedDataset:
    """The checked content of a ``dataset.json``; ``root`` is the folder holding it."""

    root: Path
    name: str
    modality: str
    task: str
    classes: tuple[str, ...]
    targets: tuple[str, ...]
    input_shape: tuple[int, ...]
    ambiguous: str
    splits: dict[str, SplitInfo]
    seed: int
    feature_names: tuple[str, ...] = ()
    target_mean: tuple[float, ...] = ()
    target_std: tuple[float, ...] = ()
    channel_mean: tuple[float, ...] = ()
    channel_std: tuple[float, ...] = ()
    fold: FoldView | None = field(default=None, compare=False)

    def scale_targets(self, y: np.ndarray) -> np.ndarray:
        """Regression targets in training-split standard deviations (what the network learns)."""
        return (y - np.asarray(self.target_mean, dtype=np.float32)) / np.asarray(
            self.target_std, dtype=np.float32
        )

    def unscale_targets(self, y: np.ndarray) -> np.ndarray:
        """Network outputs of a regression back in the target's own units."""
        return y * np.asarray(self.target_std) + np.asarray(self.target_mean)

    @property
    def manifest(self) -> Path:
        return self.root / "dataset.json"

    def n(self, split: str) -> int:
        """Number of examples in ``split`` (of the fold view, if this is one)."""
        stored, rows = self.stored(split)
        return self.split(stored).n if rows is None else len(rows)

    def split(self, split: str) -> SplitInfo:
        """The stored split (shards and size), whatever the fold view."""
        require(
            split in self.splits,
            self.manifest,
            "splits",
            f"has no split {split!r} (found: {', '.join(self.splits)})",
        )
        return self.splits[split]

    def stored(self, split: str) -> tuple[str, np.ndarray | None]:
        """Where ``split``'s examples are stored: (stored split, row indices into it or None for all)."""
        if self.fold is not None and split in self.fold.rows:
            return "train", self.fold.rows[split]
        return split, None


@dataclass(frozen=True)
class FoldView:
    """Member ``index`` of ``count`` (1-based): rows of the stored training split per view split."""

    index: int
    count: int
    rows: dict[str, np.ndarray]


def open_dataset(path: str | PathLike[str], fold: Sequence[int] | None = None) -> PreparedDataset:
    """Read and check ``dataset.json`` (``path`` may be the file or the folder holding it);
    with ``fold=(i, k)``, the cross-validation view of the module contract."""
    manifest, raw = read_manifest(path)
    for key in ("name", "modality", "task", "classes", "targets", "input_shape", "splits", "seed"):
        require(key in raw, manifest, key, "required field is missing")
    modality = raw["modality"]
    require(
        modality in MODALITIES,
        manifest,
        "modality",
        f"expected one of {', '.join(MODALITIES)}, found {modality!r}",
    )
    ambiguous = raw.get("ambiguous", "zeros")
    require(
        ambiguous in AMBIGUOUS_MODES,
        manifest,
        "ambiguous",
        f"expected one of {', '.join(AMBIGUOUS_MODES)}, found {ambiguous!r}",
    )
    require(_is_int(raw["seed"]), manifest, "seed", f"expected an integer, found {raw['seed']!r}")
    classes = _names(raw["classes"], manifest, "classes", allow_empty=raw["task"] == "regression")
    targets = _names(raw["targets"], manifest, "targets")
    _check_targets(raw["task"], classes, targets, manifest)
    input_shape = _input_shape(modality, raw["input_shape"], manifest)
    feature_names = _names(
        raw.get("feature_names", []), manifest, "feature_names", allow_empty=modality != "table"
    )
    require(
        modality != "table" or len(feature_names) == input_shape[0],
        manifest,
        "feature_names",
        f"expected {input_shape[0]} names (one per input feature), found {len(feature_names)}",
    )
    scaling = (
        _scaling(raw, ("target_mean", "target_std"), len(targets), manifest)
        if raw["task"] == "regression"
        else ((), ())
    )
    channels = (
        _scaling(raw, ("channel_mean", "channel_std"), input_shape[-1], manifest)
        if modality == "image"
        else ((), ())
    )
    dataset = PreparedDataset(
        root=manifest.parent,
        name=str(raw["name"]),
        modality=modality,
        task=raw["task"],
        classes=classes,
        targets=targets,
        input_shape=input_shape,
        ambiguous=ambiguous,
        splits={split: _split_info(raw["splits"], split, manifest) for split in SPLITS},
        seed=raw["seed"],
        feature_names=feature_names,
        target_mean=scaling[0],
        target_std=scaling[1],
        channel_mean=channels[0],
        channel_std=channels[1],
    )
    return dataset if fold is None else fold_view(dataset, fold)


def fold_view(dataset: PreparedDataset, fold: Sequence[int]) -> PreparedDataset:
    """``dataset`` seen by member ``fold = (i, k)`` of a fold ensemble (see the module contract)."""
    ok = (
        isinstance(fold, Sequence)
        and len(fold) == 2
        and all(_is_int(v) for v in fold)
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


def _scaling(
    raw: dict, keys: tuple[str, str], n: int, manifest: Path
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A (mean, standard deviation) pair of training-split statistics, ``n`` values each."""
    values = []
    for key in keys:
        value = raw.get(key)
        ok = (
            isinstance(value, list)
            and len(value) == n
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in value)
        )
        require(ok, manifest, key, f"expected {n} finite number(s), found {value!r}")
        values.append(tuple(float(v) for v in value))
    require(all(v > 0 for v in values[1]), manifest, keys[1], f"expected values > 0, found {list(values[1])}")
    return values[0], values[1]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _names(value: object, manifest: Path, key: str, allow_empty: bool = False) -> tuple[str, ...]:
    ok = (
        isinstance(value, list)
        and (allow_empty or len(value) > 0)
        and all(isinstance(v, str) and v and v.isprintable() and "\t" not in v for v in value)
    )
    # Names become TSV column suffixes (p_<class>), so tabs and line breaks are refused.
    require(
        ok,
        manifest,
        key,
        f"expected a {'' if allow_empty else 'non-empty '}list of non-empty printable names without tabs, found {value!r}",
    )
    require(len(set(value)) == len(value), manifest, key, f"names must be unique, found {value}")
    return tuple(value)


def _check_targets(task: str, classes: tuple[str, ...], targets: tuple[str, ...], manifest: Path) -> None:
    if task == "regression":
        require(not classes, manifest, "classes", f"a regression task has no classes, found {list(classes)}")
        return
    if task == "binary":
        require(
            len(classes) == 2,
            manifest,
            "classes",
            f"a binary task needs [negative, positive], found {list(classes)}",
        )
        expected = classes[1:]
    else:
        require(
            len(classes) >= 2,
            manifest,
            "classes",
            f"a {task} task needs at least two classes, found {list(classes)}",
        )
        expected = classes
    require(
        targets == expected,
        manifest,
        "targets",
        f"for a {task} task expected {list(expected)}, found {list(targets)}",
    )


def _input_shape(modality: str, value: object, manifest: Path) -> tuple[int, ...]:
    expected = {
        "dna": "[length >= 1, 4]",
        "image": "[height, width, channels 1-4]",
        "table": "[features >= 1]",
    }[modality]
    ok = (
        isinstance(value, list)
        and all(_is_int(v) and v >= 1 for v in value)
        and (
            (modality == "dna" and len(value) == 2 and value[1] == 4)
            or (modality == "image" and len(value) == 3 and value[2] <= 4)
            or (modality == "table" and len(value) == 1)
        )
    )
    require(ok, manifest, "input_shape", f"expected {expected} for a {modality} dataset, found {value!r}")
    return tuple(value)


def _split_info(splits: object, split: str, manifest: Path) -> SplitInfo:
    where = f"splits.{split}"
    require(isinstance(splits, dict) and split in splits, manifest, where, "required split is missing")
    entry = splits[split]
    require(isinstance(entry, dict), manifest, where, "expected an object with 'n' and 'shards'")
    n, shards = entry.get("n"), entry.get("shards")
    require(_is_int(n) and n >= 0, manifest, f"{where}.n", f"expected a count >= 0, found {n!r}")
    require(
        isinstance(shards, list) and all(isinstance(s, str) and s for s in shards),
        manifest,
        f"{where}.shards",
        "expected a list of shard names",
    )
    require(n == 0 or len(shards) > 0, manifest, f"{where}.shards", f"{n} examples but no shards")
    return SplitInfo(n=n, shards=tuple(shards))


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
    for shard, y in zip(dataset.split(split).shards, labels, strict=False):
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
            f"expected shard {expected_shard[i]} offset {expected_offset[i]}, found {rows['shard'][i]} offset {rows['offset'][i]}",
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
        for shard in shards:
            ok = isinstance(shard, np.memmap) and shard.flags.c_contiguous
            require(
                ok,
                getattr(shard, "filename", "shard"),
                None,
                "expected a memory-mapped .npy array stored row by row (C order)",
            )
        self.dtype = shards[0].dtype if shards else np.dtype(np.float32)
        self.row_shape: tuple[int, ...] = shards[0].shape[1:] if shards else ()
        self.row_bytes = self.dtype.itemsize * int(np.prod(self.row_shape))
        self.paths = [Path(shard.filename) for shard in shards]
        self.offsets = np.array([shard.offset for shard in shards], dtype=np.int64)
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
        view = memoryview(buffer.reshape(-1).view(np.uint8))
        for k, offset, a, b in zip(
            shard[first].tolist(), where.tolist(), first.tolist(), last.tolist(), strict=False
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
