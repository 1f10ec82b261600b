"""Tests of biodl.interpret.attribution on networks small enough to check by hand."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from biodl.interpret.attribution import (
    feature_maps,
    grad_cam,
    in_silico_mutagenesis,
    ism_scores,
    maximise_filters,
    maximise_output,
    output_logit,
    saliency,
)

rng = np.random.default_rng(0)


def linear_dna_model(weights: np.ndarray) -> keras.Model:
    """logit = sum over positions and bases of weights * x: gradients and ISM are known exactly."""
    inputs = keras.Input(weights.shape)
    out = keras.layers.Dense(1, activation="sigmoid", name="output")
    model = keras.Model(inputs, out(keras.layers.Flatten()(inputs)))
    out.set_weights([weights.reshape(-1, 1).astype("float32"), np.zeros(1, dtype="float32")])
    return model


def test_logit_saliency_and_mutagenesis_of_a_linear_model() -> None:
    w = rng.normal(size=(6, 4))
    model = linear_dna_model(w)
    x = np.eye(4, dtype="float32")[rng.integers(0, 4, size=(3, 6))]
    logit = output_logit(model, x, 0).numpy()
    np.testing.assert_allclose(logit, (x * w).sum(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), model.predict(x, verbose=0)[:, 0], rtol=1e-5)
    np.testing.assert_allclose(saliency(model, x, 0), x * w, rtol=1e-5, atol=1e-6)
    effects = in_silico_mutagenesis(model, x, 0)
    reference = (x * w).sum(axis=2, keepdims=True)
    np.testing.assert_allclose(effects, w[None] - reference, rtol=1e-4, atol=1e-5)
    scores = ism_scores(effects, x)
    np.testing.assert_allclose(
        scores.sum(axis=2),
        (reference[..., 0] - (w.sum(axis=1) - reference[..., 0]) / 3),
        rtol=1e-4,
        atol=1e-5,
    )


def test_maximisation_keeps_distributions_and_finds_the_kernel_consensus() -> None:
    inputs = keras.Input((12, 4))
    conv = keras.layers.Conv1D(2, 4, activation="relu", name="conv1")
    out = keras.layers.Dense(1, activation="sigmoid", name="output")
    model = keras.Model(inputs, out(keras.layers.GlobalMaxPooling1D()(conv(inputs))))
    kernel = np.full((4, 4, 2), -1.0, dtype="float32")
    for j, b in enumerate("GATC"):
        kernel[j, "ACGT".index(b), 0] = 1.0
    for j, b in enumerate("TTAA"):
        kernel[j, "ACGT".index(b), 1] = 1.0
    conv.set_weights([kernel, np.full(2, -10.0, dtype="float32")])  # ReLU off at the start
    out.set_weights([np.array([[1.0], [0.0]], dtype="float32"), np.zeros(1, dtype="float32")])
    found = maximise_filters(model, [0, 1], steps=50, step=0.1)
    assert found.shape == (2, 4, 4)
    np.testing.assert_allclose(found.sum(axis=2), 1.0, rtol=1e-5)
    assert ["".join("ACGT"[i] for i in f.argmax(axis=1)) for f in found] == ["GATC", "TTAA"]
    assert found.max() > 0.9  # the negative bias did not block the ascent (pre-activation)
    conv.set_weights([kernel, np.full(2, 3.0, dtype="float32")])  # through the ReLU, the output sees filter 0
    whole = maximise_output(model, 0, steps=50, step=0.1)
    assert whole.shape == (12, 4) and np.allclose(whole.sum(axis=1), 1.0, rtol=1e-5)
    assert "GATC" in "".join("ACGT"[i] for i in whole.argmax(axis=1))


def test_grad_cam_points_at_the_bright_corner() -> None:
    inputs = keras.Input((8, 8, 1))
    conv = keras.layers.Conv2D(1, 1, activation="relu", name="conv1")
    out = keras.layers.Dense(1, activation="sigmoid", name="output")
    model = keras.Model(inputs, out(keras.layers.GlobalAveragePooling2D()(conv(inputs))))
    conv.set_weights([np.ones((1, 1, 1, 1), dtype="float32"), np.zeros(1, dtype="float32")])
    out.set_weights([np.ones((1, 1), dtype="float32"), np.zeros(1, dtype="float32")])
    x = np.zeros((2, 8, 8, 1), dtype="float32")
    x[0, :3, :3] = 200.0
    x[1, 5:, 5:] = 100.0
    cam = grad_cam(model, x, 0)
    assert cam.shape == (2, 8, 8) and cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    assert cam[0, :3, :3].mean() > 5 * cam[0, 5:, 5:].mean()
    assert cam[1, 5:, 5:].mean() > 5 * cam[1, :3, :3].mean()
    maps = feature_maps(model, x)
    np.testing.assert_allclose(maps[..., 0], x[..., 0])
    images = maximise_filters(model, [0], steps=10)
    assert images.shape == (1, 8, 8, 1) and 0 <= images.min() and images.max() <= 255
