"""Evaluating a trained model on the test split, and collecting the results of many runs.

Contract:
- ``evaluate_model(dataset_dir, model_path, predictions_path, metrics_path)`` loads the model
  (``safe_mode=True``), checks it fits the dataset, predicts the ``test`` split in stored order
  and writes (atomically):
  - ``predictions.tsv``: the test metadata rows, in order, plus for binary ``y_true`` (0/1) and
    ``y_score``; multiclass ``y_true`` and ``y_pred`` (class names) and ``p_<class>`` per class;
    multilabel ``true_<target>`` (0/1) and ``score_<target>`` per target;
  - ``metrics.tsv``: columns ``metric``, ``target``, ``value``. Per target (binary: the positive
    class; otherwise every class / target, one-vs-rest): auroc, auprc (average precision), f1,
    accuracy, precision, recall and n_positive. Binary adds ``n`` for that target; the others add
    ``macro`` rows (the mean over targets where defined; accuracy: multiclass = fraction of
    examples whose top class is right, multilabel = mean per-target accuracy), ``micro`` rows for
    auroc and auprc, and ``n`` with target ``all``. Calls: sigmoid outputs > 0.5, softmax argmax.
  A metric that is undefined (a single class in the labels, no predicted positives) is written
  as the text ``NaN`` and logged as a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from biodl.dataset import ShardBatches, load_labels, load_metadata, open_dataset
from biodl.io import write_tsv
from biodl.predict import load_model
from biodl.predictions import Scores, predictions_frame
from biodl.summary import HEADLINE_METRICS, headline, nan_as_text
from biodl.validate import require

logger = logging.getLogger(__name__)

PREDICT_BATCH_SIZE = 256
_UNDEFINED_WHY = {
    "auroc": "only one class in the test labels",
    "auprc": "only one class in the test labels",
    "precision": "no example predicted positive",
    "recall": "no positive example in the test labels",
    "f1": "no positive example predicted or present",
}


@dataclass(frozen=True)
class Evaluation:
    dataset: str
    model: str
    scores: Scores
    metrics: pd.DataFrame


def evaluate_model(
    dataset_dir: str | PathLike[str],
    model_path: str | PathLike[str],
    predictions_path: str | PathLike[str],
    metrics_path: str | PathLike[str],
) -> Evaluation:
    """Predict the test split and write predictions and metrics (see the module contract)."""
    dataset = open_dataset(dataset_dir)
    require(dataset.n("test") > 0, dataset.manifest, "splits.test", "evaluation needs at least one test example")
    model = load_model(model_path, dataset)
    metadata = load_metadata(dataset, "test")
    y_score = model.predict(ShardBatches(dataset, "test", PREDICT_BATCH_SIZE, labels=False), verbose=0)
    scores = Scores(dataset.task, dataset.targets, load_labels(dataset, "test"), np.asarray(y_score, dtype=np.float64))
    metrics = compute_metrics(scores)
    write_tsv(predictions_frame(metadata, scores), predictions_path)
    write_tsv(nan_as_text(metrics), metrics_path)
    logger.info("evaluated %s on %d test examples of %s: %s", model.name, len(metadata), dataset.name, _headline_text(metrics, dataset.task))
    return Evaluation(dataset.name, model.name, scores, metrics)


def compute_metrics(scores: Scores) -> pd.DataFrame:
    """The metrics table of the module contract for ``scores``."""
    calls = scores.calls()
    per_target = {
        target: _target_metrics(target, scores.y_true[:, j], scores.y_score[:, j], calls[:, j])
        for j, target in enumerate(scores.targets)
    }
    n = len(scores.y_true)
    rows = [(metric, target, value) for target, values in per_target.items() for metric, value in values.items()]
    if scores.task == "binary":
        rows.append(("n", scores.targets[0], float(n)))
        return _metrics_table(rows)
    for metric in ("auroc", "auprc", "f1", "accuracy", "precision", "recall"):
        rows.append((metric, "macro", _macro(metric, per_target, scores, calls)))
    for metric in ("auroc", "auprc"):
        rows.append((metric, "micro", _ranking_metric(metric, "micro", scores.y_true.ravel(), scores.y_score.ravel())))
    rows.append(("n", "all", float(n)))
    return _metrics_table(rows)


def _metrics_table(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["metric", "target", "value"])


def _target_metrics(target: str, y_true: np.ndarray, y_score: np.ndarray, calls: np.ndarray) -> dict[str, float]:
    """One-vs-rest metrics of one target; undefined ones are NaN (and logged)."""
    truth = y_true.astype(np.int64)
    return {
        "auroc": _ranking_metric("auroc", target, truth, y_score),
        "auprc": _ranking_metric("auprc", target, truth, y_score),
        "f1": _count_metric(skm.f1_score, "f1", target, truth, calls),
        "accuracy": float(skm.accuracy_score(truth, calls)),
        "precision": _count_metric(skm.precision_score, "precision", target, truth, calls),
        "recall": _count_metric(skm.recall_score, "recall", target, truth, calls),
        "n_positive": float(truth.sum()),
    }


def _ranking_metric(metric: str, target: str, y_true: np.ndarray, y_score: np.ndarray) -> float:
    if len(np.unique(y_true)) < 2:
        return _undefined(metric, target)
    function = skm.roc_auc_score if metric == "auroc" else skm.average_precision_score
    return float(function(y_true, y_score))


def _count_metric(function: Callable[..., float], metric: str, target: str, y_true: np.ndarray, calls: np.ndarray) -> float:
    value = float(function(y_true, calls, zero_division=np.nan))
    return _undefined(metric, target) if np.isnan(value) else value


def _undefined(metric: str, target: str) -> float:
    logger.warning("%s for target %s is undefined (%s); written as NaN", metric, target, _UNDEFINED_WHY[metric])
    return float("nan")


def _macro(metric: str, per_target: dict[str, dict[str, float]], scores: Scores, calls: np.ndarray) -> float:
    if metric == "accuracy" and scores.task == "multiclass":
        return float(skm.accuracy_score(scores.y_true.argmax(axis=1), calls.argmax(axis=1)))
    values = {target: values[metric] for target, values in per_target.items()}
    defined = [v for v in values.values() if not np.isnan(v)]
    if len(defined) < len(values):
        left_out = [t for t, v in values.items() if np.isnan(v)]
        logger.warning("macro %s averages %d of %d targets (undefined for %s)", metric, len(defined), len(values), ", ".join(left_out))
    return float(np.mean(defined)) if defined else float("nan")


def _headline_text(metrics: pd.DataFrame, task: str) -> str:
    row = headline(metrics, task, "metrics")
    return ", ".join(f"{name} {row[name]:.4f}" for name in HEADLINE_METRICS)
