"""Parameter counts of trained runs, for the leaderboard and the report (no TensorFlow import).

Every run the workflow trains or evaluates writes ``results/models/{dataset}/{model}/parameters.tsv``
(one row: ``parameters``, ``trainable_parameters``, ``counted``), which ``biodl.evaluation.summary``
collects into ``results/summary.tsv``.

Contract:
- ``ParameterCount(total, trainable, counted)``: the counts (``None``: not counted) and what was
  counted, in words (shown where a count is empty, so its reason is never lost).
- ``network_count(model)``: a Keras model's ``count_params()`` (every weight, batch norm's moving
  statistics included) and the size of its trainable weights (less where layers are frozen).
  Networks, attention-MIL models and autoencoders alike.
- ``baseline_count(models)``: scikit-learn baselines (``biodl.training.baselines``, one fitted
  model or pipeline per target). Linear models: their coefficients and intercepts (the
  standardiser's training means and scales are statistics, not counted), all trainable.
  Gradient boosting: not counted (``None``): it fits trees, whose split thresholds and leaf
  values are no match for a network's weights; ``counted`` says so, with its number of trees.
- ``ensemble_count(counts)``: an ensemble predicts with every member, so its count is the sum
  over its members (``None`` where any member's is ``None``). A search's count is its chosen
  trial's (copied by ``biodl.evaluation.search``).
- ``write_parameters(count, path)`` (atomic) / ``read_parameters(path)``: the TSV above, empty
  cells where not counted; reading checks the columns and whole non-negative numbers and raises
  ``InputError`` naming the file and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biodl.core.errors import InputError, require, require_file
from biodl.core.files import write_tsv

COLUMNS = ("parameters", "trainable_parameters", "counted")
KERAS_COUNTED = "Keras count_params (batch norm's moving statistics included)"
LINEAR_COUNTED = "coefficients and intercepts of the fitted linear model"


@dataclass(frozen=True)
class ParameterCount:
    """A run's parameter count: ``None`` where the model has none to count (see ``counted``)."""

    total: int | None
    trainable: int | None
    counted: str


def network_count(model: Any) -> ParameterCount:
    """Every weight of a Keras model, and its trainable ones."""
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    return ParameterCount(int(model.count_params()), trainable, KERAS_COUNTED)


def baseline_count(models: Sequence[Any]) -> ParameterCount:
    """The fitted coefficients of linear baselines; none for tree ensembles (module contract)."""
    estimators = [model.steps[-1][1] if hasattr(model, "steps") else model for model in models]
    if all(hasattr(estimator, "coef_") for estimator in estimators):
        total = sum(int(np.size(e.coef_)) + int(np.size(e.intercept_)) for e in estimators)
        return ParameterCount(total, total, LINEAR_COUNTED)
    trees = sum(int(e.n_iter_) * int(e.n_trees_per_iteration_) for e in estimators)
    return ParameterCount(None, None, f"gradient boosting fits {trees} trees, not weights")


def ensemble_count(counts: Sequence[ParameterCount]) -> ParameterCount:
    """The sum over an ensemble's members (they all predict)."""
    counted = f"sum over {len(counts)} members: {counts[0].counted}" if counts else "no members"
    totals, trainables = [c.total for c in counts], [c.trainable for c in counts]
    if not counts or None in totals or None in trainables:
        return ParameterCount(None, None, counted)
    return ParameterCount(
        sum(t for t in totals if t is not None), sum(t for t in trainables if t is not None), counted
    )


def write_parameters(count: ParameterCount, path: str | PathLike[str]) -> None:
    """The one-row TSV of the module contract (empty cells where not counted)."""
    row = {"parameters": count.total, "trainable_parameters": count.trainable, "counted": count.counted}
    write_tsv(pd.DataFrame([row], columns=list(COLUMNS)).astype({c: "Int64" for c in COLUMNS[:2]}), path)


def read_parameters(path: str | PathLike[str]) -> ParameterCount:
    """A ``parameters.tsv`` read back and checked."""
    where = require_file(path, "parameter count")
    table = pd.read_csv(where, sep="\t", dtype=str, keep_default_na=False)
    for column in COLUMNS:
        require(column in table.columns, where, column, f"expected the columns {', '.join(COLUMNS)}")
    require(len(table) == 1, where, None, f"expected one row, found {len(table)}")
    row = table.iloc[0]
    return ParameterCount(
        _count(row["parameters"], where, "parameters"),
        _count(row["trainable_parameters"], where, "trainable_parameters"),
        str(row["counted"]),
    )


def _count(text: str, where: Path, column: str) -> int | None:
    if text == "":
        return None
    if not text.isdigit():
        raise InputError(where, column, f"expected a whole number >= 0 or an empty cell, found {text!r}")
    return int(text)
