"""Reading a prepared dataset back (the training and evaluation side of ``biodl.shards``).

Contract:
- ``open_dataset(path)`` reads ``dataset.json`` (``path`` is that file or its folder), checks
  every field the training and evaluation steps rely on and raises ``InputError`` otherwise.
  Input shapes per modality: dna ``[length, 4]`` (uint8 one-hot), image ``[height, width,
  channels]`` (uint8), table ``[features]`` (float32, already scaled by the preparation step).
  Regression datasets have no classes; their targets are the label columns.
- ``load_labels`` / ``load_metadata`` return one split's labels (float32, ``(n, T)``) and its
  metadata rows, both in shard-then-offset order; the metadata is checked to match the shards
  row for row, so predictions written beside it line up with their examples.
- ``ShardBatches`` is a ``keras.utils.PyDataset`` streaming ``(x, y)`` batches (or ``(x,)``)
  from the memory-mapped shards: one batch is read into RAM at a time (plus the OS page cache
  and the epoch's index permutation). With ``shuffle=True`` the stream is endless and the
  example order of epoch ``e`` is a permutation drawn from a numpy Generator seeded with
  ``(seed, e)``: every example appears exactly once per epoch, the order changes between
  epochs and is the same for the same seed. Without shuffling it is one pass in stored order.
- Inputs are float32; for DNA, when ``ambiguous`` is not ``"zeros"`` each position is divided by
  its channel sum (where > 0), so N becomes 0.25 per base and R 0.5 on A and G. Images are
  handed over in 0–255 units (the model normalises them). Regression labels are streamed
  standardised (``scale_targets``: training-split mean and standard deviation from
  ``dataset.json``); ``load_labels`` returns them in their own units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from biodl.io import INTEGER_COLUMNS, METADATA_COLUMNS, MODALITIES, SPLITS, load_npy, read_manifest
from biodl.validate import InputError, require, require_file

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

    def scale_targets(self, y: np.ndarray) -> np.ndarray:
        """Regression targets in training-split standard deviations (what the network learns)."""
        return (y - np.asarray(self.target_mean, dtype=np.float32)) / np.asarray(self.target_std, dtype=np.float32)

    def unscale_targets(self, y: np.ndarray) -> np.ndarray:
        """Network outputs of a regression back in the target's own units."""
        return y * np.asarray(self.target_std) + np.asarray(self.target_mean)

    @property
    def manifest(self) -> Path:
        return self.root / "dataset.json"

    def n(self, split: str) -> int:
        """Number of examples in ``split``."""
        return self.split(split).n

    def split(self, split: str) -> SplitInfo:
        require(split in self.splits, self.manifest, "splits", f"has no split {split!r} (found: {', '.join(self.splits)})")
        return self.splits[split]


