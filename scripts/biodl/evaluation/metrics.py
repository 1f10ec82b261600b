"""Test-set metrics of one run, with seeded bootstrap confidence intervals (no TensorFlow).

Contract:
- ``compute_metrics(test, validation, *, seed, bootstrap, confidence)`` returns one row per
  metric and target, columns ``metric, target, value, ci_low, ci_high`` (``METRIC_COLUMNS``).
  ``write_metrics`` / ``read_metrics`` store it as ``metrics.tsv``, a missing number (undefined
  value, interval not computed) spelled ``NaN``.
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
  ``headline_target(task, targets, metric)``) get percentile bootstrap intervals at level
  ``confidence``: ``bootstrap`` resamples of the test examples (with replacement, drawn from
  ``numpy.random.default_rng(seed)``, so the same seed gives the same intervals); the threshold
  from validation is kept fixed; a resample where the metric is undefined (for a macro
  average: undefined for any target the point estimate averages) is skipped, and the number
  used is logged. ``bootstrap=0``: no intervals. Point estimates and resamples share one
  implementation, weighted by how often each example is drawn (all ones for the estimate),
  vectorised over resamples.
- ``headline_keys(task, targets)`` lists the headline (metric, target) rows, ``metric_row`` reads
  one row back, ``headline_text`` formats the headline for a log; ``PRIMARY_METRIC[task]`` is the
  one metric that ranks runs (auroc, or r2 for regression); ``regression_metrics(y, p)`` gives
  one target's point estimates for figure titles.
- ``confusion_matrices(scores)``: counts, true classes as rows and calls as columns: one K x K
  matrix (target ``all``) for multiclass, one 2 x 2 per target (labelled examples) otherwise.
  ``confusion_table`` is the same in long form (``confusion.tsv``: target, true, predicted,
  count).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from os import PathLike

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import confusion_matrix, precision_recall_curve

from biodl.core.errors import require, require_file
from biodl.core.files import write_tsv
from biodl.evaluation.predictions import Scores

logger = logging.getLogger(__name__)

METRIC_COLUMNS = ["metric", "target", "value", "ci_low", "ci_high"]
CONFUSION_COLUMNS = ["target", "true", "predicted", "count"]
MACRO, MICRO, ALL = "macro", "micro", "all"
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
# Resample weights held in memory at once (entries): bounds memory on large test splits.
_RESAMPLE_BLOCK = 2_000_000

# (metric, target) → one value per weighting of the test examples (the estimate, or resamples).
Values = dict[tuple[str, str], np.ndarray]


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
    values.update(_macro(values, averaged, 1))
    intervals = (
        _bootstrap_intervals(test, thresholds, averaged, seed, bootstrap, confidence) if bootstrap else {}
    )
    return _table(values, intervals, test.targets)


# ---- weighted metrics: labels and scores (n,), weights (B, n) → one value per row of weights


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.full(np.shape(numerator), np.nan)
    return np.divide(numerator, denominator, out=out, where=denominator > 0)


def _mean(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    return _ratio(w @ values, w.sum(axis=1))


def _tied_groups(
    y: np.ndarray, s: np.ndarray, w: np.ndarray, descending: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted positives and negatives per group of equal scores, groups in score order: (B, G) each."""
    if len(s) == 0:
        return np.zeros((len(w), 0)), np.zeros((len(w), 0))
    order = np.argsort(-s if descending else s, kind="stable")
    ranked = s[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    w_ranked, y_ranked = w[:, order], y[order]
    return np.add.reduceat(w_ranked * y_ranked, starts, axis=1), np.add.reduceat(
        w_ranked * (1 - y_ranked), starts, axis=1
    )


def _auroc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Probability that a positive outscores a negative, ties counting one half (Mann-Whitney)."""
    positives, negatives = _tied_groups(y, s, w, descending=False)
    below_or_half_tied = np.cumsum(negatives, axis=1) - negatives / 2
    return _ratio((positives * below_or_half_tied).sum(axis=1), positives.sum(axis=1) * negatives.sum(axis=1))


def _average_precision(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Precision at each distinct threshold, weighted by the recall gained there."""
    positives, negatives = _tied_groups(y, s, w, descending=True)
    true_calls = np.cumsum(positives, axis=1)
    precision = np.nan_to_num(_ratio(true_calls, true_calls + np.cumsum(negatives, axis=1)))
    total_positive, total_negative = positives.sum(axis=1), negatives.sum(axis=1)
    ap = _ratio((positives * precision).sum(axis=1), total_positive)
    return np.where(total_negative > 0, ap, np.nan)


def _call_metrics(y: np.ndarray, calls: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    true_pos, false_pos, false_neg = w @ (y * calls), w @ ((1 - y) * calls), w @ (y * (1 - calls))
    total = w.sum(axis=1)
    return {
        "f1": _ratio(2 * true_pos, 2 * true_pos + false_pos + false_neg),
        "precision": _ratio(true_pos, true_pos + false_pos),
        "recall": _ratio(true_pos, true_pos + false_neg),
        "accuracy": _ratio(total - false_pos - false_neg, total),
    }


def _classification(
    y: np.ndarray, s: np.ndarray, calls: np.ndarray, threshold: float | None, w: np.ndarray
) -> dict[str, np.ndarray]:
    values = {
        "auroc": _auroc(y, s, w),
        "auprc": _average_precision(y, s, w),
        **_call_metrics(y, calls, w),
        "brier": _mean((s - y) ** 2, w),
        "n_positive": w @ y,
        "n": w.sum(axis=1),
    }
    if threshold is not None:
        undefined = np.full(len(w), np.nan)
        values["f1_best"] = (
            undefined
            if np.isnan(threshold)
            else _call_metrics(y, (s >= threshold).astype(np.float64), w)["f1"]
        )
    return values


def _constant(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Whether the examples drawn (weight > 0) all share one value (or there are none)."""
    drawn = w > 0
    return ~(
        np.where(drawn, values, -np.inf).max(axis=1, initial=-np.inf)
        > np.where(drawn, values, np.inf).min(axis=1, initial=np.inf)
    )


def _centred(values: np.ndarray) -> np.ndarray:
    return values - values.mean() if len(values) else values


def _regression(y: np.ndarray, predicted: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    n = w.sum(axis=1)
    mse = _mean((predicted - y) ** 2, w)
    # Moments about the unweighted means: the same statistics, with less cancellation.
    yc, pc = _centred(y), _centred(predicted)
    y_mean, p_mean = _mean(yc, w), _mean(pc, w)
    y_var, p_var = _mean(yc**2, w) - y_mean**2, _mean(pc**2, w) - p_mean**2
    covariance = _mean(yc * pc, w) - y_mean * p_mean
    constant_y, constant_p = _constant(y, w), _constant(predicted, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        pearson = np.clip(covariance / np.sqrt(np.maximum(y_var * p_var, 0)), -1, 1)
        r2 = 1 - mse / y_var
    return {
        "mse": mse,
        "mae": _mean(np.abs(predicted - y), w),
        "pearson_r": np.where(constant_y | constant_p, np.nan, pearson),
        "r2": np.where(constant_y, np.nan, r2),
        "n": n,
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """mse, mae, pearson_r, r2 and n of one target's labelled examples (NaN where undefined)."""
    return {
        metric: float(v[0]) for metric, v in _regression(y_true, y_pred, np.ones((1, len(y_true)))).items()
    }


# ---- the table


def _weighted_values(test: Scores, thresholds: Mapping[str, float], w: np.ndarray) -> Values:
    """Every per-target metric and the task-level ones, for each row of weights ``w`` (B, n)."""
    values: Values = {}
    calls = None if test.task == "regression" else test.calls().astype(np.float64)
    for j, target in enumerate(test.targets):
        labelled = test.labelled(j)
        y, s, w_labelled = test.y_true[labelled, j], test.y_score[labelled, j], w[:, labelled]
        if calls is None:
            per_target = _regression(y, s, w_labelled)
        else:
            per_target = _classification(y, s, calls[labelled, j], thresholds.get(target), w_labelled)
        values.update({(metric, target): v for metric, v in per_target.items()})
    values[("n", ALL)] = w.sum(axis=1)
    if test.task == "multiclass":
        top1_right = (test.y_score.argmax(axis=1) == test.y_true.argmax(axis=1)).astype(np.float64)
        values[("accuracy", ALL)] = _mean(top1_right, w)
    return values


def _point_estimates(test: Scores, thresholds: Mapping[str, float]) -> Values:
    values = _weighted_values(test, thresholds, np.ones((1, test.n)))
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
        ("auroc", MICRO): _auroc(y, s, ones),
        ("auprc", MICRO): _average_precision(y, s, ones),
        ("f1", MICRO): _call_metrics(y, calls, ones)["f1"],
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
    f1 = _ratio(2 * precision * recall, precision + recall)[:-1]  # the last point has no threshold
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


def _macro(values: Values, averaged: Mapping[str, list[str]], size: int) -> Values:
    undefined = np.full(size, np.nan)
    return {
        (metric, MACRO): np.mean([values[(metric, t)] for t in targets], axis=0) if targets else undefined
        for metric, targets in averaged.items()
    }


def _resample_weights(n: int, resamples: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Blocks of (resamples, n) weights: how often each test example is drawn in each resample."""
    block = max(1, _RESAMPLE_BLOCK // n)
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        drawn = rng.integers(0, n, size=(size, n)) + n * np.arange(size)[:, None]
        yield np.bincount(drawn.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)


def _bootstrap_intervals(
    test: Scores,
    thresholds: Mapping[str, float],
    averaged: Mapping[str, list[str]],
    seed: int,
    resamples: int,
    confidence: float,
) -> dict[tuple[str, str], tuple[float, float]]:
    keys = headline_keys(test.task, test.targets)
    averaged_headline = {metric: targets for metric, targets in averaged.items() if (metric, MACRO) in keys}
    samples: dict[tuple[str, str], list[np.ndarray]] = {key: [] for key in keys}
    for w in _resample_weights(test.n, resamples, np.random.default_rng(seed)):
        values = _weighted_values(test, thresholds, w)
        values.update(_macro(values, averaged_headline, len(w)))
        for key in keys:
            samples[key].append(values[key])
    logger.info(
        "bootstrap: %d resamples of the %d test examples (seed %d), %g%% percentile intervals",
        resamples,
        test.n,
        seed,
        100 * confidence,
    )
    return {key: _percentile_interval(key, np.concatenate(samples[key]), confidence) for key in keys}


def _percentile_interval(key: tuple[str, str], samples: np.ndarray, confidence: float) -> tuple[float, float]:
    metric, target = key
    defined = samples[~np.isnan(samples)]
    if len(defined) == 0:
        logger.warning(
            "no bootstrap interval for %s of target %s: undefined in every resample", metric, target
        )
        return float("nan"), float("nan")
    if len(defined) < len(samples):
        logger.warning(
            "bootstrap interval of %s for target %s uses %d of %d resamples (undefined in the others)",
            metric,
            target,
            len(defined),
            len(samples),
        )
    low, high = np.quantile(defined, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def _table(
    values: Values, intervals: Mapping[tuple[str, str], tuple[float, float]], targets: tuple[str, ...]
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


# ---- files and lookups


def nan_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with missing numbers spelled ``NaN`` (an empty cell would read as "absent")."""
    numeric = frame.select_dtypes("number").columns
    return frame.astype({c: object for c in numeric}).fillna({c: "NaN" for c in numeric})


def write_metrics(metrics: pd.DataFrame, path: str | PathLike[str]) -> None:
    write_tsv(nan_as_text(metrics[METRIC_COLUMNS]), path)


def read_metrics(path: str | PathLike[str]) -> pd.DataFrame:
    """A ``metrics.tsv`` as written by ``write_metrics``."""
    path = require_file(path, "metrics file")
    numbers = METRIC_COLUMNS[2:]
    frame = pd.read_csv(
        path,
        sep="\t",
        dtype={"metric": str, "target": str},
        keep_default_na=False,
        na_values={c: ["NaN", "nan"] for c in numbers},
    )
    missing = [c for c in METRIC_COLUMNS if c not in frame.columns]
    require(not missing, path, "header", f"missing column(s) {', '.join(missing)}")
    for column in numbers:
        require(
            pd.api.types.is_numeric_dtype(frame[column]),
            path,
            f"column {column}",
            "expected numbers (or NaN) in every row",
        )
    return frame


def metric_row(
    metrics: pd.DataFrame, metric: str, target: str, source: str | PathLike[str]
) -> tuple[float, float, float]:
    """(value, ci_low, ci_high) of one metric and target; ``InputError`` unless exactly one row."""
    found = metrics[(metrics["metric"] == metric) & (metrics["target"] == target)]
    require(
        len(found) == 1, source, None, f"expected one {metric} row for target {target}, found {len(found)}"
    )
    row = found.iloc[0]
    return float(row["value"]), float(row["ci_low"]), float(row["ci_high"])


def headline_text(metrics: pd.DataFrame, task: str, targets: tuple[str, ...]) -> str:
    """The headline metrics as one line: ``auroc 0.912 [0.871, 0.948], ...``."""
    parts = []
    for metric, target in headline_keys(task, targets):
        value, low, high = metric_row(metrics, metric, target, "metrics")
        interval = "" if np.isnan(low) else f" [{low:.3f}, {high:.3f}]"
        parts.append(f"{metric} {value:.3f}{interval}")
    return ", ".join(parts)


def confusion_matrices(scores: Scores) -> dict[str, pd.DataFrame]:
    """Counts of true (rows) against called (columns) classes; see the module contract."""
    calls = scores.calls()
    if scores.task == "multiclass":
        classes = list(scores.targets)
        matrix = confusion_matrix(
            scores.y_true.argmax(axis=1), calls.argmax(axis=1), labels=range(len(classes))
        )
        return {ALL: _labelled_matrix(matrix, classes)}
    matrices = {}
    for j, target in enumerate(scores.targets):
        labelled = scores.labelled(j)
        matrix = confusion_matrix(
            scores.y_true[labelled, j].astype(np.int64), calls[labelled, j], labels=[0, 1]
        )
        matrices[target] = _labelled_matrix(matrix, [f"not {target}", target])
    return matrices


def _labelled_matrix(matrix: np.ndarray, classes: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        matrix, index=pd.Index(classes, name="true"), columns=pd.Index(classes, name="predicted")
    )


def confusion_table(scores: Scores) -> pd.DataFrame:
    """``confusion_matrices`` in long form: target, true, predicted, count."""
    parts = [
        matrix.stack().rename("count").reset_index().assign(target=target)
        for target, matrix in confusion_matrices(scores).items()
    ]
    return pd.concat(parts, ignore_index=True)[CONFUSION_COLUMNS]
