"""biodl.models.objectives: losses per task, missing multilabel labels masked out, metrics per task."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from biodl.config.models import check_model
from biodl.models.objectives import loss_for, masked_binary_crossentropy, training_metrics

TRAINING = {"regression_loss": "mse", "huber_delta": 1.0}


def test_missing_labels_add_nothing_to_the_multilabel_loss() -> None:
    y_pred = np.array([[0.9, 0.2, 0.6], [0.3, 0.7, 0.1]], dtype="float32")
    y_true = np.array([[1.0, np.nan, 0.0], [np.nan, np.nan, np.nan]], dtype="float32")
    loss = np.asarray(masked_binary_crossentropy(y_true, y_pred))
    expected_first = -(np.log(0.9) + np.log(1 - 0.6)) / 2
    np.testing.assert_allclose(loss, [expected_first, 0.0], rtol=1e-5)
    # Whatever a missing label's prediction, the loss does not change.
    changed = y_pred.copy()
    changed[0, 1] = 0.01
    np.testing.assert_allclose(np.asarray(masked_binary_crossentropy(y_true, changed)), loss, rtol=1e-6)


def test_with_every_label_present_the_masked_loss_is_binary_cross_entropy() -> None:
    rng = np.random.default_rng(0)
    y_true = (rng.random((8, 3)) > 0.5).astype("float32")
    y_pred = rng.uniform(0.05, 0.95, (8, 3)).astype("float32")
    expected = np.asarray(keras.losses.binary_crossentropy(y_true, y_pred))
    np.testing.assert_allclose(np.asarray(masked_binary_crossentropy(y_true, y_pred)), expected, rtol=1e-5)


def test_masked_metrics_skip_missing_labels() -> None:
    auroc, _, accuracy = training_metrics("multilabel")
    y_true = np.array([[1.0, np.nan], [0.0, np.nan], [1.0, 0.0], [0.0, 1.0]], dtype="float32")
    y_pred = np.array([[0.9, 0.9], [0.1, 0.1], [0.8, 0.2], [0.3, 0.9]], dtype="float32")
    auroc.update_state(y_true, y_pred)
    accuracy.update_state(y_true, y_pred)
    # The six present labels are ranked and called perfectly; the missing ones would not be.
    assert float(auroc.result()) == pytest.approx(1.0)
    assert float(accuracy.result()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("training", "error", "expected"),
    [
        (TRAINING, 3.0, 9.0),
        ({"regression_loss": "huber", "huber_delta": 1.0}, 3.0, 2.5),
    ],
)
def test_regression_loss_follows_the_training_settings(training: dict, error: float, expected: float) -> None:
    loss = loss_for("regression", check_model("m", {"kind": "mlp", "training": training}).training)
    assert float(loss(np.array([[0.0]]), np.array([[error]]))) == pytest.approx(expected)


def test_regression_tracks_errors_and_classification_tracks_ranking() -> None:
    assert [m.name for m in training_metrics("regression")] == ["mae", "rmse"]
    for task in ("binary", "multiclass", "multilabel"):
        assert [m.name for m in training_metrics(task)] == ["auroc", "auprc", "accuracy"]
