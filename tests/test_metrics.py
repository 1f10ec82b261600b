"""biodl.evaluation.metrics: values equal scikit-learn's and scipy's, edge cases, thresholds, and
which rows get bootstrap intervals."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

from biodl.core.errors import InputError
from biodl.evaluation.metrics import (
    HEADLINE_METRICS,
    METRIC_COLUMNS,
    compute_metrics,
    headline_keys,
    headline_target,
)
from biodl.evaluation.predictions import Scores
from biodl.evaluation.weighted_metrics import regression_metrics


def value(metrics: pd.DataFrame, metric: str, target: str, column: str = "value") -> float:
    found = metrics.loc[(metrics["metric"] == metric) & (metrics["target"] == target), column]
    assert len(found) == 1, (metric, target)
    return float(found.iloc[0])


def evaluate(
    test: Scores,
    validation: Scores | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    return compute_metrics(test, validation or test, seed=seed, bootstrap=bootstrap, confidence=confidence)


def binary(y: np.ndarray | list[float], s: np.ndarray | list[float]) -> Scores:
    return Scores(
        "binary", ("bound",), np.asarray(y, dtype=float)[:, None], np.asarray(s, dtype=float)[:, None]
    )


def warnings_of(caplog: pytest.LogCaptureFixture) -> str:
    """The warnings of the evaluation modules (metrics, and bootstrap for the intervals)."""
    return "\n".join(
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name.startswith("biodl.evaluation.")
    )


Y = np.array([0, 0, 1, 1, 0, 1, 0, 1, 1, 0])
S = np.array([0.1, 0.6, 0.8, 0.4, 0.2, 0.9, 0.55, 0.3, 0.7, 0.05])


@pytest.mark.parametrize(
    ("case", "y", "s"),
    [
        ("mixed", Y, S),
        ("perfect separation", Y, np.where(Y == 1, 0.9, 0.1) + 0.01 * np.arange(10)),
        ("tied scores", Y, np.round(S, 0)),
        ("all scores equal", Y, np.full(10, 0.5)),
        ("ranking reversed", Y, 1 - S),
    ],
)
def test_binary_metrics_equal_scikit_learn(case: str, y: np.ndarray, s: np.ndarray) -> None:
    metrics = evaluate(binary(y, s))
    calls = (s > 0.5).astype(int)
    expected = {
        "auroc": skm.roc_auc_score(y, s),
        "auprc": skm.average_precision_score(y, s),
        "f1": skm.f1_score(y, calls, zero_division=np.nan),
        "precision": skm.precision_score(y, calls, zero_division=np.nan),
        "recall": skm.recall_score(y, calls),
        "accuracy": skm.accuracy_score(y, calls),
        "brier": skm.brier_score_loss(y, s),
        "n": 10,
        "n_positive": 5,
    }
    found = {m: value(metrics, m, "bound") for m in expected}
    assert found == pytest.approx(expected, nan_ok=True), case
    assert value(metrics, "n", "all") == 10


@pytest.mark.parametrize("seed", range(25))
def test_ranking_metrics_equal_scikit_learn_with_many_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 60))
    y = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(float)
    y[:2] = [0, 1]
    s = np.round(rng.random(n), int(rng.integers(0, 3)))  # 0 decimals: at most two distinct scores
    metrics = evaluate(binary(y, s))
    assert value(metrics, "auroc", "bound") == pytest.approx(skm.roc_auc_score(y, s))
    assert value(metrics, "auprc", "bound") == pytest.approx(skm.average_precision_score(y, s))


def test_metrics_table_has_the_contract_columns_and_rows() -> None:
    metrics = evaluate(binary(Y, S))
    assert list(metrics.columns) == METRIC_COLUMNS
    assert metrics["metric"].tolist() == [
        "auroc",
        "auprc",
        "f1",
        "f1_best",
        "threshold_best",
        "precision",
        "recall",
        "accuracy",
        "brier",
        "n_positive",
        "n",
        "n",
    ]
    assert metrics["target"].tolist() == ["bound"] * 11 + ["all"]
    assert metrics[["ci_low", "ci_high"]].isna().all().all()  # bootstrap=0: no intervals


@pytest.mark.parametrize("label", [0.0, 1.0])
def test_a_single_class_test_split_gives_nan_and_warnings_not_a_crash(
    label: float, caplog: pytest.LogCaptureFixture
) -> None:
    s = [0.1, 0.2, 0.3, 0.4, 0.45, 0.6]
    with caplog.at_level(logging.WARNING, logger="biodl.evaluation"):
        metrics = evaluate(binary(np.full(6, label), s), validation=binary(Y, S), bootstrap=50)
    for metric in ("auroc", "auprc"):
        assert math.isnan(value(metrics, metric, "bound")), metric
        assert math.isnan(value(metrics, metric, "bound", "ci_low"))
    expected_accuracy = 5 / 6 if label == 0 else 1 / 6
    assert value(metrics, "accuracy", "bound") == pytest.approx(expected_accuracy)
    warned = warnings_of(caplog)
    assert (
        "auroc for target bound is undefined (the test labels have a single class); written as NaN" in warned
    )
    assert "no bootstrap interval for auroc of target bound: undefined in every resample" in warned
    if label == 0:  # one false positive: precision 0 is defined, recall is not
        assert value(metrics, "precision", "bound") == 0.0
        assert math.isnan(value(metrics, "recall", "bound"))
        assert "recall for target bound is undefined (no positive test example)" in warned


def test_no_positive_call_makes_precision_undefined(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="biodl.evaluation"):
        metrics = evaluate(binary(Y, S * 0.4))
    assert math.isnan(value(metrics, "precision", "bound"))
    assert value(metrics, "recall", "bound") == 0.0
    assert value(metrics, "f1", "bound") == 0.0
    assert "precision for target bound is undefined (no test example called positive)" in warnings_of(caplog)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_multiclass_metrics_equal_scikit_learn() -> None:
    rng = np.random.default_rng(4)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 2, 1, 0, 2, 2])
    probs = _softmax(rng.normal(size=(14, 3)) + 1.5 * np.eye(3)[labels])
    onehot = np.eye(3)[labels]
    predicted = probs.argmax(axis=1)
    metrics = evaluate(Scores("multiclass", ("a", "b", "c"), onehot, probs))
    assert value(metrics, "auroc", "macro") == pytest.approx(
        skm.roc_auc_score(labels, probs, multi_class="ovr", average="macro")
    )
    assert value(metrics, "auroc", "micro") == pytest.approx(
        skm.roc_auc_score(onehot, probs, average="micro")
    )
    assert value(metrics, "auprc", "macro") == pytest.approx(
        skm.average_precision_score(onehot, probs, average="macro")
    )
    assert value(metrics, "auprc", "micro") == pytest.approx(
        skm.average_precision_score(onehot, probs, average="micro")
    )
    for average in ("macro", "micro"):
        assert value(metrics, "f1", average) == pytest.approx(
            skm.f1_score(labels, predicted, average=average)
        )
    assert value(metrics, "precision", "macro") == pytest.approx(
        skm.precision_score(labels, predicted, average="macro")
    )
    assert value(metrics, "recall", "macro") == pytest.approx(
        skm.recall_score(labels, predicted, average="macro")
    )
    assert value(metrics, "accuracy", "all") == pytest.approx(skm.accuracy_score(labels, predicted))
    assert value(metrics, "brier", "macro") == pytest.approx(skm.brier_score_loss(labels, probs) / 3)
    assert value(metrics, "f1", "b") == pytest.approx(skm.f1_score(labels == 1, predicted == 1))
    assert value(metrics, "auroc", "c") == pytest.approx(skm.roc_auc_score(labels == 2, probs[:, 2]))
    assert value(metrics, "n_positive", "c") == 6
    assert value(metrics, "n", "all") == 14
    assert not {"f1_best", "threshold_best"} & set(metrics["metric"])  # no threshold for softmax calls


def test_a_class_absent_from_test_is_left_out_of_macro_averages_and_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    labels = np.array([0, 1, 0, 1, 0, 1, 1])
    onehot = np.eye(3)[labels]
    probs = np.array(
        [
            [0.7, 0.2, 0.1],
            [0.2, 0.7, 0.1],
            [0.4, 0.5, 0.1],
            [0.3, 0.6, 0.1],
            [0.8, 0.1, 0.1],
            [0.1, 0.8, 0.1],
            [0.2, 0.3, 0.5],
        ]
    )
    with caplog.at_level(logging.WARNING, logger="biodl.evaluation"):
        metrics = evaluate(Scores("multiclass", ("a", "b", "c"), onehot, probs), bootstrap=100)
    assert math.isnan(value(metrics, "auroc", "c"))
    present = onehot[:, :2], probs[:, :2]
    assert value(metrics, "auroc", "macro") == pytest.approx(skm.roc_auc_score(*present, average="macro"))
    assert value(metrics, "auprc", "macro") == pytest.approx(
        skm.average_precision_score(*present, average="macro")
    )
    # Recall of c is undefined (no example of c); c's precision is defined (one false call).
    predicted = probs.argmax(axis=1)
    assert value(metrics, "recall", "macro") == pytest.approx(
        skm.recall_score(labels, predicted, labels=[0, 1], average="macro")
    )
    assert value(metrics, "precision", "macro") == pytest.approx(
        skm.precision_score(labels, predicted, labels=[0, 1, 2], average="macro")
    )
    low, high = value(metrics, "auroc", "macro", "ci_low"), value(metrics, "auroc", "macro", "ci_high")
    assert low <= value(metrics, "auroc", "macro") <= high
    warned = warnings_of(caplog)
    assert "auroc for target c is undefined (the test labels have a single class)" in warned
    assert "macro auroc averages 2 of 3 targets (undefined for c)" in warned


def test_multilabel_metrics_use_only_the_labels_present() -> None:
    rng = np.random.default_rng(5)
    truth = (rng.random((40, 3)) < 0.5).astype(float)
    scores = np.clip(0.5 * truth + 0.6 * rng.random((40, 3)), 0, 1)
    truth[rng.random((40, 3)) < 0.25] = np.nan
    metrics = evaluate(Scores("multilabel", ("x", "y", "z"), truth, scores))
    per_target = []
    for j, target in enumerate("xyz"):
        labelled = ~np.isnan(truth[:, j])
        y, s = truth[labelled, j], scores[labelled, j]
        per_target.append(skm.roc_auc_score(y, s))
        assert value(metrics, "n", target) == labelled.sum()
        assert value(metrics, "auprc", target) == pytest.approx(skm.average_precision_score(y, s))
        assert value(metrics, "accuracy", target) == pytest.approx(skm.accuracy_score(y, s > 0.5))
        assert value(metrics, "brier", target) == pytest.approx(skm.brier_score_loss(y, s))
    assert value(metrics, "auroc", "macro") == pytest.approx(np.mean(per_target))
    present = ~np.isnan(truth)
    assert value(metrics, "auroc", "micro") == pytest.approx(
        skm.roc_auc_score(truth[present], scores[present])
    )
    assert value(metrics, "f1", "micro") == pytest.approx(skm.f1_score(truth[present], scores[present] > 0.5))
    assert value(metrics, "n", "all") == 40


def test_a_target_without_any_label_is_undefined_and_said(caplog: pytest.LogCaptureFixture) -> None:
    truth = np.array([[1, np.nan], [0, np.nan], [1, np.nan], [0, np.nan]])
    scores = np.array([[0.9, 0.2], [0.2, 0.7], [0.6, 0.4], [0.4, 0.1]])
    with caplog.at_level(logging.WARNING, logger="biodl.evaluation"):
        metrics = evaluate(Scores("multilabel", ("x", "y"), truth, scores), bootstrap=20)
    assert value(metrics, "n", "y") == 0
    rates = metrics[(metrics["target"] == "y") & ~metrics["metric"].isin(["n", "n_positive"])]
    assert len(rates) == 9 and rates["value"].isna().all()
    assert value(metrics, "accuracy", "macro") == value(metrics, "accuracy", "x") == 1.0
    assert "accuracy for target y is undefined (no test example has a label for this target)" in warnings_of(
        caplog
    )


def test_the_best_f1_threshold_comes_from_validation_not_test() -> None:
    validation = binary([0, 0, 0, 1, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.35, 0.6, 0.65, 0.7, 0.9])
    test = binary([0, 0, 1, 1, 0, 1, 1, 0], [0.1, 0.4, 0.45, 0.5, 0.55, 0.6, 0.8, 0.3])
    metrics = evaluate(test, validation)
    precision, recall, thresholds = skm.precision_recall_curve(
        validation.y_true[:, 0], validation.y_score[:, 0]
    )
    f1 = 2 * precision * recall / (precision + recall)
    chosen = thresholds[np.argmax(f1[:-1])]
    assert chosen == 0.35
    assert value(metrics, "threshold_best", "bound") == chosen
    y, s = test.y_true[:, 0], test.y_score[:, 0]
    assert value(metrics, "f1_best", "bound") == pytest.approx(skm.f1_score(y, s >= chosen))
    # The threshold that would be best on test gives a higher F1: it was not used.
    test_best = max(skm.f1_score(y, s >= t) for t in s)
    assert test_best > value(metrics, "f1_best", "bound")


def test_a_single_class_validation_split_leaves_the_threshold_undefined(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="biodl.evaluation"):
        metrics = evaluate(binary(Y, S), validation=binary(np.zeros(4), [0.1, 0.2, 0.3, 0.4]))
    assert math.isnan(value(metrics, "threshold_best", "bound"))
    assert math.isnan(value(metrics, "f1_best", "bound"))
    assert value(metrics, "f1", "bound") == pytest.approx(skm.f1_score(Y, S > 0.5))
    assert (
        "f1_best for target bound is undefined (fewer than two classes among the validation labels)"
        in warnings_of(caplog)
    )


def _noisy_binary(n: int, seed: int) -> Scores:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(float)
    return binary(y, np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1))


def _intervals(metrics: pd.DataFrame) -> pd.DataFrame:
    return metrics.loc[metrics["ci_low"].notna(), ["metric", "target", "ci_low", "ci_high"]].reset_index(
        drop=True
    )


def test_bootstrap_intervals_are_reproducible_and_depend_on_the_seed() -> None:
    scores = _noisy_binary(120, seed=1)
    first = evaluate(scores, bootstrap=300, seed=11)
    pd.testing.assert_frame_equal(first, evaluate(scores, bootstrap=300, seed=11))
    other = evaluate(scores, bootstrap=300, seed=12)
    pd.testing.assert_series_equal(first["value"], other["value"])
    assert not np.allclose(_intervals(first)[["ci_low", "ci_high"]], _intervals(other)[["ci_low", "ci_high"]])


def test_intervals_are_given_for_the_headline_metrics_only_and_contain_the_estimate() -> None:
    metrics = evaluate(_noisy_binary(200, seed=2), bootstrap=400, seed=3)
    intervals = _intervals(metrics)
    assert list(zip(intervals["metric"], intervals["target"], strict=True)) == [
        ("auroc", "bound"),
        ("auprc", "bound"),
        ("f1", "bound"),
        ("accuracy", "bound"),
    ]
    for row in intervals.itertuples():
        estimate = value(metrics, row.metric, row.target)
        assert row.ci_low < estimate < row.ci_high, row.metric
        assert row.ci_high - row.ci_low < 0.3, row.metric  # 200 examples: not a vacuous interval
    narrower = evaluate(_noisy_binary(200, seed=2), bootstrap=400, seed=3, confidence=0.5)
    assert (
        _intervals(narrower)["ci_high"] - _intervals(narrower)["ci_low"]
        < intervals["ci_high"] - intervals["ci_low"]
    ).all()


def test_bootstrap_percentiles_equal_scikit_learn_on_the_drawn_resamples(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The contract: resample test examples with default_rng(seed); skip undefined resamples."""
    scores = _noisy_binary(12, seed=4)
    y, s = scores.y_true[:, 0], scores.y_score[:, 0]
    with caplog.at_level(logging.WARNING, logger="biodl.evaluation"):
        metrics = evaluate(scores, bootstrap=200, seed=9, confidence=0.9)
    drawn = np.random.default_rng(9).integers(0, 12, size=(200, 12))
    aurocs = [skm.roc_auc_score(y[i], s[i]) for i in drawn if len(np.unique(y[i])) == 2]
    accuracies = [skm.accuracy_score(y[i], s[i] > 0.5) for i in drawn]
    assert value(metrics, "auroc", "bound", "ci_low") == pytest.approx(np.quantile(aurocs, 0.05))
    assert value(metrics, "auroc", "bound", "ci_high") == pytest.approx(np.quantile(aurocs, 0.95))
    assert value(metrics, "accuracy", "bound", "ci_high") == pytest.approx(np.quantile(accuracies, 0.95))
    assert len(aurocs) < 200  # 12 examples: some resamples hold one class, and are skipped
    assert f"bootstrap interval of auroc for target bound uses {len(aurocs)} of 200 resamples" in warnings_of(
        caplog
    )


