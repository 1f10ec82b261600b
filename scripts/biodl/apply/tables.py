"""A trained table run scores a new CSV/TSV with the preprocessing fitted at training.

Contract of ``score_table(model, spec, path)`` (``model``: ``load_table_model(dataset_dir,
model_paths, preprocessing)``, the run's network(s) on its prepared table dataset with the
scikit-learn preprocessing preparation fitted on the training rows; ``spec``: the dataset's typed
settings, ``biodl.config.datasets.TableDataset``):
- The table is read as preparation reads it (``biodl.data.tabular.read_table``: CSV or TSV by
  its suffix, gzip allowed) and checked with the same validators: every feature column of the
  dataset (``dataset.json``: ``preprocessing.numeric`` and ``categorical``) must be there (the
  missing ones named); a numeric column's values must be finite numbers (a text or an infinite
  value is an ``InputError`` naming the line and column); with ``missing: reject`` a gap is one
  too. Label columns are not needed (and ignored when present); an unseen category encodes as
  all zeros, as at training.
- The columns are turned into the network's inputs by the fitted preprocessing
  (``preprocessing.skops``, loaded trusting only the types preparation writes) and predicted by
  every network (an ensemble's scores are averaged).
- Returns one row per table row: ``line`` (its line in the file), the ``id_column`` when the
  table has it, then one column per class or target in the target's units: ``p_<class>`` for
  binary (both classes) and multi-class tasks, ``score_<target>`` for multilabel,
  ``pred_<target>`` (the label's units) for regression.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import skops.io

from biodl.apply.trained import open_run
from biodl.config.datasets import TableDataset
from biodl.core.errors import require, require_file
from biodl.data import tabular
from biodl.data.dataset import PreparedDataset
from biodl.data.format import read_manifest
from biodl.data.table.prepare import as_values, check_missing
from biodl.evaluation.inference import PREDICT_BATCH_SIZE

logger = logging.getLogger(__name__)

# Types in a preprocessing.skops that skops does not trust by itself, and preparation writes.
TRUSTED_TYPES = ("numpy.dtype",)


@dataclass(frozen=True)
class TableModel:
    """A table run's network(s), its dataset and its fitted preprocessing."""

    networks: tuple[keras.Model, ...]
    dataset: PreparedDataset
    preprocessing: Any  # the fitted scikit-learn ColumnTransformer
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Network outputs ``(n, targets)`` of feature columns prepared by ``as_values``."""
        x = np.asarray(self.preprocessing.transform(features), dtype=np.float32)
        total = np.zeros((len(x), len(self.dataset.targets)), dtype=np.float64)
        for network in self.networks:
            total += np.asarray(network.predict(x, batch_size=PREDICT_BATCH_SIZE, verbose=0), np.float64)
        return total / len(self.networks)


def load_table_model(
    dataset_dir: str | PathLike[str],
    model_paths: Sequence[str | PathLike[str]],
    preprocessing: str | PathLike[str],
) -> TableModel:
    """The run's network(s), its table dataset and the preprocessing fitted at preparation."""
    dataset, networks = open_run(dataset_dir, model_paths, "table", "scoring a table")
    manifest, raw = read_manifest(dataset.manifest)
    columns = raw.get("preprocessing") or {}
    require(
        "numeric" in columns and "categorical" in columns,
        manifest,
        "preprocessing",
        "does not name the numeric and categorical feature columns; prepare the dataset again",
    )
    transformer = _load_preprocessing(require_file(preprocessing, "fitted preprocessing"))
    logger.info(
        "loaded %d network(s) of %s: %d numeric and %d categorical feature column(s), targets %s",
        len(networks),
        dataset.name,
        len(columns["numeric"]),
        len(columns["categorical"]),
        ", ".join(dataset.targets),
    )
    return TableModel(
        networks, dataset, transformer, tuple(columns["numeric"]), tuple(columns["categorical"])
    )


def _load_preprocessing(path: Path) -> Any:
    untrusted = skops.io.get_untrusted_types(file=path)
    unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES))
    require(
        not unexpected,
        path,
        None,
        f"holds types preparation does not write ({', '.join(unexpected)}); not loaded",
    )
    return skops.io.load(path, trusted=[t for t in untrusted if t in TRUSTED_TYPES])


def score_table(model: TableModel, spec: TableDataset, path: str | PathLike[str]) -> pd.DataFrame:
    """One row of scores per row of the table (see the module contract)."""
    path = Path(path)
    table = tabular.read_table(path, "table to score")
    numeric, categorical = list(model.numeric), list(model.categorical)
    tabular.require_columns(table, numeric + categorical, path)
    for column in numeric:
        tabular.numbers(table[column], column, path, "a finite number", gaps=True)
    features = table[numeric + categorical]
    check_missing(features, spec.missing, path)
    scores = model.predict(as_values(features, numeric))
    frame = pd.DataFrame({"line": table.index.to_numpy()})
    if spec.id_column is not None and spec.id_column in table.columns:
        frame["id"] = table[spec.id_column].to_numpy()
    for name, values in _score_columns(model.dataset, scores).items():
        frame[name] = values
    logger.info("%s: %d row(s) scored", path, len(frame))
    return frame


def _score_columns(dataset: PreparedDataset, scores: np.ndarray) -> dict[str, np.ndarray]:
    """Output columns named by task: both classes of a binary task, one per class or target otherwise."""
    if dataset.task == "binary":
        negative, positive = dataset.classes
        return {f"p_{negative}": 1 - scores[:, 0], f"p_{positive}": scores[:, 0]}
    prefix = {"multiclass": "p", "multilabel": "score", "regression": "pred"}[dataset.task]
    return {f"{prefix}_{target}": scores[:, j] for j, target in enumerate(dataset.targets)}
