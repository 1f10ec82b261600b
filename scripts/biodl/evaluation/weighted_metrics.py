"""Metrics of weighted test examples, one value per weighting (no TensorFlow).

Contract:
- Every function takes one target's labels and scores (or predicted values), shape (n,), and
  weights ``w`` of shape (B, n): how often each example counts in each of B weightings. It
  returns one value per weighting, shape (B,). A row of ones is the point estimate; a row of
  bootstrap draw counts is one resample (``biodl.evaluation.bootstrap``). A metric with integer
  weights equals the same metric on the examples repeated that many times.
- ``classification_values(y, s, calls, threshold, w)``: ``auroc`` (ties count one half),
  ``auprc`` (average precision, step-wise, no interpolation), ``f1``, ``precision``,
  ``recall``, ``accuracy`` of the 0/1 ``calls``, ``brier``, ``n_positive``, ``n`` and, with a
  ``threshold`` (None: no row; NaN: undefined), ``f1_best`` of the calls ``s >= threshold``.
- ``regression_values(y, predicted, w)``: ``mse``, ``mae``, ``pearson_r``, ``r2`` (about the
  weighted mean of ``y``) and ``n``; ``regression_metrics(y, predicted)`` is their point estimate
  as plain floats (for figure titles).
- ``task_values(scores, thresholds, w)``: every per-target metric of a split's ``Scores`` (each
  target over its labelled examples) keyed by (metric, target), plus ``n`` of target ``ALL`` and,
  for multiclass, top-1 ``accuracy`` of target ``ALL``. ``macro_values(values, averaged, size)``:
  the unweighted mean over the targets listed per metric, as target ``MACRO`` (NaN when none).
- Undefined values (a zero denominator: one class only, nothing called positive, constant
  values, no example drawn) are NaN; nothing here warns or raises.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from biodl.evaluation.predictions import Scores

# Target names of the rows that are not one target: averages over targets, and the task as a whole.
MACRO, MICRO, ALL = "macro", "micro", "all"

# (metric, target) → one value per weighting of the test examples (the estimate, or resamples).
Values = dict[tuple[str, str], np.ndarray]


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, NaN where the denominator is not positive."""
    out = np.full(np.shape(numerator), np.nan)
    return np.divide(numerator, denominator, out=out, where=denominator > 0)


def _mean(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    return ratio(w @ values, w.sum(axis=1))


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


def auroc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Probability that a positive outscores a negative, ties counting one half (Mann-Whitney)."""
    positives, negatives = _tied_groups(y, s, w, descending=False)
    below_or_half_tied = np.cumsum(negatives, axis=1) - negatives / 2
    return ratio((positives * below_or_half_tied).sum(axis=1), positives.sum(axis=1) * negatives.sum(axis=1))


def average_precision(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Precision at each distinct threshold, weighted by the recall gained there."""
    positives, negatives = _tied_groups(y, s, w, descending=True)
    true_calls = np.cumsum(positives, axis=1)
    precision = np.nan_to_num(ratio(true_calls, true_calls + np.cumsum(negatives, axis=1)))
    total_positive, total_negative = positives.sum(axis=1), negatives.sum(axis=1)
    ap = ratio((positives * precision).sum(axis=1), total_positive)
    return np.where(total_negative > 0, ap, np.nan)


def call_metrics(y: np.ndarray, calls: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    """f1, precision, recall and accuracy of 0/1 ``calls`` against 0/1 labels ``y``."""
    true_pos, false_pos, false_neg = w @ (y * calls), w @ ((1 - y) * calls), w @ (y * (1 - calls))
    total = w.sum(axis=1)
    return {
        "f1": ratio(2 * true_pos, 2 * true_pos + false_pos + false_neg),
        "precision": ratio(true_pos, true_pos + false_pos),
        "recall": ratio(true_pos, true_pos + false_neg),
        "accuracy": ratio(total - false_pos - false_neg, total),
    }


def classification_values(
    y: np.ndarray, s: np.ndarray, calls: np.ndarray, threshold: float | None, w: np.ndarray
) -> dict[str, np.ndarray]:
    """One classification target's metrics (see the module contract)."""
    values = {
        "auroc": auroc(y, s, w),
        "auprc": average_precision(y, s, w),
        **call_metrics(y, calls, w),
        "brier": _mean((s - y) ** 2, w),
        "n_positive": w @ y,
        "n": w.sum(axis=1),
    }
    if threshold is not None:
        undefined = np.full(len(w), np.nan)
        values["f1_best"] = (
            undefined
            if np.isnan(threshold)
            else call_metrics(y, (s >= threshold).astype(np.float64), w)["f1"]
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


def regression_values(y: np.ndarray, predicted: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    """One regression target's metrics (see the module contract)."""
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
    ones = np.ones((1, len(y_true)))
    return {metric: float(v[0]) for metric, v in regression_values(y_true, y_pred, ones).items()}


def task_values(scores: Scores, thresholds: Mapping[str, float], w: np.ndarray) -> Values:
    """Every per-target metric and the task-level ones, for each row of weights ``w`` (B, n)."""
    values: Values = {}
    calls = None if scores.task == "regression" else scores.calls().astype(np.float64)
    for j, target in enumerate(scores.targets):
        labelled = scores.labelled(j)
        y, s, w_labelled = scores.y_true[labelled, j], scores.y_score[labelled, j], w[:, labelled]
        if calls is None:
            per_target = regression_values(y, s, w_labelled)
        else:
            per_target = classification_values(y, s, calls[labelled, j], thresholds.get(target), w_labelled)
        values.update({(metric, target): v for metric, v in per_target.items()})
    values[("n", ALL)] = w.sum(axis=1)
    if scores.task == "multiclass":
        top1_right = (scores.y_score.argmax(axis=1) == scores.y_true.argmax(axis=1)).astype(np.float64)
        values[("accuracy", ALL)] = _mean(top1_right, w)
    return values


def macro_values(values: Values, averaged: Mapping[str, list[str]], size: int) -> Values:
    """Per metric of ``averaged``, the mean over its listed targets (``size`` weightings)."""
    undefined = np.full(size, np.nan)
    return {
        (metric, MACRO): np.mean([values[(metric, t)] for t in targets], axis=0) if targets else undefined
        for metric, targets in averaged.items()
    }
