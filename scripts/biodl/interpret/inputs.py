"""What every interpretation step reads: the settings, the prepared split and the trained model.

Contract: ``InterpretSettings`` is the config's checked ``interpretation`` section;
``load(dataset_dir, model_path, modality)`` opens the prepared dataset (checking its modality)
and the model; ``split_arrays(dataset, split)`` gives the split's network inputs and labels;
``positives(dataset, y)`` the rows whose sequences give filter sites (positive for any target of a
binary or multilabel task; every row otherwise).
"""

from __future__ import annotations

import logging
from os import PathLike
from typing import Any

import numpy as np

from biodl.core.errors import require
from biodl.data.dataset import PreparedDataset, input_shards, load_labels, open_dataset, to_inputs

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
