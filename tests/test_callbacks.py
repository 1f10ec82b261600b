"""biodl.training.callbacks: the update-to-weight ratio of each kernel (the other callbacks are
exercised through training in tests/test_loop.py and tests/test_checkpoint.py)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from biodl.training.callbacks import UpdateRatios, kernel_variables, update_ratio_columns


def _linear(learning_rate: float) -> keras.Model:
    keras.utils.set_random_seed(3)
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(1, name="linear")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    return model


def _data(n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype("float32")


def test_ratio_of_one_step_equals_the_hand_computed_sgd_update() -> None:
    model = _linear(0.1)
    x, y = _data()
    kernel, bias = (w.astype(np.float64) for w in model.get_weights())
    history = model.fit(
        x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0, callbacks=[UpdateRatios()]
    )
    # MSE over n examples: dL/dW = 2/n X^T (XW + b - y); SGD: ΔW = -lr dL/dW.
    residual = x @ kernel + bias - y
    step = -0.1 * 2 / len(x) * x.T @ residual
    expected = np.linalg.norm(step) / np.linalg.norm(kernel)
    assert history.history["update_ratio/linear"] == [pytest.approx(expected, rel=1e-4)]
    assert expected > 1e-3  # a real step, not a trivially small number


def test_a_zero_learning_rate_gives_a_zero_ratio() -> None:
    model = _linear(0.0)
    x, y = _data()
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[UpdateRatios()])
    assert history.history["update_ratio/linear"] == [0.0, 0.0]


class _LastStep(keras.callbacks.Callback):
    """Records the kernel before and after each epoch's last step, independently of UpdateRatios."""

    def __init__(self) -> None:
        super().__init__()
        self.before: list[np.ndarray] = []
        self.after: list[np.ndarray] = []
        self.first: list[np.ndarray] = []

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.first.append(self.model.get_weights()[0])

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if batch == self.params["steps"] - 1:
            self.before.append(self.model.get_weights()[0])

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.after.append(self.model.get_weights()[0])


def test_the_ratio_is_that_of_the_epochs_last_step_not_of_the_whole_epoch() -> None:
    model = _linear(0.05)
    x, y = _data(12)
    recorder = _LastStep()
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[UpdateRatios(), recorder])
    last_step = [
        np.linalg.norm(after - before) / np.linalg.norm(before)
        for before, after in zip(recorder.before, recorder.after, strict=True)
    ]
    whole_epoch = [
        np.linalg.norm(after - first) / np.linalg.norm(first)
        for first, after in zip(recorder.first, recorder.after, strict=True)
    ]
    assert history.history["update_ratio/linear"] == pytest.approx(last_step, rel=1e-5)
    assert not np.allclose(last_step, whole_epoch)


def test_columns_name_each_trainable_kernel_and_skip_biases_and_frozen_layers() -> None:
    inputs = keras.Input((10, 4))
    hidden = keras.layers.Conv1D(2, 3, name="conv")(inputs)
    hidden = keras.layers.BatchNormalization(name="norm")(hidden)
    hidden = keras.layers.LSTM(2, name="lstm")(hidden)
    frozen = keras.layers.Dense(2, name="frozen")
    frozen.trainable = False
    outputs = keras.layers.Dense(1, name="output")(frozen(hidden))
    model = keras.Model(inputs, outputs)
    assert update_ratio_columns(model) == [
        "update_ratio/conv",
        "update_ratio/lstm/lstm_cell",
        "update_ratio/lstm/lstm_cell/recurrent_kernel",
        "update_ratio/output",
    ]
    assert all(v.trainable for v in kernel_variables(model).values())
