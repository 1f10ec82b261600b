"""biodl.models.layers: the residual block's skip path (identity or projection, 1-D dilated and
2-D), the bidirectional recurrent block, width scaling."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from biodl.models.layers import ResidualSpec, recurrent_block, residual_block, scaled


def _residual_model(input_shape: tuple[int, ...], spec: ResidualSpec) -> keras.Model:
    inputs = keras.Input(shape=input_shape)
    return keras.Model(inputs, residual_block(inputs, spec, "relu", {}, "block"))


def _zero_branch(model: keras.Model) -> None:
    branch = model.get_layer("block_conv")
    branch.set_weights([np.zeros_like(w) for w in branch.get_weights()])


@pytest.mark.parametrize(
    ("input_shape", "spec"),
    [((40, 8), ResidualSpec(8, 3, dilation=4)), ((12, 10, 6), ResidualSpec(6, 3, dropout=0.2))],
    ids=["1d-dilated", "2d"],
)
def test_a_zero_branch_leaves_the_identity_skip_path(
    input_shape: tuple[int, ...], spec: ResidualSpec
) -> None:
    model = _residual_model(input_shape, spec)
    x = np.random.default_rng(0).normal(size=(3, *input_shape)).astype("float32")
    assert model.output_shape == (None, *input_shape)
    # With its trained (random) weights the branch adds something ...
    assert not np.allclose(model(x), x)
    # ... and with a zero kernel and bias, only the skip path remains: the input itself.
    _zero_branch(model)
    np.testing.assert_allclose(model(x), x, rtol=0, atol=0)


def test_the_dilation_rate_reaches_the_branch_and_keeps_the_positions() -> None:
    model = _residual_model((64, 4), ResidualSpec(4, 3, dilation=8))
    assert model.get_layer("block_conv").dilation_rate == (8,)
    x = np.zeros((1, 64, 4), dtype="float32")
    x[0, 32, 0] = 1.0
    branch = model.get_layer("block_conv")
    kernel = np.zeros((3, 4, 4), dtype="float32")
    kernel[0, 0, 0] = 1.0  # the left tap, 8 positions before the output position
    branch.set_weights([kernel, np.zeros(4, dtype="float32")])
    y = np.asarray(model(x))
    # identity at 32 plus the branch's copy 8 positions to the right of it (the tap looks back 8)
    assert y[0, 32, 0] == 1.0 and y[0, 40, 0] == 1.0
    assert np.count_nonzero(y) == 2


def test_a_projection_skip_path_when_the_filters_change() -> None:
    model = _residual_model((20, 4), ResidualSpec(6, 5, dilation=2))
    x = np.random.default_rng(1).normal(size=(2, 20, 4)).astype("float32")
    _zero_branch(model)
    skip = model.get_layer("block_skip")
    kernel, bias = skip.get_weights()
    assert kernel.shape == (1, 4, 6)
    np.testing.assert_allclose(model(x), x @ kernel[0] + bias, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kind", "per_direction"), [("lstm", 4 * (5 * (7 + 5) + 5)), ("gru", 3 * 5 * (7 + 5) + 6 * 5)]
)
def test_the_recurrent_block_reads_both_directions_at_every_position(kind: str, per_direction: int) -> None:
    inputs = keras.Input(shape=(9, 7))
    model = keras.Model(inputs, recurrent_block(inputs, kind, 5, "recurrent"))  # type: ignore[arg-type]
    assert model.output_shape == (None, 9, 10)
    assert model.count_params() == 2 * per_direction
    x = np.random.default_rng(2).normal(size=(1, 9, 7)).astype("float32")
    changed = x.copy()
    changed[0, -1] += 1.0
    # The last position changes the forward half only there, the backward half everywhere.
    difference = np.abs(np.asarray(model(changed)) - np.asarray(model(x)))[0]
    assert (difference[:-1, :5] == 0).all() and (difference[:, 5:] > 0).any(axis=1).all()


def test_widths_scale_the_published_sizes_and_never_reach_zero() -> None:
    assert scaled(300, 1.0) == 300 and scaled(300, 0.1) == 30 and scaled(320, 0.05) == 16
    assert scaled(200, 0.001) == 1
