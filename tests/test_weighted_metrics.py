"""biodl.evaluation.weighted_metrics: a weight of k counts an example k times (so one block of
bootstrap resamples equals the metrics of each resample on its own), undefined values are NaN,
and the per-task rows are keyed as the contract says."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from biodl.evaluation.predictions import Scores
from biodl.evaluation.weighted_metrics import (
    ALL,
    MACRO,
    auroc,
    average_precision,
    call_metrics,
    classification_values,
    macro_values,
    ratio,
    regression_metrics,
    regression_values,
    task_values,
)


def _counts(n: int, rows: int, seed: int) -> np.ndarray:
    """Rows of draw counts, as bootstrap resamples give them (some examples weighted 0)."""
    drawn = np.random.default_rng(seed).integers(0, n, size=(rows, n))
    return np.stack([np.bincount(row, minlength=n) for row in drawn]).astype(np.float64)


@pytest.mark.parametrize("seed", range(6))
def test_classification_with_counts_equals_scikit_learn_on_repeated_examples(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 30
    y = (rng.random(n) < 0.45).astype(np.float64)
    s = np.round(rng.random(n), 1)  # ties
    calls = (s > 0.5).astype(np.float64)
    w = _counts(n, 5, seed)
    values = classification_values(y, s, calls, 0.35, w)
    for row, weights in enumerate(w):
        keep = np.repeat(np.arange(n), weights.astype(int))
        yk, sk, ck = y[keep], s[keep], calls[keep]
        if len(np.unique(yk)) < 2:
            assert np.isnan(values["auroc"][row])
            continue
        expected = {
            "auroc": skm.roc_auc_score(yk, sk),
            "auprc": skm.average_precision_score(yk, sk),
            "f1": skm.f1_score(yk, ck, zero_division=np.nan),
            "accuracy": skm.accuracy_score(yk, ck),
            "brier": skm.brier_score_loss(yk, sk),
            "f1_best": skm.f1_score(yk, sk >= 0.35, zero_division=np.nan),
            "n": float(n),
            "n_positive": yk.sum(),
        }
        found = {metric: values[metric][row] for metric in expected}
        assert found == pytest.approx(expected, nan_ok=True)


def test_regression_with_counts_equals_scipy_on_repeated_examples() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(size=20)
    predicted = y + rng.normal(scale=0.5, size=20)
    w = _counts(20, 4, 11)
    values = regression_values(y, predicted, w)
    for row, weights in enumerate(w):
        keep = np.repeat(np.arange(20), weights.astype(int))
        expected = {
            "mse": skm.mean_squared_error(y[keep], predicted[keep]),
            "mae": skm.mean_absolute_error(y[keep], predicted[keep]),
            "pearson_r": stats.pearsonr(y[keep], predicted[keep]).statistic,
            "r2": skm.r2_score(y[keep], predicted[keep]),
        }
        assert {metric: values[metric][row] for metric in expected} == pytest.approx(expected)


def test_undefined_values_are_nan() -> None:
    one_class, s, ones = np.ones(4), np.array([0.2, 0.4, 0.6, 0.8]), np.ones((1, 4))
    assert np.isnan(auroc(one_class, s, ones)).all()
    assert np.isnan(average_precision(np.zeros(4), s, ones)).all()  # no positive
    assert np.isnan(call_metrics(np.zeros(4), np.zeros(4), ones)["precision"]).all()  # none called
    assert np.isnan(classification_values(one_class, s, one_class, float("nan"), ones)["f1_best"]).all()
    # Only the drawn examples count: drawn values all equal make the correlation undefined.
    drawn_constant = np.array([[2.0, 1.0, 0.0, 0.0]])
    values = regression_values(np.array([1.0, 1.0, 3.0, 4.0]), s, drawn_constant)
    assert np.isnan(values["r2"]).all() and np.isnan(values["pearson_r"]).all()
    assert np.isnan(ratio(np.array([1.0, 2.0]), np.array([0.0, 4.0])))[0]
    assert regression_metrics(np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.0, 4.0]))["r2"] == 1.0


def test_task_values_are_keyed_per_target_with_task_rows_and_macro_averages() -> None:
    labels = np.array([0, 1, 2, 1, 0, 2])
    scores = Scores("multiclass", ("a", "b", "c"), np.eye(3)[labels], np.eye(3)[[0, 1, 1, 1, 0, 2]])
    w = np.ones((2, 6))
    w[1, :3] = 0  # the second weighting keeps the last three examples only
    values = task_values(scores, {}, w)
    assert values[("accuracy", ALL)] == pytest.approx([5 / 6, 1.0])
    assert values[("n", ALL)] == pytest.approx([6, 3])
    assert values[("n_positive", "c")] == pytest.approx([2, 1])
    macro = macro_values(values, {"recall": ["a", "b"], "f1": []}, 2)
    assert macro[("recall", MACRO)] == pytest.approx([1.0, 1.0])
    assert np.isnan(macro[("f1", MACRO)]).all()
    multilabel = Scores("multilabel", ("x", "y"), np.array([[1, np.nan], [0, 1]]), np.full((2, 2), 0.7))
    assert task_values(multilabel, {"x": 0.5, "y": 0.5}, np.ones((1, 2)))[("n", "y")] == pytest.approx([1])
