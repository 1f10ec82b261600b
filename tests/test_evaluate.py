"""biodl.evaluate: metrics equal scikit-learn's, undefined metrics, predictions."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from biodl.dataset import load_labels, load_metadata, open_dataset
from biodl.evaluate import compute_metrics, evaluate_model
from biodl.predictions import Scores, scores_from_predictions
from biodl.summary import read_metrics
from biodl.io import METADATA_COLUMNS
from biodl.models import build_model
from biodl.train import save_model
from biodl.validate import InputError

SMALL_MODEL = {"kind": "cnn1d", "conv_layers": [{"filters": 4, "kernel_size": 5, "pool_size": 4}], "dense_layers": [{"units": 4}]}


def _value(metrics: pd.DataFrame, metric: str, target: str) -> float:
    found = metrics.loc[(metrics["metric"] == metric) & (metrics["target"] == target), "value"]
    assert len(found) == 1, (metric, target)
    return float(found.iloc[0])


def _saved_model(dataset_dir: Path, path: Path, seed: int = 0) -> keras.Model:
    """An untrained (but seeded) model of the dataset's shape, saved like a trained one."""
    dataset = open_dataset(dataset_dir)
    keras.utils.set_random_seed(seed)
    model = build_model("small", SMALL_MODEL, dataset.input_shape, dataset.task, len(dataset.targets))
    save_model(model, path)
    return model


def test_binary_metrics_equal_scikit_learn() -> None:
    y = np.array([0, 0, 1, 1, 0, 1, 0, 1, 1, 0])
    s = np.array([0.1, 0.6, 0.8, 0.4, 0.2, 0.9, 0.55, 0.3, 0.7, 0.05])
    calls = (s > 0.5).astype(int)
    metrics = compute_metrics(Scores("binary", ("bound",), y[:, None].astype(float), s[:, None]))
    assert set(metrics["target"]) == {"bound"}
    expected = {
        "auroc": skm.roc_auc_score(y, s),
        "auprc": skm.average_precision_score(y, s),
        "f1": skm.f1_score(y, calls),
        "accuracy": skm.accuracy_score(y, calls),
        "precision": skm.precision_score(y, calls),
        "recall": skm.recall_score(y, calls),
        "n": 10,
        "n_positive": 5,
    }
    assert {m: _value(metrics, m, "bound") for m in expected} == pytest.approx(expected)


def test_multiclass_metrics_equal_scikit_learn() -> None:
    rng = np.random.default_rng(4)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 2, 1, 0])
    logits = rng.normal(size=(12, 3)) + 1.5 * np.eye(3)[labels]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    onehot = np.eye(3)[labels]
    predicted = probs.argmax(axis=1)
    metrics = compute_metrics(Scores("multiclass", ("a", "b", "c"), onehot, probs))
    assert _value(metrics, "auroc", "macro") == pytest.approx(skm.roc_auc_score(labels, probs, multi_class="ovr", average="macro"))
    assert _value(metrics, "auroc", "micro") == pytest.approx(skm.roc_auc_score(onehot, probs, average="micro"))
    assert _value(metrics, "auprc", "macro") == pytest.approx(skm.average_precision_score(onehot, probs, average="macro"))
    assert _value(metrics, "auprc", "micro") == pytest.approx(skm.average_precision_score(onehot, probs, average="micro"))
    assert _value(metrics, "f1", "macro") == pytest.approx(skm.f1_score(labels, predicted, average="macro"))
    assert _value(metrics, "precision", "macro") == pytest.approx(skm.precision_score(labels, predicted, average="macro"))
    assert _value(metrics, "recall", "macro") == pytest.approx(skm.recall_score(labels, predicted, average="macro"))
    assert _value(metrics, "accuracy", "macro") == pytest.approx(skm.accuracy_score(labels, predicted))
    assert _value(metrics, "f1", "b") == pytest.approx(skm.f1_score(labels == 1, predicted == 1))
    assert _value(metrics, "n_positive", "c") == 4
    assert _value(metrics, "n", "all") == 12


def test_multilabel_metrics_equal_scikit_learn() -> None:
    rng = np.random.default_rng(5)
    truth = (rng.random((20, 3)) < 0.5).astype(float)
    scores = np.clip(0.6 * truth + 0.5 * rng.random((20, 3)), 0, 1)
    calls = (scores > 0.5).astype(int)
    metrics = compute_metrics(Scores("multilabel", ("x", "y", "z"), truth, scores))
    assert _value(metrics, "auroc", "macro") == pytest.approx(skm.roc_auc_score(truth, scores, average="macro"))
    assert _value(metrics, "f1", "macro") == pytest.approx(skm.f1_score(truth, calls, average="macro"))
    assert _value(metrics, "accuracy", "macro") == pytest.approx(1 - skm.hamming_loss(truth, calls))
    assert _value(metrics, "auprc", "z") == pytest.approx(skm.average_precision_score(truth[:, 2], scores[:, 2]))


