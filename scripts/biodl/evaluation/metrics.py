"""Test-set metrics of one run, with seeded bootstrap confidence intervals (no TensorFlow).

Contract:
- ``compute_metrics(test, validation, *, seed, bootstrap, confidence)`` returns one row per
  metric and target, columns ``metric, target, value, ci_low, ci_high`` (``METRIC_COLUMNS``;
  stored as ``metrics.tsv`` by ``biodl.evaluation.metrics_file``).
- Targets: a target's own name (binary: the positive class; multiclass: each class, one-vs-
  rest; multilabel: each target, over the examples whose label is present; regression: each
  label column); ``macro``: the unweighted mean over the targets where the metric is defined;
  ``micro``: pooled over every labelled (example, target) pair; ``all``: the task as a whole.
- Classification, per target: ``auroc``; ``auprc`` (average precision: the step-wise sum
  of scikit-learn, no interpolation); ``f1``, ``precision``, ``recall``, ``accuracy`` of the
  calls (score > 0.5 for sigmoid outputs, the argmax for softmax); ``f1_best``: F1 on test at
  ``threshold_best``, the score threshold that maximises F1 on the *validation* split (calls:
  score >= threshold; the lowest of equally good thresholds; binary and multilabel only);
  ``brier`` (mean squared difference between score and 0/1 label); ``n_positive``; ``n``.
  Aggregates: multiclass ``macro`` auroc, auprc, f1, precision, recall and brier (the mean of
  the one-vs-rest Brier scores, which is the multi-class Brier score divided by the number of
  classes); ``micro`` auroc, auprc and f1 (for single-label classes micro F1 equals top-1
  accuracy); ``all`` accuracy (top-1: the argmax is the true class). Multilabel: ``macro``
  auroc, auprc, f1, f1_best, precision, recall, accuracy and brier; ``micro`` auroc, auprc,
  f1. Every task has ``n`` for target ``all`` (test examples).
- Regression, per target: ``mse``, ``mae``, ``pearson_r``, ``spearman_r``, ``r2`` (1 - residual
  over total sum of squares about the test mean), ``n``; ``macro`` rows of the first five when
  there are several targets.
- Undefined metrics (one class only among a target's test labels, no example called positive,
  constant values, no labelled example, a single class among the validation labels for
  ``threshold_best``) are NaN, each with one logged warning naming the metric, the target and
  why; they never raise. A macro average leaves undefined targets out and says so.
- Headline metrics (``HEADLINE_METRICS[task]``, in the row of target
  ``headline_target(task, targets, metric)``; ``headline_keys(task, targets)`` lists the
  (metric, target) rows) get percentile bootstrap intervals at level ``confidence`` from
  ``bootstrap`` resamples of the test examples seeded with ``seed``
  (``biodl.evaluation.bootstrap``): the threshold from validation is kept fixed, and a resample
  where the metric is undefined (for a macro average: undefined for any target the point
  estimate averages) is skipped. ``bootstrap=0``: no intervals. Point estimates and resamples
  share one implementation (``biodl.evaluation.weighted_metrics``), weighted by how often each
  example is drawn (all ones for the estimate).
- ``PRIMARY_METRIC[task]`` is the one metric that ranks runs (auroc, or r2 for regression).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import precision_recall_curve

from biodl.core.errors import require
from biodl.evaluation.bootstrap import Interval, Resampling, bootstrap_intervals
from biodl.evaluation.predictions import Scores
from biodl.evaluation.weighted_metrics import (
    ALL,
    MACRO,
    MICRO,
    Values,
    auroc,
    average_precision,
    call_metrics,
    macro_values,
    ratio,
    task_values,
)

logger = logging.getLogger(__name__)

METRIC_COLUMNS = ["metric", "target", "value", "ci_low", "ci_high"]
_CLASSIFICATION_HEADLINE = ("auroc", "auprc", "f1", "accuracy")
HEADLINE_METRICS: dict[str, tuple[str, ...]] = {
    "binary": _CLASSIFICATION_HEADLINE,
    "multiclass": _CLASSIFICATION_HEADLINE,
    "multilabel": _CLASSIFICATION_HEADLINE,
    "regression": ("mse", "mae", "pearson_r", "r2"),
}
# The one metric that ranks runs in the comparison plot.
PRIMARY_METRIC = {"binary": "auroc", "multiclass": "auroc", "multilabel": "auroc", "regression": "r2"}
METRIC_ORDER = (
    "auroc",
    "auprc",
    "f1",
    "f1_best",
    "threshold_best",
    "precision",
    "recall",
    "accuracy",
    "brier",
    "mse",
    "mae",
    "pearson_r",
    "spearman_r",
    "r2",
    "n_positive",
    "n",
)
_MACRO_METRICS = {
    "binary": (),
    "multiclass": ("auroc", "auprc", "f1", "precision", "recall", "brier"),
    "multilabel": ("auroc", "auprc", "f1", "f1_best", "precision", "recall", "accuracy", "brier"),
    "regression": ("mse", "mae", "pearson_r", "spearman_r", "r2"),
}
_WHY_UNDEFINED = {
    "auroc": "the test labels have a single class",
    "auprc": "the test labels have a single class",
    "f1": "no positive test example and none called positive",
    "f1_best": "no positive test example and none called positive",
    "precision": "no test example called positive",
    "recall": "no positive test example",
    "threshold_best": "fewer than two classes among the validation labels",
    "pearson_r": "the observed or the predicted values are constant",
    "spearman_r": "the observed or the predicted values are constant",
    "r2": "the observed values are constant",
}


def headline_target(task: str, targets: tuple[str, ...] | list[str], metric: str | None = None) -> str:
    """The target whose row holds a headline ``metric`` of ``task``."""
    if task == "multiclass" and metric == "accuracy":
        return ALL
    if task == "binary" or (task == "regression" and len(targets) == 1):
        return targets[0]
    return MACRO


def headline_keys(task: str, targets: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    """(metric, target) of each headline metric of ``task``."""
    return [(metric, headline_target(task, targets, metric)) for metric in HEADLINE_METRICS[task]]


def compute_metrics(
    test: Scores, validation: Scores, *, seed: int, bootstrap: int, confidence: float
) -> pd.DataFrame:
    """The metrics table of the module contract; ``validation`` only sets ``threshold_best``."""
    if (test.task, test.targets) != (validation.task, validation.targets):
        raise ValueError("test and validation scores must have the same task and targets")
    reserved = sorted({MACRO, MICRO, ALL} & set(test.targets))
    require(
        not reserved,
        "dataset",
        "targets",
        f"{', '.join(reserved)} would clash with the averaged rows of metrics.tsv; "
        "rename the class or target",
    )
    require(test.n > 0, "predictions", "split test", "no test example to evaluate")
    require(bootstrap >= 0, "config", "evaluation.bootstrap", f"expected a count >= 0, found {bootstrap}")
    require(
        0 < confidence < 1,
        "config",
        "evaluation.confidence",
        f"expected a level between 0 and 1, found {confidence}",
    )
    thresholds = _best_thresholds(validation)
    values = _point_estimates(test, thresholds)
    _warn_undefined(values)
    averaged = _averaged_targets(values, test)
    values.update(macro_values(values, averaged, 1))
    resampling = Resampling(seed, bootstrap, confidence)
    intervals = _headline_intervals(test, thresholds, averaged, resampling) if bootstrap else {}
    return _table(values, intervals, test.targets)


def _point_estimates(test: Scores, thresholds: Mapping[str, float]) -> Values:
    values = task_values(test, thresholds, np.ones((1, test.n)))
    values.update({("threshold_best", target): np.array([t]) for target, t in thresholds.items()})
    if test.task == "regression":
        for j, target in enumerate(test.targets):
            labelled = test.labelled(j)
            values[("spearman_r", target)] = np.array(
                [_spearman(test.y_true[labelled, j], test.y_score[labelled, j])]
            )
    elif test.task != "binary":
        values.update(_micro(test))
    return values


def _spearman(y: np.ndarray, predicted: np.ndarray) -> float:
    if len(y) < 2 or np.ptp(y) == 0 or np.ptp(predicted) == 0:
        return float("nan")
    return float(stats.spearmanr(y, predicted).statistic)


def _micro(test: Scores) -> Values:
    labelled = ~np.isnan(test.y_true)
    y, s, calls = test.y_true[labelled], test.y_score[labelled], test.calls()[labelled].astype(np.float64)
    ones = np.ones((1, len(y)))
    return {
        ("auroc", MICRO): auroc(y, s, ones),
        ("auprc", MICRO): average_precision(y, s, ones),
        ("f1", MICRO): call_metrics(y, calls, ones)["f1"],
    }


def _best_thresholds(validation: Scores) -> dict[str, float]:
    """Per sigmoid target, the validation score threshold with the best F1 (NaN if undefined)."""
    if validation.task not in ("binary", "multilabel"):
        return {}
    thresholds = {}
    for j, target in enumerate(validation.targets):
        labelled = validation.labelled(j)
        thresholds[target] = _best_threshold(validation.y_true[labelled, j], validation.y_score[labelled, j])
    return thresholds


def _best_threshold(y: np.ndarray, s: np.ndarray) -> float:
    if len(np.unique(y)) < 2:
        return float("nan")
    precision, recall, thresholds = precision_recall_curve(y, s)
    f1 = ratio(2 * precision * recall, precision + recall)[:-1]  # the last point has no threshold
    return float(thresholds[np.nanargmax(f1)])


def _warn_undefined(values: Values) -> None:
    for (metric, target), value in values.items():
        if np.isnan(value[0]):
            logger.warning(
                "%s for target %s is undefined (%s); written as NaN",
                metric,
                target,
                _why_undefined(metric, target, values),
            )


def _why_undefined(metric: str, target: str, values: Values) -> str:
    if metric == "threshold_best" or (
        metric == "f1_best" and np.isnan(values[("threshold_best", target)][0])
    ):
        return _WHY_UNDEFINED["threshold_best"]
    if target not in (MICRO, ALL) and values[("n", target)][0] == 0:
        return "no test example has a label for this target"
    return _WHY_UNDEFINED[metric]


def _averaged_targets(values: Values, test: Scores) -> dict[str, list[str]]:
    """Per macro metric, the targets where its point estimate is defined (the others are logged)."""
    averaged = {}
    for metric in _MACRO_METRICS[test.task] if len(test.targets) > 1 else ():
        defined = [t for t in test.targets if not np.isnan(values[(metric, t)][0])]
        left_out = [t for t in test.targets if t not in defined]
        if not defined:
            logger.warning("macro %s is undefined (undefined for every target); written as NaN", metric)
        elif left_out:
            logger.warning(
                "macro %s averages %d of %d targets (undefined for %s)",
                metric,
                len(defined),
                len(test.targets),
                ", ".join(left_out),
            )
        averaged[metric] = defined
    return averaged


def _headline_intervals(
    test: Scores,
    thresholds: Mapping[str, float],
    averaged: Mapping[str, list[str]],
    resampling: Resampling,
) -> dict[tuple[str, str], Interval]:
    """Bootstrap intervals of the headline rows; a macro row averages the same targets as its
    point estimate in every resample."""
    keys = headline_keys(test.task, test.targets)
    averaged_headline = {metric: targets for metric, targets in averaged.items() if (metric, MACRO) in keys}

    def headline_values(w: np.ndarray) -> Values:
        values = task_values(test, thresholds, w)
        values.update(macro_values(values, averaged_headline, len(w)))
        return values

    return bootstrap_intervals(test.n, keys, headline_values, resampling)


def _table(
    values: Values, intervals: Mapping[tuple[str, str], Interval], targets: tuple[str, ...]
) -> pd.DataFrame:
    target_rank = {t: i for i, t in enumerate((*targets, MACRO, MICRO, ALL))}
    metric_rank = {m: i for i, m in enumerate(METRIC_ORDER)}
    keys = sorted(values, key=lambda key: (target_rank[key[1]], metric_rank[key[0]]))
    no_interval = (float("nan"), float("nan"))
    rows = [
        (metric, target, float(values[(metric, target)][0]), *intervals.get((metric, target), no_interval))
        for metric, target in keys
    ]
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)
