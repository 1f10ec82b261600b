"""Tests of biodl.interpret.importance: permutation importance and filter influence."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from biodl.core.errors import InputError
from biodl.interpret.importance import Permutations, filter_influence, performance, permutation_importance


def test_performance_is_the_primary_metric() -> None:
    y = np.array([[0], [1], [1], [0], [1]], dtype=float)
    s = np.array([[0.2], [0.9], [0.4], [0.5], [0.7]])
    assert performance("binary", ("pos",), y, s) == pytest.approx(roc_auc_score(y[:, 0], s[:, 0]))
    assert performance("regression", ("t",), y, y * 2 - 1 + 0 * s) < 1  # r2, not a correlation


def test_only_the_feature_the_prediction_uses_matters() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 1] > 0).astype(float)[:, None]
    table = permutation_importance(
        lambda a: 1 / (1 + np.exp(-4 * a[:, 1:2])),
        x,
        y,
        Permutations("binary", ("pos",), ("a", "b", "c"), repeats=4, seed=1),
    )
    assert table["feature"].tolist()[0] == "b" and table["rank"].tolist() == [1, 2, 3]
    assert table.loc[0, "importance_mean"] > 0.3
    assert (table.loc[1:, "importance_mean"] == 0).all() and (table.loc[1:, "importance_std"] == 0).all()
    assert table.loc[0, "performance"] == pytest.approx(1.0)


def test_permutations_follow_the_seed() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 2))
    y = (x.sum(axis=1) > 0).astype(float)[:, None]

    def run(seed: int) -> object:
        return permutation_importance(
            lambda a: a.sum(axis=1, keepdims=True), x, y, Permutations("binary", ("p",), ("u", "v"), 3, seed)
        )

    assert run(5).equals(run(5)) and not run(5).equals(run(6))


def test_bad_repeats_and_shapes_are_refused() -> None:
    x = np.zeros((4, 2))
    with pytest.raises(InputError, match="permutation_repeats"):
        permutation_importance(
            lambda a: a[:, :1], x, np.zeros((4, 1)), Permutations("binary", ("p",), ("a", "b"), 0, 1)
        )
    with pytest.raises(InputError, match="expected 3 columns"):
        permutation_importance(
            lambda a: a[:, :1], x, np.zeros((4, 1)), Permutations("binary", ("p",), ("a", "b", "c"), 1, 1)
        )


def test_a_filter_the_output_ignores_has_no_influence() -> None:
    """Two filters, the dense output reads only filter 0: ablating filter 1 changes nothing."""
    inputs = keras.Input((10, 4))
    conv = keras.layers.Conv1D(2, 3, activation="relu", name="conv1")
    h = keras.layers.GlobalMaxPooling1D()(conv(inputs))
    out = keras.layers.Dense(1, activation="sigmoid", name="output")
    model = keras.Model(inputs, out(h))
    kernel = np.zeros((3, 4, 2), dtype="float32")
    kernel[:, 0, 0] = 1.0  # filter 0 counts A's
    kernel[:, 2, 1] = 1.0  # filter 1 counts G's
    conv.set_weights([kernel, np.zeros(2, dtype="float32")])
    out.set_weights([np.array([[2.0], [0.0]], dtype="float32"), np.array([-3.0], dtype="float32")])
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype="float32")[rng.integers(0, 4, size=(60, 10))]
    y = (np.convolve(np.ones(3), np.ones(1), "valid")[0] * 0 + (x[:, :, 0].sum(axis=1) >= 4)).astype(float)[
        :, None
    ]
    table = filter_influence(model, x, y, "binary", ("p",)).set_index("filter")
    assert table.loc[0, "influence"] > 0.2
    assert table.loc[1, "influence"] == 0
    assert table.loc[0, "rank"] == 1