def test_undefined_metrics_are_nan_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    y = np.zeros((6, 1))
    s = np.array([[0.1], [0.2], [0.3], [0.4], [0.45], [0.6]])
    with caplog.at_level(logging.WARNING, logger="biodl.evaluate"):
        metrics = compute_metrics(Scores("binary", ("bound",), y, s))
    for metric in ("auroc", "auprc", "recall"):
        assert math.isnan(_value(metrics, metric, "bound")), metric
    assert _value(metrics, "accuracy", "bound") == pytest.approx(5 / 6)
    assert _value(metrics, "precision", "bound") == 0.0  # one false positive: defined
    assert _value(metrics, "f1", "bound") == 0.0
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "auroc for target bound is undefined (only one class in the test labels)" in warned


def test_a_single_class_test_split_is_evaluated_with_nan_written_out(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    dataset_dir = make_dataset(sizes=(40, 10, 1))
    _saved_model(dataset_dir, tmp_path / "model.keras")
    evaluate_model(dataset_dir, tmp_path / "model.keras", tmp_path / "predictions.tsv", tmp_path / "metrics.tsv")
    assert "auroc\tbound\tNaN\n" in (tmp_path / "metrics.tsv").read_text()
    assert math.isnan(_value(read_metrics(tmp_path / "metrics.tsv"), "auroc", "bound"))


def test_macro_average_skips_an_absent_class_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    onehot = np.eye(3)[[0, 1, 0, 1, 0, 1]]
    probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.4, 0.5, 0.1], [0.3, 0.6, 0.1], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1]])
    with caplog.at_level(logging.WARNING, logger="biodl.evaluate"):
        metrics = compute_metrics(Scores("multiclass", ("a", "b", "c"), onehot, probs))
    assert math.isnan(_value(metrics, "auroc", "c"))
    assert _value(metrics, "auroc", "macro") == pytest.approx(np.mean([_value(metrics, "auroc", t) for t in "ab"]))
    assert "macro auroc averages 2 of 3 targets (undefined for c)" in caplog.text


def test_predictions_keep_metadata_order_and_match_the_model(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    dataset_dir = make_dataset(shard_size=16, ambiguous="iupac")
    model = _saved_model(dataset_dir, tmp_path / "model.keras")
    evaluation = evaluate_model(dataset_dir, tmp_path / "model.keras", tmp_path / "predictions.tsv", tmp_path / "metrics.tsv")
    dataset = open_dataset(dataset_dir)
    predictions = pd.read_csv(tmp_path / "predictions.tsv", sep="\t", keep_default_na=False)
    metadata = load_metadata(dataset, "test")
    assert list(predictions.columns) == [*METADATA_COLUMNS['dna'], "y_true", "y_score"]
    pd.testing.assert_frame_equal(predictions[list(METADATA_COLUMNS['dna'])], metadata, check_dtype=False)
    np.testing.assert_array_equal(predictions["y_true"], load_labels(dataset, "test")[:, 0])
    stored = np.concatenate([np.load(dataset_dir / f"{shard}.x.npy") for shard in dataset.split("test").shards]).astype("float32")
    stored /= np.maximum(stored.sum(axis=-1, keepdims=True), 1)
    np.testing.assert_allclose(predictions["y_score"], np.asarray(model(stored))[:, 0], rtol=1e-5)
    metrics = read_metrics(tmp_path / "metrics.tsv")
    assert _value(metrics, "n", "bound") == 40
    assert evaluation.model == "small" and evaluation.dataset == "fixture_binary"


@pytest.mark.parametrize(
    ("task", "score_columns"),
    [
        ("multiclass", ["y_true", "y_pred", "p_alpha", "p_beta", "p_gamma"]),
        ("multilabel", ["true_site_a", "true_site_b", "score_site_a", "score_site_b"]),
    ],
)
def test_prediction_columns_per_task(make_dataset: Callable[..., Path], tmp_path: Path, task: str, score_columns: list[str]) -> None:
    dataset_dir = make_dataset(task=task)
    _saved_model(dataset_dir, tmp_path / "model.keras")
    evaluation = evaluate_model(dataset_dir, tmp_path / "model.keras", tmp_path / "predictions.tsv", tmp_path / "metrics.tsv")
    predictions = pd.read_csv(tmp_path / "predictions.tsv", sep="\t", keep_default_na=False)
    assert list(predictions.columns) == [*METADATA_COLUMNS['dna'], *score_columns]
    if task == "multiclass":
        assert (predictions["y_true"] == predictions["label"]).all()
        assert set(predictions["y_pred"]) <= {"alpha", "beta", "gamma"}
    back = scores_from_predictions(predictions)
    assert back.task == task and back.targets == evaluation.scores.targets
    np.testing.assert_array_equal(back.y_true, evaluation.scores.y_true)
    np.testing.assert_allclose(back.y_score, evaluation.scores.y_score, rtol=1e-6)
    assert {"macro", "micro", "all"} <= set(read_metrics(tmp_path / "metrics.tsv")["target"])


def test_a_model_for_another_task_is_refused(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    _saved_model(make_dataset(task="multilabel"), tmp_path / "model.keras")
    with pytest.raises(InputError, match="outputs of shape"):
        evaluate_model(make_dataset(task="binary"), tmp_path / "model.keras", tmp_path / "p.tsv", tmp_path / "m.tsv")
    assert not (tmp_path / "p.tsv").exists()
