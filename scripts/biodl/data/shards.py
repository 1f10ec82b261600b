"""Writing a prepared dataset, for every modality: shards, ``metadata.tsv``, ``dataset.json``.

Contract:
- ``ShardWriter(directory, shard_size, columns)`` buffers examples per split and writes
  ``{split}-{k:05d}.x.npy`` / ``.y.npy`` into ``directory`` whenever ``shard_size`` examples are
  buffered, so memory stays bounded by one shard plus what the caller holds. ``add`` takes the
  inputs, the labels (float32 ``(n, T)``) and one metadata row per example with the modality's
  columns after ``split, shard, offset`` (which the writer fills in). A written shard's
  metadata rows go to a temporary file and only the label counts stay in memory, so memory
  does not grow with the number of examples. A caller that computes its inputs may instead
  fill ``slot(split, n, ...)`` (at most ``room(split)`` places of the split's buffer) in place
  and hand that view to ``add``, which then copies nothing.
- ``close_dataset`` closes the writer, checks that every split has examples (and, for
  classification, at least two classes; errors name ``source``, the user's input files),
  writes ``metadata.tsv`` once every check has passed, and returns the dataset
  description with the per-split shards and label counts (classification) or the training
  split's target mean and standard deviation (regression: ``target_mean``, ``target_std``,
  accumulated shard by shard, so the targets are never all held at once). The caller writes it as
  ``dataset.json`` (``biodl.core.files.write_json``) only once the shard folder is in place: its presence
  means the dataset is complete.
- ``PreparedFiles`` (``dataset``, ``metadata``, ``shards``) and ``ImageFiles`` (plus ``preview``)
  name where a preparation step writes: the preparing rule's outputs, or ``in_folder(folder)``
  (``dataset.json``, ``metadata.tsv``, ``shards/``, ``preview.png`` in one folder).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biodl.core.errors import InputError
from biodl.core.files import atomic_path, save_npy, tsv_text
from biodl.core.vocabulary import SPLITS
from biodl.data.format import METADATA_COLUMNS

log = logging.getLogger(__name__)

SHARD_FOLDER = "shards"
CLASSIFICATION_TASKS = ("binary", "multiclass", "multilabel")


@dataclass(frozen=True)
class PreparedFiles:
    """Where one dataset is prepared."""

    dataset: Path  # dataset.json, written last: its presence means the dataset is complete
    metadata: Path  # metadata.tsv
    shards: Path  # the folder of shards, built in a temporary folder and moved in place

    @classmethod
    def in_folder(cls, folder: str | PathLike[str]) -> PreparedFiles:
        folder = Path(folder)
        return cls(folder / "dataset.json", folder / "metadata.tsv", folder / SHARD_FOLDER)


@dataclass(frozen=True)
class TableFiles(PreparedFiles):
    """Where a table dataset is prepared: the prepared files and the fitted preprocessing."""

    preprocessing: Path  # preprocessing.skops: the scikit-learn transformer fitted on the training rows

    @classmethod
    def in_folder(cls, folder: str | PathLike[str]) -> TableFiles:
        files = PreparedFiles.in_folder(folder)
        return cls(files.dataset, files.metadata, files.shards, Path(folder) / "preprocessing.skops")


@dataclass(frozen=True)
class ImageFiles(PreparedFiles):
    """Where an image dataset is prepared: the prepared files and the tiling preview."""

    preview: Path  # preview.png

    @classmethod
    def in_folder(cls, folder: str | PathLike[str]) -> ImageFiles:
        files = PreparedFiles.in_folder(folder)
        return cls(files.dataset, files.metadata, files.shards, Path(folder) / "preview.png")


class ShardWriter:
    """Buffers examples per split and writes a shard whenever ``shard_size`` are buffered.

    Each split's buffer is one shard-sized array for the inputs and one for the labels,
    allocated on the split's first example (with its shape and dtype) and filled in place, so
    a shard is written straight from it: no concatenation, one copy per example.
    """

    def __init__(self, directory: Path, shard_size: int, columns: tuple[str, ...]) -> None:
        self.directory = directory
        self.shard_size = shard_size
        self.columns = columns
        self.x: dict[str, np.ndarray] = {}
        self.y: dict[str, np.ndarray] = {}
        self.rows: dict[str, list[pd.DataFrame]] = {s: [] for s in SPLITS}
        self.buffered = dict.fromkeys(SPLITS, 0)
        self.written = dict.fromkeys(SPLITS, 0)
        self.shards: dict[str, list[str]] = {s: [] for s in SPLITS}
        self.labels: dict[str, Counter[Any]] = {s: Counter() for s in SPLITS}
        # metadata.tsv's text, shard by shard; nameless, beside the output, on its file system
        self.metadata = tempfile.TemporaryFile(dir=directory.parent)
        self.metadata.write(tsv_text(pd.DataFrame(columns=list(columns))).encode())
        self.train_targets = _RunningMoments()

    @property
    def row_columns(self) -> list[str]:
        """The metadata columns a caller supplies (all but split, shard and offset)."""
        return list(self.columns[3:])

    def room(self, split: str) -> int:
        """How many more examples of ``split`` fit before its shard is written."""
        return self.shard_size - self.buffered[split]

    def slot(self, split: str, n: int, example_shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """A view of ``split``'s input buffer at the next ``n`` (at most ``room(split)``) places.

        Filling it in place and passing it to ``add`` as ``x`` spares a copy and a fresh
        shard-sized allocation per call (whose first touch costs as much as the encoding).
        """
        if not 0 <= n <= self.room(split):
            raise ValueError(f"slot of {n} examples asked for, but {split!r} has room for {self.room(split)}")
        start = self.buffered[split]
        return self._buffer(self.x, split, (n, *example_shape), np.dtype(dtype))[start : start + n]

    def _buffer(
        self, buffers: dict[str, np.ndarray], split: str, shape: tuple[int, ...], dtype: np.dtype
    ) -> np.ndarray:
        """``split``'s buffer in ``buffers``, made shard-sized on first use for examples like ``shape``."""
        if split not in buffers:
            buffers[split] = np.empty((self.shard_size, *shape[1:]), dtype=dtype)
        return buffers[split]

    def add(self, split: str, x: np.ndarray, y: np.ndarray, meta: pd.DataFrame) -> None:
        self._buffer(self.x, split, x.shape, x.dtype)
        self._buffer(self.y, split, y.shape, y.dtype)
        if split == "train":
            self.train_targets.add(y)
        meta = meta[self.row_columns].reset_index(drop=True)
        done = 0
        while done < len(x):
            start = self.buffered[split]
            n = min(self.shard_size - start, len(x) - done)
            # casting="no": every example of a split must share one dtype (a mismatch is a bug).
            target, source = self.x[split][start : start + n], x[done : done + n]
            if not _same_memory(target, source):  # else filled in place through slot()
                np.copyto(target, source, casting="no")
            np.copyto(self.y[split][start : start + n], y[done : done + n], casting="no")
            self.rows[split].append(meta.iloc[done : done + n])
            self.buffered[split] += n
            done += n
            if self.buffered[split] == self.shard_size:
                self._flush(split)

    def close(self) -> dict[str, Any]:
        """Write what is buffered; return the per-split shard summary."""
        for split in SPLITS:
            if self.buffered[split]:
                self._flush(split)
        return {s: {"n": self.written[s], "shards": self.shards[s]} for s in SPLITS}

    def label_counts(self) -> dict[str, dict[str, int]]:
        """Examples per split and label text (labels in sorted order)."""
        return {split: {str(label): n for label, n in sorted(self.labels[split].items())} for split in SPLITS}

    def save_metadata(self, target: Path) -> None:
        """Write the metadata rows of every shard written, in that order, as ``target`` (TSV)."""
        self.metadata.seek(0)
        with atomic_path(target) as tmp, open(tmp, "wb") as handle:
            shutil.copyfileobj(self.metadata, handle)
        self.metadata.close()

    def _flush(self, split: str) -> None:
        n = self.buffered[split]
        stem = f"{split}-{len(self.shards[split]):05d}"
        save_npy(self.x[split][:n], self.directory / f"{stem}.x.npy")
        save_npy(self.y[split][:n], self.directory / f"{stem}.y.npy")
        name = f"{SHARD_FOLDER}/{stem}"
        meta = pd.concat(self.rows[split], ignore_index=True).assign(
            split=split, shard=name, offset=np.arange(n)
        )
        self.metadata.write(tsv_text(meta[list(self.columns)], header=False).encode())
        self.labels[split].update(meta["label"].value_counts().to_dict())
        self.shards[split].append(name)
        self.written[split] += n
        self.rows[split] = []
        self.buffered[split] = 0


