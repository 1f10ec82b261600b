"""Writing a prepared dataset, for every modality: shards, ``metadata.tsv``, ``dataset.json``.

Contract:
- ``ShardWriter(directory, shard_size, columns)`` buffers examples per split and writes
  ``{split}-{k:05d}.x.npy`` / ``.y.npy`` into ``directory`` whenever ``shard_size`` examples are
  buffered, so memory stays bounded by one shard plus what the caller holds. ``add`` takes the
  inputs, the labels (float32 ``(n, T)``) and one metadata row per example with the modality's
  columns after ``split, shard, offset`` (which the writer fills in).
- ``close_dataset`` closes the writer, checks that every split has examples (and, for
  classification, at least two classes; errors name ``source``, the user's input files),
  writes ``metadata.tsv`` once every check has passed, and returns the dataset
  description with the per-split shards and label counts (classification) or the training
  split's target mean and standard deviation (regression: ``target_mean``, ``target_std``,
  accumulated shard by shard, so the targets are never all held at once). The caller writes it as
  ``dataset.json`` (``biodl.io.write_json``) only once the shard folder is in place: its presence
  means the dataset is complete.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biodl.io import METADATA_COLUMNS, SPLITS, save_npy, write_tsv
from biodl.validate import InputError

log = logging.getLogger(__name__)

SHARD_FOLDER = "shards"
CLASSIFICATION_TASKS = ("binary", "multiclass", "multilabel")


class ShardWriter:
    """Buffers examples per split and writes a shard whenever ``shard_size`` are buffered."""

    def __init__(self, directory: Path, shard_size: int, columns: tuple[str, ...]) -> None:
        self.directory = directory
        self.shard_size = shard_size
        self.columns = columns
        self.buffers: dict[str, list[tuple[np.ndarray, np.ndarray, pd.DataFrame]]] = {s: [] for s in SPLITS}
        self.buffered = dict.fromkeys(SPLITS, 0)
        self.written = dict.fromkeys(SPLITS, 0)
        self.shards: dict[str, list[str]] = {s: [] for s in SPLITS}
        self.metadata: list[pd.DataFrame] = []
        self.train_targets = _RunningMoments()

    @property
    def row_columns(self) -> list[str]:
        """The metadata columns a caller supplies (all but split, shard and offset)."""
        return list(self.columns[3:])

    def add(self, split: str, x: np.ndarray, y: np.ndarray, meta: pd.DataFrame) -> None:
        self.buffers[split].append((x, y, meta[self.row_columns].reset_index(drop=True)))
        if split == "train":
            self.train_targets.add(y)
        self.buffered[split] += len(x)
        while self.buffered[split] >= self.shard_size:
            self._flush(split, self.shard_size)

    def close(self) -> tuple[dict[str, Any], pd.DataFrame]:
        """Write what is buffered; return the per-split shard summary and all metadata rows."""
        for split in SPLITS:
            if self.buffered[split]:
                self._flush(split, self.buffered[split])
        summary = {s: {"n": self.written[s], "shards": self.shards[s]} for s in SPLITS}
        metadata = pd.concat(self.metadata, ignore_index=True) if self.metadata else pd.DataFrame(columns=list(self.columns))
        return summary, metadata[list(self.columns)]

    def _flush(self, split: str, n: int) -> None:
        x = np.concatenate([b[0] for b in self.buffers[split]])
        y = np.concatenate([b[1] for b in self.buffers[split]])
        meta = pd.concat([b[2] for b in self.buffers[split]], ignore_index=True)
        stem = f"{split}-{len(self.shards[split]):05d}"
        save_npy(x[:n], self.directory / f"{stem}.x.npy")
        save_npy(y[:n], self.directory / f"{stem}.y.npy")
        name = f"{SHARD_FOLDER}/{stem}"
        self.metadata.append(meta.iloc[:n].assign(split=split, shard=name, offset=np.arange(n)))
        self.shards[split].append(name)
        self.written[split] += n
        rest = (x[n:], y[n:], meta.iloc[n:])
        self.buffers[split] = [rest] if len(rest[0]) else []
        self.buffered[split] -= n


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


def label_counts(metadata: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Examples per split and label text."""
    return {split: {str(k): int(v) for k, v in metadata.loc[metadata["split"] == split, "label"].value_counts().sort_index().items()}
            for split in SPLITS}


def check_splits(metadata: pd.DataFrame, task: str, source: str) -> None:
    """Every split needs examples; a classification split needs two classes to be evaluated."""
    counts = label_counts(metadata)
    for split in SPLITS:
        labels = metadata.loc[metadata["split"] == split, "label"]
        if labels.empty:
            raise InputError(source, f"split {split!r}", f"no examples (examples per split and class: {counts}); expected "
                                                         "examples in every split: check the split settings and the inputs")
        if task in ("binary", "multiclass") and labels.nunique() < 2:
            raise InputError(source, f"split {split!r}",
                             f"holds only the class {labels.iloc[0]!r} (examples per split and class: {counts}); expected "
                             "at least two classes in every split, so that it can be evaluated")


def close_dataset(writer: ShardWriter, description: dict[str, Any], source: str, metadata_tsv: Path) -> dict[str, Any]:
    """Close ``writer``, check the splits, write ``metadata.tsv``; return the full description.

    ``description`` holds the modality-specific fields (name, modality, task, classes, targets,
    input_shape, seed, ...); the split summary and label counts are added here.
    """
    split_summary, metadata = writer.close()
    check_splits(metadata, description["task"], source)
    description = {**description, "splits": split_summary}
    if description["task"] == "regression":
        std = writer.train_targets.std()
        flat = [t for t, s in zip(description["targets"], std) if not s > 0]
        if flat:
            raise InputError(source, "split 'train'", f"target(s) {', '.join(flat)} take a single value in the training "
                                                      "split; expected varying values to learn from")
        description["target_mean"] = np.asarray(writer.train_targets.mean).tolist()
        description["target_std"] = std.tolist()
    if description["task"] in CLASSIFICATION_TASKS:
        description["counts"] = label_counts(metadata)
    write_tsv(metadata, metadata_tsv)
    for split in SPLITS:
        log.info("%s: %d examples %s", split, split_summary[split]["n"], description.get("counts", {}).get(split, ""))
    return description
