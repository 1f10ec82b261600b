"""biodl.training.initial_loss: chance values per loss, the measurement, the warning and the file."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import keras
import numpy as np
import pytest

from biodl.config.models import Training, check_model
from biodl.core.errors import InputError
from biodl.models.objectives import loss_for
from biodl.training.initial_loss import (
    InitialLoss,
    chance_loss,
    measure_initial_loss,
    read_initial_loss,
    report_initial_loss,
    write_initial_loss,
)


def _training(**settings: object) -> Training:
    return check_model("m", {"kind": "mlp", "training": settings}).training


TRAINING = _training()


def _entropy(p: float) -> float:
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def test_binary_chance_is_ln_2_when_balanced_and_the_prevalence_entropy_otherwise() -> None:
    loss = loss_for("binary", TRAINING)
    balanced = np.array([[0.0], [1.0]] * 10)
    assert chance_loss("binary", balanced, loss) == pytest.approx(math.log(2), rel=1e-5)
    unbalanced = np.array([[1.0]] * 2 + [[0.0]] * 8)
    assert chance_loss("binary", unbalanced, loss) == pytest.approx(_entropy(0.2), rel=1e-5)


def test_multiclass_chance_is_ln_k_when_balanced_and_the_class_entropy_otherwise() -> None:
    loss = loss_for("multiclass", TRAINING)
    balanced = np.eye(3)[np.arange(30) % 3]
    assert chance_loss("multiclass", balanced, loss) == pytest.approx(math.log(3), rel=1e-5)
    skewed = np.eye(3)[[0, 0, 1, 2]]
    expected = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    assert chance_loss("multiclass", skewed, loss) == pytest.approx(expected, rel=1e-5)


def test_masked_multilabel_chance_is_the_mean_entropy_over_present_labels() -> None:
    loss = loss_for("multilabel", TRAINING)
    full = np.array([[1, 0], [0, 0], [1, 0], [0, 1]], dtype=float)  # prevalences 0.5 and 0.25
    assert chance_loss("multilabel", full, loss) == pytest.approx(
        (math.log(2) + _entropy(0.25)) / 2, rel=1e-5
    )
    masked = np.array([[1, np.nan], [0, 1], [1, 0], [0, 0]])  # prevalences 1/2 and 1/3 (3 present)
    # Per example, the mean over its present labels; then the mean over examples.
    ln2, one, zero = math.log(2), -math.log(1 / 3), -math.log(2 / 3)
    per_example = [ln2, (ln2 + one) / 2, (ln2 + zero) / 2, (ln2 + zero) / 2]
    assert chance_loss("multilabel", masked, loss) == pytest.approx(np.mean(per_example), rel=1e-5)
    assert math.isnan(chance_loss("multilabel", np.full((3, 2), np.nan), loss))


def test_regression_chance_is_variance_plus_squared_mean_for_mse_and_huber_of_the_targets() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(0.3, 1.2, size=(500, 2))
    assert chance_loss("regression", y, loss_for("regression", TRAINING)) == pytest.approx(
        float(np.mean(y.var(axis=0) + y.mean(axis=0) ** 2)), rel=1e-4
    )
    huber = loss_for("regression", _training(regression_loss="huber", huber_delta=1.0))
    abs_y = np.abs(y)
    expected = np.mean(np.where(abs_y <= 1, 0.5 * y**2, abs_y - 0.5))
    assert chance_loss("regression", y, huber) == pytest.approx(float(expected), rel=1e-4)


class _Stream:
    """The start of a training stream: ``examples(epoch, start, stop)`` over fixed arrays."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        self.x, self.y, self.batch_size, self.n = x, y, batch_size, len(x)
        self.reads: list[tuple[int, int]] = []

    def examples(self, epoch: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        self.reads.append((start, stop))
        return self.x[start:stop], self.y[start:stop]


def _constant_model(bias: float) -> keras.Model:
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(
        1,
        activation="sigmoid",
        kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant(bias),
    )(inputs)
    return keras.Model(inputs, outputs)


def test_measurement_reads_the_first_examples_in_batches_and_compares_with_chance() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = (np.arange(40) % 4 == 0).astype("float32")[:, None]  # prevalence 0.25 in every prefix of 20
    stream = _Stream(x, y, batch_size=6)
    initial = measure_initial_loss(_constant_model(0.0), loss_for("binary", TRAINING), stream, "binary", 20)
    assert stream.reads == [(0, 6), (6, 12), (12, 18), (18, 20)]
    assert initial.examples == 20
    assert initial.loss == pytest.approx(math.log(2), rel=1e-5)  # predicts 0.5 whatever the input
    assert initial.chance == pytest.approx(_entropy(0.25), rel=1e-5)
    assert not initial.off()
    logit = math.log(0.25 / 0.75)
    at_chance = measure_initial_loss(
        _constant_model(logit), loss_for("binary", TRAINING), stream, "binary", 20
    )
    assert at_chance.ratio == pytest.approx(1.0, rel=1e-4)
    confident = measure_initial_loss(_constant_model(6.0), loss_for("binary", TRAINING), stream, "binary")
    assert confident.examples == 40 and confident.off()


def test_the_log_line_and_a_warning_when_far_from_chance(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="biodl.training.initial_loss"):
        report_initial_loss(InitialLoss(0.7, 0.6931, 512), "peaks/cnn")
    assert caplog.messages == ["[peaks/cnn] initial loss 0.7 (chance 0.6931, 512 training examples)"]
    assert all(r.levelno == logging.INFO for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="biodl.training.initial_loss"):
        report_initial_loss(InitialLoss(4.2, 0.6931, 64), "peaks/cnn")
        report_initial_loss(InitialLoss(0.2, 0.6931, 64), "peaks/cnn")
        report_initial_loss(InitialLoss(1.2, 0.6931, 64), "peaks/cnn", factor=1.5)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "6.06 times its chance value (more than 2 times above it)" in warnings[0]
    assert "inputs on a large scale" in warnings[0]
    assert "below it" in warnings[1] and "init_from" in warnings[1]
    assert "more than 1.5 times above" in warnings[2]


def test_no_ratio_and_no_warning_without_a_chance_value() -> None:
    assert math.isnan(InitialLoss(0.3, 0.0, 8).ratio) and not InitialLoss(0.3, 0.0, 8).off()


def test_the_file_round_trips_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    initial = InitialLoss(0.75, 0.6931, 128)
    write_initial_loss(initial, tmp_path / "initial_loss.tsv")
    assert (tmp_path / "initial_loss.tsv").read_text().splitlines()[0].split("\t") == [
        "examples",
        "initial_loss",
        "chance_loss",
        "ratio",
    ]
    assert read_initial_loss(tmp_path / "initial_loss.tsv") == initial
    (tmp_path / "bad.tsv").write_text("examples\tinitial_loss\n3\t0.7\n")
    with pytest.raises(InputError, match="chance_loss"):
        read_initial_loss(tmp_path / "bad.tsv")