def test_multiclass_headline_intervals_cover_the_macro_rows_and_top1_accuracy() -> None:
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 3, 90)
    probs = _softmax(rng.normal(size=(90, 3)) + 1.2 * np.eye(3)[labels])
    metrics = evaluate(Scores("multiclass", ("a", "b", "c"), np.eye(3)[labels], probs), bootstrap=200, seed=1)
    assert list(zip(*_intervals(metrics)[["metric", "target"]].to_numpy().T, strict=True)) == [
        ("auroc", "macro"),
        ("auprc", "macro"),
        ("f1", "macro"),
        ("accuracy", "all"),
    ]


def _regression(
    truth: np.ndarray, predicted: np.ndarray, targets: tuple[str, ...] = ("expression",)
) -> Scores:
    return Scores("regression", targets, truth.reshape(len(truth), -1), predicted.reshape(len(truth), -1))


def test_regression_metrics_equal_scipy_and_scikit_learn() -> None:
    rng = np.random.default_rng(7)
    truth = rng.normal(3, 2, size=(50, 2))
    predicted = truth * 0.8 + rng.normal(0, 1, size=(50, 2))
    predicted[:5, 0] = predicted[5, 0]  # ties in the predictions
    metrics = evaluate(_regression(truth, predicted, ("expr", "halflife")), bootstrap=200)
    for j, target in enumerate(("expr", "halflife")):
        y, p = truth[:, j], predicted[:, j]
        expected = {
            "mse": skm.mean_squared_error(y, p),
            "mae": skm.mean_absolute_error(y, p),
            "pearson_r": stats.pearsonr(y, p).statistic,
            "spearman_r": stats.spearmanr(y, p).statistic,
            "r2": skm.r2_score(y, p),
            "n": 50,
        }
        assert {m: value(metrics, m, target) for m in expected} == pytest.approx(expected)
    assert value(metrics, "r2", "macro") == pytest.approx(
        skm.r2_score(truth, predicted, multioutput="uniform_average")
    )
    assert value(metrics, "mse", "macro") == pytest.approx(skm.mean_squared_error(truth, predicted))
    assert list(zip(*_intervals(metrics)[["metric", "target"]].to_numpy().T, strict=True)) == [
        (m, "macro") for m in HEADLINE_METRICS["regression"]
    ]
    for metric in HEADLINE_METRICS["regression"]:
        assert (
            value(metrics, metric, "macro", "ci_low")
            <= value(metrics, metric, "macro")
            <= value(metrics, metric, "macro", "ci_high")
        )


