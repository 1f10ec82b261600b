"""Choosing a hyper-parameter search's trial on the validation split (see biodl.workflow.variants).

Contract:
- ``validation_score(scores)``: a trial's score on its validation predictions, the dataset's
  primary metric (``biodl.evaluation.metrics.PRIMARY_METRIC``): auROC for classification (binary: the
  positive class; multi-class and multi-label: the macro average) or R² for regression (the
  target, or the macro average over several). Higher is better; NaN when undefined.
- ``score_trials(dataset_dir, trials)`` with ``trials`` a list of (name, predictions path,
  sampled values) in trial order: the table written as ``trials.tsv``, one row per trial:
  ``trial``, one column per sampled key (lists and mappings as JSON), ``metric``,
  ``validation_score`` and ``chosen`` (true for exactly one trial: the highest score, the
  earliest trial among equals; undefined scores are never chosen). Only the ``validation``
  rows of the predictions are read: the test split plays no part in the choice. Every trial
  undefined raises ``InputError``.
- ``select_trial(dataset_dir, trials, table_path, predictions_path)`` writes the table and
  copies the chosen trial's predictions to ``predictions_path`` (both atomically), so the
  search is evaluated on test as a run of its own; it returns the table.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from biodl.core.errors import require
from biodl.core.files import atomic_path, write_tsv
from biodl.data.dataset import open_dataset
from biodl.evaluation.metrics import PRIMARY_METRIC, compute_metrics, headline_target
from biodl.evaluation.metrics_file import metric_row
from biodl.evaluation.predictions import Scores, read_predictions

logger = logging.getLogger(__name__)

Trial = tuple[str, "str | PathLike[str]", Mapping[str, Any]]


def validation_score(scores: Scores) -> float:
    """The primary metric of ``scores`` (see the module contract)."""
    metric = PRIMARY_METRIC[scores.task]
    # Scores of the validation split alone: no interval, no threshold from elsewhere.
    table = compute_metrics(scores, scores, seed=0, bootstrap=0, confidence=0.95)
    return metric_row(
        table, metric, headline_target(scores.task, scores.targets, metric), "validation predictions"
    )[0]


def score_trials(dataset_dir: str | PathLike[str], trials: Sequence[Trial]) -> pd.DataFrame:
    """One row per trial with its sampled values and validation score (see the module contract)."""
    require(len(trials) >= 1, "search", "trials", "a search needs at least one trial")
    dataset = open_dataset(dataset_dir)
    metric = PRIMARY_METRIC[dataset.task]
    rows = []
    for name, path, sampled in trials:
        score = validation_score(read_predictions(path, dataset)["validation"])
        rows.append(
            {
                "trial": name,
                **{key: _cell(value) for key, value in sampled.items()},
                "metric": metric,
                "validation_score": score,
            }
        )
        logger.info(
            "trial %s: validation %s %.4f (%s)",
            name,
            metric,
            score,
            ", ".join(f"{k}={v}" for k, v in sampled.items()),
        )
    table = pd.DataFrame(rows)
    scores = table["validation_score"].to_numpy(dtype=float)
    require(
        not np.isnan(scores).all(),
        dataset.manifest,
        "splits.validation",
        f"the validation {metric} is undefined for every trial (one class only, or constant values?), "
        "so none can be chosen",
    )
    # nanargmax returns the first of equal maxima: ties go to the earlier trial.
    table["chosen"] = np.arange(len(table)) == np.nanargmax(scores)
    return table


def _cell(value: Any) -> Any:
    """A sampled value as one TSV cell: numbers and text as they are, lists and mappings as JSON."""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def select_trial(
    dataset_dir: str | PathLike[str],
    trials: Sequence[Trial],
    table_path: str | PathLike[str],
    predictions_path: str | PathLike[str],
) -> pd.DataFrame:
    """Write the trials table and the chosen trial's predictions (see the module contract)."""
    table = score_trials(dataset_dir, trials)
    chosen = int(np.flatnonzero(table["chosen"])[0])
    name, path, _ = trials[chosen]
    logger.info(
        "chose trial %s (validation %s %.4f of %d trials)",
        name,
        table["metric"][chosen],
        table["validation_score"][chosen],
        len(table),
    )
    write_tsv(table, table_path)
    with atomic_path(predictions_path) as tmp:
        shutil.copyfile(path, tmp)
    return table
