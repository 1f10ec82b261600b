"""Tests of biodl.interpret.deeplift: DeepLIFT's completeness on every layer rule, the
references, strand and model averaging, and refusals."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from biodl.core.errors import InputError
from biodl.interpret.attribution import output_logit
from biodl.interpret.deeplift import (
    AttributionContext,
    deep_shap,
    dinucleotide_references,
    hypothetical,
    multipliers,
    reverse_complement,
)
from biodl.models.augmentation import RandomReverseComplement


def chain_model(seed: int) -> keras.Model:
    """Every rule at once: conv + relu, max pooling, linear conv, batch norm, an elu layer,
    average pooling, global max pooling, dense + tanh, a softmax output."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((40, 4))
    h = RandomReverseComplement(seed=1)(inputs)
    h = keras.layers.Conv1D(6, 7, activation="relu")(h)
    h = keras.layers.MaxPooling1D(2)(h)
    h = keras.layers.Conv1D(6, 3)(h)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Activation("elu")(h)
    h = keras.layers.AveragePooling1D(2)(h)
    h = keras.layers.Dropout(0.2)(h)
    h = keras.layers.GlobalMaxPooling1D()(h)
    h = keras.layers.Dense(5, activation="tanh")(h)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(h))
    # Batch norm statistics that are not the identity.
    norm = next(layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization))
    norm.set_weights([w + np.random.default_rng(seed).uniform(0.2, 1.0, w.shape) for w in norm.get_weights()])
    return model


def sequences(n: int, length: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(n, length))]


def test_scores_sum_to_the_output_minus_the_mean_reference_output() -> None:
    model = chain_model(0)
    x = sequences(6)
    references = dinucleotide_references(x, 5, np.random.default_rng(1))
    for unit in (0, 1):
        scores = hypothetical(multipliers(model, x, references, unit), references) * x
        output = output_logit(model, x, unit).numpy()
        baseline = output_logit(model, references.reshape(-1, 40, 4), unit).numpy().reshape(6, 5).mean(axis=1)
        np.testing.assert_allclose(scores.sum(axis=(1, 2)), output - baseline, atol=1e-4)
        assert np.abs(output - baseline).max() > 1e-2  # a test of something


def test_both_strands_and_members_are_averaged() -> None:
    first, second = chain_model(0), chain_model(1)
    x = sequences(4)
    references = dinucleotide_references(x, 3, np.random.default_rng(2))
    one = deep_shap([first], x, AttributionContext(1, references, both_strands=False))
    flipped = deep_shap(
        [first],
        reverse_complement(x),
        AttributionContext(1, reverse_complement(references), both_strands=False),
    )
    both = deep_shap([first], x, AttributionContext(1, references))
    np.testing.assert_allclose(both, (one + reverse_complement(flipped)) / 2, atol=1e-5)
    other = deep_shap([second], x, AttributionContext(1, references))
    pair = deep_shap([first, second], x, AttributionContext(1, references, batch_size=3))
    np.testing.assert_allclose(pair, (both + other) / 2, atol=1e-5)


def test_references_are_dinucleotide_shuffles_and_keep_ns() -> None:
    x = sequences(3, length=60)
    x[1, 10] = 0  # an N
    references = dinucleotide_references(x, 4, np.random.default_rng(3))
    assert references.shape == (3, 4, 60, 4)
    for i in range(3):
        codes = np.where(x[i].sum(axis=1) > 0, x[i].argmax(axis=1), 4)
        pairs = sorted(zip(codes[:-1], codes[1:], strict=True))
        for k in range(4):
            shuffled = np.where(references[i, k].sum(axis=1) > 0, references[i, k].argmax(axis=1), 4)
            assert sorted(zip(shuffled[:-1], shuffled[1:], strict=True)) == pairs
    assert (references[1].sum(axis=2) == 0).sum() == 4  # one N in each shuffle
    again = dinucleotide_references(x, 4, np.random.default_rng(3))
    np.testing.assert_array_equal(references, again)


def test_layers_without_a_rule_and_branching_models_are_refused() -> None:
    inputs = keras.Input((20, 4))
    h = keras.layers.Conv1D(3, 5, activation="relu")(inputs)
    h = keras.layers.LSTM(3)(h)
    lstm = keras.Model(inputs, keras.layers.Dense(1)(h))
    x = sequences(2, length=20)
    references = dinucleotide_references(x, 2, np.random.default_rng(0))
    with pytest.raises(InputError, match="no rule for this layer"):
        multipliers(lstm, x, references, 0)
    a = keras.layers.Conv1D(3, 5)(inputs)
    b = keras.layers.Conv1D(3, 5)(inputs)
    merged = keras.layers.Add()([a, b])
    branching = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(merged)))
    with pytest.raises(InputError, match="single chain"):
        multipliers(branching, x, references, 0)