def open_dataset(path: str | PathLike[str]) -> PreparedDataset:
    """Read and check ``dataset.json`` (``path`` may be the file or the folder holding it)."""
    manifest, raw = read_manifest(path)
    for key in ("name", "modality", "task", "classes", "targets", "input_shape", "splits", "seed"):
        require(key in raw, manifest, key, "required field is missing")
    modality = raw["modality"]
    require(modality in MODALITIES, manifest, "modality", f"expected one of {', '.join(MODALITIES)}, found {modality!r}")
    ambiguous = raw.get("ambiguous", "zeros")
    require(ambiguous in AMBIGUOUS_MODES, manifest, "ambiguous", f"expected one of {', '.join(AMBIGUOUS_MODES)}, found {ambiguous!r}")
    require(_is_int(raw["seed"]), manifest, "seed", f"expected an integer, found {raw['seed']!r}")
    classes = _names(raw["classes"], manifest, "classes", allow_empty=raw["task"] == "regression")
    targets = _names(raw["targets"], manifest, "targets")
    _check_targets(raw["task"], classes, targets, manifest)
    input_shape = _input_shape(modality, raw["input_shape"], manifest)
    feature_names = _names(raw.get("feature_names", []), manifest, "feature_names", allow_empty=modality != "table")
    require(modality != "table" or len(feature_names) == input_shape[0], manifest, "feature_names",
            f"expected {input_shape[0]} names (one per input feature), found {len(feature_names)}")
    scaling = _scaling(raw, ("target_mean", "target_std"), len(targets), manifest) if raw["task"] == "regression" else ((), ())
    channels = _scaling(raw, ("channel_mean", "channel_std"), input_shape[-1], manifest) if modality == "image" else ((), ())
    return PreparedDataset(
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


def _scaling(raw: dict, keys: tuple[str, str], n: int, manifest: Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A (mean, standard deviation) pair of training-split statistics, ``n`` values each."""
    values = []
    for key in keys:
        value = raw.get(key)
        ok = isinstance(value, list) and len(value) == n and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in value)
        require(ok, manifest, key, f"expected {n} finite number(s), found {value!r}")
        values.append(tuple(float(v) for v in value))
    require(all(v > 0 for v in values[1]), manifest, keys[1], f"expected values > 0, found {list(values[1])}")
    return values[0], values[1]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _names(value: object, manifest: Path, key: str, allow_empty: bool = False) -> tuple[str, ...]:
    ok = isinstance(value, list) and (allow_empty or len(value) > 0) and all(isinstance(v, str) and v and v.isprintable() and "\t" not in v for v in value)
    # Names become TSV column suffixes (p_<class>), so tabs and line breaks are refused.
    require(ok, manifest, key, f"expected a {'' if allow_empty else 'non-empty '}list of non-empty printable names without tabs, found {value!r}")
    require(len(set(value)) == len(value), manifest, key, f"names must be unique, found {value}")
    return tuple(value)


def _check_targets(task: str, classes: tuple[str, ...], targets: tuple[str, ...], manifest: Path) -> None:
    if task == "regression":
        require(not classes, manifest, "classes", f"a regression task has no classes, found {list(classes)}")
        return
    if task == "binary":
        require(len(classes) == 2, manifest, "classes", f"a binary task needs [negative, positive], found {list(classes)}")
        expected = classes[1:]
    else:
        require(len(classes) >= 2, manifest, "classes", f"a {task} task needs at least two classes, found {list(classes)}")
        expected = classes
    require(targets == expected, manifest, "targets", f"for a {task} task expected {list(expected)}, found {list(targets)}")


def _input_shape(modality: str, value: object, manifest: Path) -> tuple[int, ...]:
    expected = {"dna": "[length >= 1, 4]", "image": "[height, width, channels 1-4]", "table": "[features >= 1]"}[modality]
    ok = isinstance(value, list) and all(_is_int(v) and v >= 1 for v in value) and (
        (modality == "dna" and len(value) == 2 and value[1] == 4)
        or (modality == "image" and len(value) == 3 and value[2] <= 4)
        or (modality == "table" and len(value) == 1))
    require(ok, manifest, "input_shape", f"expected {expected} for a {modality} dataset, found {value!r}")
    return tuple(value)


def _split_info(splits: object, split: str, manifest: Path) -> SplitInfo:
    where = f"splits.{split}"
    require(isinstance(splits, dict) and split in splits, manifest, where, "required split is missing")
    entry = splits[split]
    require(isinstance(entry, dict), manifest, where, "expected an object with 'n' and 'shards'")
    n, shards = entry.get("n"), entry.get("shards")
    require(_is_int(n) and n >= 0, manifest, f"{where}.n", f"expected a count >= 0, found {n!r}")
    require(isinstance(shards, list) and all(isinstance(s, str) and s for s in shards), manifest, f"{where}.shards", "expected a list of shard names")
    require(n == 0 or len(shards) > 0, manifest, f"{where}.shards", f"{n} examples but no shards")
    return SplitInfo(n=n, shards=tuple(shards))


def _shard_file(dataset: PreparedDataset, shard: str, kind: str) -> Path:
    return require_file(dataset.root / f"{shard}.{kind}.npy", f"{kind} shard of {dataset.name}")


def _load_shard(path: Path) -> np.ndarray:
    try:
        return load_npy(path, mmap=True)
    except (ValueError, OSError) as error:
        raise InputError(path, None, f"not a readable .npy array ({error})") from error


def _open_labels(dataset: PreparedDataset, split: str) -> list[np.ndarray]:
    """Memory-mapped label shards of ``split``, checked against the manifest."""
    n_targets = len(dataset.targets)
    arrays = []
    for shard in dataset.split(split).shards:
        path = _shard_file(dataset, shard, "y")
        y = _load_shard(path)
        require(y.ndim == 2 and y.shape[1] == n_targets, path, None, f"expected labels of shape (n, {n_targets}), found {y.shape}")
        require(np.issubdtype(y.dtype, np.floating), path, None, f"expected float32 labels, found {y.dtype}")
        arrays.append(y)
    total = sum(len(y) for y in arrays)
    require(total == dataset.n(split), dataset.manifest, f"splits.{split}.n", f"says {dataset.n(split)} examples but the shards hold {total}")
    return arrays


def _open_inputs(dataset: PreparedDataset, split: str, labels: list[np.ndarray]) -> list[np.ndarray]:
    """Memory-mapped input shards of ``split``, checked against their label shards."""
    dtype = np.dtype(INPUT_DTYPES[dataset.modality])
    arrays = []
    for shard, y in zip(dataset.split(split).shards, labels):
        path = _shard_file(dataset, shard, "x")
        x = _load_shard(path)
        require(x.dtype == dtype, path, None, f"expected {dtype} inputs for a {dataset.modality} dataset, found {x.dtype}")
        require(x.shape == (len(y), *dataset.input_shape), path, None, f"expected shape {(len(y), *dataset.input_shape)} (rows as in the label shard), found {x.shape}")
        arrays.append(x)
    return arrays


def input_shards(dataset: PreparedDataset, split: str) -> list[np.ndarray]:
    """The stored input shards of ``split``, memory-mapped and checked against the manifest."""
    return _open_inputs(dataset, split, _open_labels(dataset, split))


def load_labels(dataset: PreparedDataset, split: str) -> np.ndarray:
    """All labels of ``split`` as float32 ``(n, T)``, in stored order."""
    arrays = _open_labels(dataset, split)
    if not arrays:
        return np.zeros((0, len(dataset.targets)), dtype=np.float32)
    return np.concatenate(arrays).astype(np.float32)


def load_metadata(dataset: PreparedDataset, split: str) -> pd.DataFrame:
    """Metadata rows of ``split``, checked to follow the shards row for row."""
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
            raise InputError(path, f"line {lines[bad[0]]}", f"column {column} must be an integer, found {rows[column][bad[0]]!r}")
        rows[column] = values.astype("int64")
    sizes = [len(y) for y in _open_labels(dataset, split)]
    expected_shard = np.repeat(np.array(dataset.split(split).shards, dtype=object), sizes)
    expected_offset = np.concatenate([np.arange(size) for size in sizes]) if sizes else np.zeros(0, dtype=np.int64)
    require(len(rows) == len(expected_shard), path, f"split {split}", f"expected {len(expected_shard)} rows, found {len(rows)}")
    mismatch = np.flatnonzero((rows["shard"].to_numpy() != expected_shard) | (rows["offset"].to_numpy() != expected_offset))
    if len(mismatch):
        i = mismatch[0]
        raise InputError(path, f"line {lines[i]}", f"expected shard {expected_shard[i]} offset {expected_offset[i]}, found {rows['shard'][i]} offset {rows['offset'][i]}")
    return rows


def to_inputs(stored: np.ndarray, ambiguous: str) -> np.ndarray:
    """Stored inputs to float32 network input (DNA: ambiguous bases spread to sum 1)."""
    x = stored.astype(np.float32)
    if ambiguous != "zeros":
        total = x.sum(axis=-1, keepdims=True)
        np.divide(x, total, out=x, where=total > 0)
    return x


class ShardBatches(keras.utils.PyDataset):
    """Batches of one split streamed from memory-mapped shards (see the module contract).

    ``len(self)`` is the number of batches per epoch. Without shuffling the stream is those
    batches in stored order. With shuffling it is endless: batch ``i`` is batch
    ``i % len(self)`` of epoch ``i // len(self)``, so ``fit`` needs
    ``steps_per_epoch=len(stream)``. The order then follows from the batch index alone, not
    from when Keras calls its epoch hooks (it calls them before the first epoch too, and
    prefetches across epoch boundaries).
    """

    def __init__(self, dataset: PreparedDataset, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0, labels: bool = True) -> None:
        # One worker, no multiprocessing: the batch sequence must not depend on thread timing.
        super().__init__(workers=1, use_multiprocessing=False)
        require(batch_size >= 1, dataset.manifest, None, f"batch size must be >= 1, found {batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.with_labels = labels
        self._labels = _open_labels(dataset, split)
        self._inputs = _open_inputs(dataset, split, self._labels)
        self._bounds = np.cumsum([0] + [len(y) for y in self._labels])
        self.n = int(self._bounds[-1])
        self._epoch_order = (0, self.order(0))

    def order(self, epoch: int) -> np.ndarray:
        """Example indices (into the stored order) visited during ``epoch``."""
        if not self.shuffle:
            return np.arange(self.n)
        return np.random.default_rng([self.seed, epoch]).permutation(self.n)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    @property
    def num_batches(self) -> int | None:
        return None if self.shuffle else len(self)

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        epoch, batch = divmod(index, max(len(self), 1))
        if index < 0 or (epoch > 0 and not self.shuffle) or self.n == 0:
            raise IndexError(f"batch {index} out of range (0..{len(self) - 1})")
        if self._epoch_order[0] != epoch:
            self._epoch_order = (epoch, self.order(epoch))
        wanted = self._epoch_order[1][batch * self.batch_size : (batch + 1) * self.batch_size]
        inputs = to_inputs(self._gather(self._inputs, wanted), self.dataset.ambiguous)
        if not self.with_labels:
            return (inputs,)
        labels = self._gather(self._labels, wanted).astype(np.float32)
        if self.dataset.task == "regression":
            labels = self.dataset.scale_targets(labels)
        return inputs, labels

    def _gather(self, shards: list[np.ndarray], wanted: np.ndarray) -> np.ndarray:
        """Rows ``wanted`` (global indices) read from the shards, in the order asked."""
        shard_of = np.searchsorted(self._bounds, wanted, side="right") - 1
        out = np.empty((len(wanted), *shards[0].shape[1:]), dtype=shards[0].dtype)
        for k in np.unique(shard_of):
            positions = np.flatnonzero(shard_of == k)
            rows = wanted[positions] - self._bounds[k]
            # Sorted reads keep page-cache access sequential within the memory map.
            sort = np.argsort(rows, kind="stable")
            out[positions[sort]] = shards[k][rows[sort]]
        return out
