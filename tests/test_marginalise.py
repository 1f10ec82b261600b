"""Tests of biodl.interpret.marginalise: motif insertion into backgrounds on a network whose
effects are known exactly."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from biodl.core.errors import InputError
from biodl.interpret.marginalise import InsertedMotif, MarginalContext, insert, marginalise


def motif_detector(motif: str, length: int) -> keras.Model:
    """logit 0 = +1 per base of ``motif`` matched at the best window (a max-pooled matched
    filter), logit 1 = minus the same: insertion raises one and lowers the other."""
    inputs = keras.Input((length, 4))
    conv = keras.layers.Conv1D(1, len(motif), use_bias=False)
    out = keras.layers.Dense(2)
    model = keras.Model(inputs, out(keras.layers.GlobalMaxPooling1D()(conv(inputs))))
    kernel = np.eye(4, dtype=np.float32)[["ACGT".index(b) for b in motif]][:, :, None]
    conv.set_weights([kernel])
    out.set_weights([np.array([[1.0, -1.0]], dtype=np.float32), np.zeros(2, dtype=np.float32)])
    return model


def test_an_inserted_motif_raises_its_task_and_its_control_does_not() -> None:
    motif = "GATAAGGATAAG"
    model = motif_detector(motif, 50)
    rng = np.random.default_rng(0)
    backgrounds = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(64, 50))]
    one_hot = np.eye(4, dtype=np.float32)[["ACGT".index(b) for b in motif]]
    table = marginalise(
        model,
        backgrounds,
        [InsertedMotif("planted", "test", one_hot)],
        MarginalContext({0: "up", 1: "down"}, seed=1),
    )
    up, down = table.set_index("task").loc["up"], table.set_index("task").loc["down"]
    assert up["consensus"] == motif and sorted(up["control"]) == sorted(motif)
    assert up["effect_mean"] > 4 and down["effect_mean"] < -4  # the sign follows the output
    assert abs(up["control_mean"]) < up["effect_mean"] / 2
    assert up["backgrounds"] == 64
    again = marginalise(
        model,
        backgrounds,
        [InsertedMotif("planted", "test", one_hot)],
        MarginalContext({0: "up", 1: "down"}, seed=1),
    )
    assert again.equals(table)


def test_insertion_writes_the_middle_and_refuses_a_motif_too_long() -> None:
    backgrounds = np.zeros((2, 10, 4), dtype=np.float32)
    out = insert(backgrounds, np.eye(4, dtype=np.float32)[[0, 1, 2, 3]])
    assert out[:, 3:7].argmax(axis=2).tolist() == [[0, 1, 2, 3]] * 2 and out[:, :3].sum() == 0
    assert backgrounds.sum() == 0  # the backgrounds themselves are left alone
    with pytest.raises(InputError, match="does not fit"):
        insert(backgrounds, np.eye(4, dtype=np.float32)[[0] * 11])
