"""What every interpretation step reads: the settings, the prepared split and the trained model.

Contract: ``InterpretSettings`` is the config's checked ``interpretation`` section;
``load(dataset_dir, model_path, modality)`` opens the prepared dataset (checking its modality)
and the model; ``split_arrays(dataset, split)`` gives the split's network inputs and labels;
``positives(dataset, y)`` the rows positive for any target of a binary or multilabel task (every row
otherwise). ``site_groups(dataset, y)`` names the groups whose filter sites are counted apart: binary,
the two classes; multiclass, every class; multilabel, each target's positives and the rows positive
for none; regression, one group of every row. ``explained_tasks(dataset, y, top)`` gives the
``top`` tasks worth explaining, those with the most positives (ties in target order): ``Task`` with
the output unit, its name and its rows (binary and multilabel: positives for that target, missing
labels excluded; multiclass: rows of that class; regression: rows above the target's median).
``Pool(dataset, splits)`` holds the labels of several splits one after another and reads only the
rows asked for (``inputs(rows)``, ``metadata(rows)``), so hundreds of sequences can be drawn from a
large dataset without loading it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from biodl.core.errors import require
from biodl.data.dataset import (
    PreparedDataset,
    ShardRows,
    input_shards,
    load_labels,
    load_metadata,
    open_dataset,
    to_inputs,
)

logger = logging.getLogger(__name__)


BATCH_SIZE = 256


def load(
    dataset_dir: str | PathLike[str], model_path: str | PathLike[str], modality: str
) -> tuple[PreparedDataset, Any]:
    from biodl.evaluation.inference import load_model

    dataset = open_dataset(dataset_dir)
    require(
        dataset.modality == modality,
        dataset.manifest,
        "modality",
        f"expected a {modality} dataset, found {dataset.modality}",
    )
    return dataset, load_model(model_path, dataset)


def split_arrays(dataset: PreparedDataset, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs (float32) and labels of one split, in stored order."""
    require(
        dataset.n(split) > 0, dataset.manifest, f"splits.{split}", "interpretation needs at least one example"
    )
    x = to_inputs(np.concatenate(input_shards(dataset, split)), dataset.ambiguous)
    return x, load_labels(dataset, split)


def positives(dataset: PreparedDataset, y: np.ndarray) -> np.ndarray:
    """Rows positive for any target (binary, multilabel); every row for other tasks."""
    if dataset.task in ("binary", "multilabel"):
        return np.flatnonzero(np.nan_to_num(y, nan=0.0).max(axis=1) > 0.5)
    return np.arange(len(y))


@dataclass(frozen=True)
class Task:
    """One output to explain: its unit in the network's output, its name, the rows it explains."""

    unit: int
    name: str
    rows: np.ndarray


def site_groups(dataset: PreparedDataset, y: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Group names and membership ``(n, groups)`` of the rows (module contract)."""
    known = ~np.isnan(y)
    positive = known & (np.nan_to_num(y, nan=0.0) > 0.5)
    if dataset.task == "binary":
        return list(dataset.classes[:2]), np.stack([known[:, 0] & ~positive[:, 0], positive[:, 0]], axis=1)
    if dataset.task == "multiclass":
        return list(dataset.classes), y.argmax(axis=1)[:, None] == np.arange(y.shape[1])[None]
    if dataset.task == "multilabel":
        none = known.all(axis=1) & ~positive.any(axis=1)
        return [*dataset.targets, "none"], np.concatenate([positive, none[:, None]], axis=1)
    return ["all"], np.ones((len(y), 1), dtype=bool)


def explained_tasks(dataset: PreparedDataset, y: np.ndarray, top: int) -> list[Task]:
    """The ``top`` tasks with the most positives (module contract)."""
    if dataset.task == "regression":
        rows = [np.flatnonzero(y[:, j] > np.nanmedian(y[:, j])) for j in range(y.shape[1])]
    elif dataset.task == "multiclass":
        rows = [np.flatnonzero(y.argmax(axis=1) == j) for j in range(y.shape[1])]
    else:
        rows = [np.flatnonzero(np.nan_to_num(y[:, j], nan=0.0) > 0.5) for j in range(y.shape[1])]
    order = sorted(range(len(rows)), key=lambda j: (-len(rows[j]), j))
    return [Task(j, dataset.targets[j], rows[j]) for j in order[:top] if len(rows[j])]


class Pool:
    """The rows of several splits one after another (module contract)."""

    def __init__(self, dataset: PreparedDataset, splits: tuple[str, ...]) -> None:
        self.dataset = dataset
        self.splits = tuple(s for s in splits if dataset.n(s) > 0)
        labels = [load_labels(dataset, s) for s in self.splits]
        self.y = np.concatenate(labels) if labels else np.zeros((0, len(dataset.targets)), np.float32)
        self.bounds = np.cumsum([0] + [len(v) for v in labels])

    def _parts(self, rows: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(split index, positions in ``rows``, rows within that split) for each split asked."""
        rows = np.asarray(rows, dtype=np.int64)
        owner = np.searchsorted(self.bounds, rows, side="right") - 1
        return [
            (k, np.flatnonzero(owner == k), rows[owner == k] - self.bounds[k])
            for k in range(len(self.splits))
            if (owner == k).any()
        ]

    def inputs(self, rows: np.ndarray) -> np.ndarray:
        """Network inputs (float32) of ``rows``, in the order asked."""
        out = np.zeros((len(rows), *self.dataset.input_shape), dtype=np.float32)
        for k, where, local in self._parts(rows):
            shards = input_shards(self.dataset, self.splits[k])
            stored = shards[0][local] if len(shards) == 1 and not isinstance(shards[0], np.memmap) else None
            stored = ShardRows(shards).read(local) if stored is None else stored
            out[where] = to_inputs(stored, self.dataset.ambiguous)
        return out

    def metadata(self, rows: np.ndarray) -> pd.DataFrame:
        """Metadata rows of ``rows``, in the order asked."""
        frames: list[pd.DataFrame] = []
        order: list[np.ndarray] = []
        for k, where, local in self._parts(rows):
            frames.append(load_metadata(self.dataset, self.splits[k]).iloc[local])
            order.append(where)
        if not frames:
            return pd.DataFrame()
        frame = pd.concat(frames, ignore_index=True)
        return frame.iloc[np.argsort(np.concatenate(order), kind="stable")].reset_index(drop=True)
