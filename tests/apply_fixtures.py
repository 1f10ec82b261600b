"""A network whose scores are known by hand, for the tests of biodl.apply.

``centre_model(length)`` is a saved Keras model (``Flatten`` → ``Dense(1, sigmoid)``) whose only
non-zero weight is on channel A of the window's centre base (index ``length // 2``): its score is
``sigmoid(WEIGHT - BIAS)`` when that base is A, else ``sigmoid(-BIAS)``. On the reverse
complement, that weight reads channel T of base ``length // 2 - 1`` (for an even length): both
strands averaged give ``hand_score`` below.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

WEIGHT, BIAS = 3.0, 1.0


def centre_model(length: int, path: Path) -> Path:
    inputs = keras.Input((length, 4))
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    weights = np.zeros((length * 4, 1), np.float32)
    weights[(length // 2) * 4 + 0, 0] = WEIGHT  # channel A of the centre base
    dense.set_weights([weights, np.array([-BIAS], np.float32)])
    model.save(path)
    return path


def sigmoid(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


def hand_score(window: str, both_strands: bool) -> float:
    """The centre model's score of a window (a string of bases), as the tests work it out."""
    centre = len(window) // 2
    forward = sigmoid(WEIGHT * (window[centre] == "A") - BIAS)
    if not both_strands:
        return forward
    # Reverse complement: its base `centre` is the complement of base len-1-centre of the window.
    reverse = sigmoid(WEIGHT * (window[len(window) - 1 - centre] == "T") - BIAS)
    return (forward + reverse) / 2