def _same_memory(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` and ``b`` are the same view: same address, shape, strides and dtype."""
    return (
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        and a.shape == b.shape
        and a.strides == b.strides
        and a.dtype == b.dtype
    )


class _RunningMoments:
    """Per-column count, mean and sum of squared deviations, merged chunk by chunk (Chan et al.)."""

    def __init__(self) -> None:
        self.n = 0
        self.mean: np.ndarray | float = 0.0
        self.m2: np.ndarray | float = 0.0

    def add(self, y: np.ndarray) -> None:
        if not len(y):
            return
        values = y.astype(np.float64)
        n, mean = len(values), values.mean(axis=0)
        delta = mean - self.mean
        total = self.n + n
        self.m2 = self.m2 + ((values - mean) ** 2).sum(axis=0) + delta**2 * self.n * n / total
        self.mean = self.mean + delta * n / total
        self.n = total

    def std(self) -> np.ndarray:
        return np.sqrt(np.asarray(self.m2) / max(self.n, 1))


def writer_for(modality: str, directory: Path, shard_size: int) -> ShardWriter:
    return ShardWriter(directory, shard_size, METADATA_COLUMNS[modality])


def check_splits(writer: ShardWriter, task: str, source: str) -> None:
    """Every split needs examples; a classification split needs two classes to be evaluated."""
    counts = writer.label_counts()
    for split in SPLITS:
        if not writer.written[split]:
            raise InputError(
                source,
                f"split {split!r}",
                f"no examples (examples per split and class: {counts}); expected "
                "examples in every split: check the split settings and the inputs",
            )
        if task in ("binary", "multiclass") and len(writer.labels[split]) < 2:
            raise InputError(
                source,
                f"split {split!r}",
                f"holds only the class {next(iter(writer.labels[split]), None)!r} (examples per split "
                f"and class: {counts}); expected at least two classes in every split, so that it can "
                "be evaluated",
            )


def close_dataset(
    writer: ShardWriter, description: dict[str, Any], source: str, metadata_tsv: Path
) -> dict[str, Any]:
    """Close ``writer``, check the splits, write ``metadata.tsv``; return the full description.

    ``description`` holds the modality-specific fields (name, modality, task, classes, targets,
    input_shape, seed, ...); the split summary and label counts are added here.
    """
    split_summary = writer.close()
    check_splits(writer, description["task"], source)
    description = {**description, "splits": split_summary}
    if description["task"] == "regression":
        std = writer.train_targets.std()
        flat = [t for t, s in zip(description["targets"], std, strict=True) if not s > 0]
        if flat:
            raise InputError(
                source,
                "split 'train'",
                f"target(s) {', '.join(flat)} take a single value in the training "
                "split; expected varying values to learn from",
            )
        description["target_mean"] = np.asarray(writer.train_targets.mean).tolist()
        description["target_std"] = std.tolist()
    if description["task"] in CLASSIFICATION_TASKS:
        description["counts"] = writer.label_counts()
    writer.save_metadata(metadata_tsv)
    for split in SPLITS:
        log.info(
            "%s: %d examples %s",
            split,
            split_summary[split]["n"],
            description.get("counts", {}).get(split, ""),
        )
    return description