def test_regression_with_missing_labels_and_one_target_uses_its_own_row_as_headline() -> None:
    truth = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 7.0])
    predicted = np.array([1.5, 1.5, 9.0, 4.5, 4.0, 6.0])
    metrics = evaluate(_regression(truth, predicted), bootstrap=50)
    labelled = ~np.isnan(truth)
    assert value(metrics, "n", "expression") == 5
    assert value(metrics, "r2", "expression") == pytest.approx(
        skm.r2_score(truth[labelled], predicted[labelled])
    )
    assert "macro" not in set(metrics["target"])
    assert not math.isnan(value(metrics, "mse", "expression", "ci_low"))


def test_constant_observations_make_r2_and_correlations_undefined(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="biodl.evaluation"):
        metrics = evaluate(_regression(np.full(5, 2.0), np.array([1.0, 2.0, 3.0, 2.5, 2.0])))
    for metric in ("r2", "pearson_r", "spearman_r"):
        assert math.isnan(value(metrics, metric, "expression")), metric
    assert value(metrics, "mse", "expression") == pytest.approx(
        skm.mean_squared_error(np.full(5, 2.0), [1.0, 2.0, 3.0, 2.5, 2.0])
    )
    assert "r2 for target expression is undefined (the observed values are constant)" in warnings_of(caplog)
    assert math.isnan(regression_metrics(np.array([1.0, 2.0]), np.array([3.0, 3.0]))["pearson_r"])


def test_headline_targets_per_task() -> None:
    assert headline_keys("binary", ("bound",)) == [
        ("auroc", "bound"),
        ("auprc", "bound"),
        ("f1", "bound"),
        ("accuracy", "bound"),
    ]
    assert headline_keys("multiclass", ("a", "b")) == [
        ("auroc", "macro"),
        ("auprc", "macro"),
        ("f1", "macro"),
        ("accuracy", "all"),
    ]
    assert headline_target("multilabel", ("x", "y"), "accuracy") == "macro"
    assert headline_target("regression", ("expr",)) == "expr"
    assert headline_target("regression", ("expr", "halflife")) == "macro"


def test_a_target_named_like_an_average_is_refused() -> None:
    scores = Scores("multiclass", ("macro", "b"), np.eye(2)[[0, 1]], np.array([[0.6, 0.4], [0.3, 0.7]]))
    with pytest.raises(InputError, match="macro would clash"):
        evaluate(scores)
