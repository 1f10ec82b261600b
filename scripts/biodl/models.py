"""The networks: the Keras model built from a model's settings.

Contract:
- Settings are checked and completed by ``biodl.config.validate_model`` (the workflow's JSON
  schema); ``build_model`` also runs ``biodl.config.check_fits`` (``InputError`` naming
  ``conv_layers[i]`` when a kernel or pooling is wider than the sequence reaching it) before any
  Keras layer is made, so sampled search trials are checked too.
- ``build_model(model_name, model_config, input_shape, task, n_outputs)`` returns an
  uncompiled ``keras.Model`` for a network kind: ``cnn1d`` (valid convolutions, optional batch
  norm, pooling and dropout, then a flatten or global pooling) on ``(length, 4)`` inputs, or
  ``cnn2d`` on ``(height, width, channels)`` tiles in 0-255 units (training-only augmentation:
  flips, 90° rotations, shifts, brightness and contrast; then per-channel normalisation with
  the ``normalization`` mean and standard deviation of the training split; same-padded
  convolution blocks with pooling; global pooling or flatten), or
  ``mlp`` on ``(features,)`` inputs (optional input dropout); then dense layers (optional batch
  norm and dropout) and an output layer that follows the task (binary / multilabel: sigmoid;
  multiclass: softmax; regression: linear). Every kernel takes the configured initialiser,
  L1/L2 penalty and max-norm constraint (``max_norm``: each unit's incoming weights).
  Weights depend only on the Keras random seed, which the caller sets.
  The loss and metrics for each task are in ``biodl.objectives``.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from biodl.config import check_fits, validate_model
from biodl.validate import require

TASK_OUTPUTS = {"binary": "sigmoid", "multilabel": "sigmoid", "multiclass": "softmax", "regression": "linear"}
NETWORK_KINDS = ("cnn1d", "cnn2d", "mlp")
INPUT_RANK = {"cnn1d": 2, "cnn2d": 3, "mlp": 1}
# Per number of spatial dimensions: convolution, max / average pooling, global max / average pooling.
CONV_LAYERS = {
    1: (keras.layers.Conv1D, keras.layers.MaxPooling1D, keras.layers.AveragePooling1D,
        keras.layers.GlobalMaxPooling1D, keras.layers.GlobalAveragePooling1D),
    2: (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D,
        keras.layers.GlobalMaxPooling2D, keras.layers.GlobalAveragePooling2D),
}
# Sequences: valid convolutions, so a filter only sees real bases (check_fits guards the length).
# Tiles: same padding, so only pooling shrinks them (_check_pooling).
PADDING = {1: "valid", 2: "same"}


def output_activation(task: str) -> str:
    return TASK_OUTPUTS[task]


def build_model(model_name: str, model_config: dict[str, Any], input_shape: tuple[int, ...] | list[int], task: str, n_outputs: int,
                normalization: tuple[tuple[float, ...], tuple[float, ...]] | None = None) -> keras.Model:
    """The uncompiled network for ``task`` with ``n_outputs`` outputs (see the module contract)."""
    source = f"model {model_name}"
    config = validate_model(model_name, model_config)
    kind = config["kind"]
    require(kind in NETWORK_KINDS, source, "kind", f"{kind!r} is not a network; expected one of {', '.join(NETWORK_KINDS)}")
    require(task in TASK_OUTPUTS, source, "task", f"expected one of {', '.join(TASK_OUTPUTS)}, found {task!r}")
    require(n_outputs >= 1, source, "outputs", f"expected at least one output, found {n_outputs}")
    require(task != "multiclass" or n_outputs >= 2, source, "outputs", f"a multiclass task needs at least two outputs, found {n_outputs}")
    require(len(input_shape) == INPUT_RANK[kind], source, "kind",
            f"a {kind} model takes inputs of {INPUT_RANK[kind]} dimension(s) per example, the dataset has {tuple(input_shape)}")
    weights = {
        "kernel_initializer": config["initializer"],
        "kernel_regularizer": keras.regularizers.L1L2(l1=config["l1"], l2=config["l2"]) if config["l1"] or config["l2"] else None,
        "kernel_constraint": max_norm(config["max_norm"], dims=0),
    }
    activation = config["activation"]
    if kind == "cnn1d":
        check_fits(model_name, config["conv_layers"], input_shape[0])
        inputs = keras.Input(shape=tuple(input_shape), name="sequence")
        x = _dna_augmentation(config["augmentation"], inputs)
        x = _convolutions(config, x, weights, dims=1)
    elif kind == "cnn2d":
        require(normalization is not None, source, "normalization", "a cnn2d model needs the training split's channel mean and standard deviation")
        _check_pooling(model_name, config["conv_layers"], min(input_shape[:2]))
        inputs = keras.Input(shape=tuple(input_shape), name="tile")
        x = _augmentation(config["augmentation"], inputs, square=input_shape[0] == input_shape[1])
        mean, std = (np.asarray(v, dtype="float32") for v in normalization)
        x = keras.layers.Normalization(mean=mean, variance=std**2, name="normalise")(x)
        x = _convolutions(config, x, weights, dims=2)
    else:
        inputs = keras.Input(shape=tuple(input_shape), name="features")
        x = keras.layers.Dropout(config["input_dropout"], name="input_dropout")(inputs) if config["input_dropout"] > 0 else inputs
    for i, layer in enumerate(config["dense_layers"], start=1):
        x = _dense_block(x, layer, activation, weights, i)
    # float32 outputs under mixed precision too, so probabilities and the loss keep their precision.
    outputs = keras.layers.Dense(n_outputs, activation=output_activation(task), name="output", dtype="float32", **weights)(x)
    return keras.Model(inputs, outputs, name=_keras_name(model_name))


def _convolutions(config: dict[str, Any], x: Any, weights: dict[str, Any], dims: int) -> Any:
    """The convolution blocks, then global pooling or flattening."""
    # A convolution's max-norm runs over its whole window and input channels.
    conv_weights = {**weights, "kernel_constraint": max_norm(config["max_norm"], dims)}
    for i, layer in enumerate(config["conv_layers"], start=1):
        x = _conv_block(x, layer, config["activation"], conv_weights, i, dims)
    global_max, global_average = CONV_LAYERS[dims][3:]
    if config["global_pool"] == "max":
        return global_max(name="global_max_pool")(x)
    if config["global_pool"] == "average":
        return global_average(name="global_average_pool")(x)
    return keras.layers.Flatten(name="flatten")(x)


def _check_pooling(model_name: str, conv_layers: list[dict[str, Any]], side: int) -> None:
    """Same-padded convolutions keep the tile size; pooling must leave at least one pixel."""
    for i, layer in enumerate(conv_layers):
        require(layer["pool_size"] <= side, f"model {model_name}", f"conv_layers[{i}]",
                f"pool_size {layer['pool_size']} exceeds the {side} pixels reaching this layer; expected pool_size <= {side}")
        side //= layer["pool_size"]


class SeededRandomLayer(keras.layers.Layer):
    """A training-only random layer: its draws come from a seed generator built from ``seed``
    (None: from the Keras global seed), and ``call`` passes inputs through when not training."""

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        return self.transform(inputs) if training else inputs

    def transform(self, inputs: Any) -> Any:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="biodl")
class RandomRotation90(SeededRandomLayer):
    """In training, each square tile is transposed with probability 1/2; with random horizontal
    and vertical flips this draws uniformly from the 8 rotations and reflections of a square."""

    def transform(self, inputs: Any) -> Any:
        transpose = keras.random.uniform((ops.shape(inputs)[0], 1, 1, 1), seed=self.generator) < 0.5
        return ops.where(transpose, ops.transpose(inputs, (0, 2, 1, 3)), inputs)


@keras.saving.register_keras_serializable(package="biodl")
class RandomReverseComplement(SeededRandomLayer):
    """In training, each one-hot sequence is replaced by its reverse complement with probability
    1/2: positions reversed and, the channels being A, C, G, T, the channels reversed too."""

    def transform(self, inputs: Any) -> Any:
        flip = keras.random.uniform((ops.shape(inputs)[0], 1, 1), seed=self.generator) < 0.5
        return ops.where(flip, ops.flip(inputs, axis=(1, 2)), inputs)


@keras.saving.register_keras_serializable(package="biodl")
class RandomShift(SeededRandomLayer):
    """In training, each sequence moves by a random whole number of bases in [-max_shift,
    max_shift]; the bases moved out are lost and the vacated end reads as N (all zeros)."""

    def __init__(self, max_shift: int, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed, **kwargs)
        self.max_shift = max_shift

    def transform(self, inputs: Any) -> Any:
        m = self.max_shift
        length = ops.shape(inputs)[1]
        shifts = keras.random.randint((ops.shape(inputs)[0], 1), -m, m + 1, seed=self.generator)
        padded = ops.pad(inputs, ((0, 0), (m, m), (0, 0)))
        positions = ops.expand_dims(ops.arange(length) + m, 0) - shifts  # output base i reads input base i - shift
        return ops.take_along_axis(padded, ops.expand_dims(positions, -1), axis=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_shift": self.max_shift}


def _dna_augmentation(settings: dict[str, Any], x: Any) -> Any:
    """Training-only strand and position changes of one-hot DNA; identity when predicting."""
    if settings["reverse_complement"]:
        x = RandomReverseComplement(name="reverse_complement")(x)
    if settings["shift"] > 0:
        x = RandomShift(settings["shift"], name="shift")(x)
    return x


def _augmentation(settings: dict[str, Any], x: Any, square: bool) -> Any:
    """Keras random layers: active in training only, identity when predicting."""
    if settings["flips"]:
        # Two layers: "horizontal_and_vertical" draws one decision for both flips.
        x = keras.layers.RandomFlip("horizontal", name="flip_horizontal")(x)
        x = keras.layers.RandomFlip("vertical", name="flip_vertical")(x)
    if settings["rotations"] and square:
        x = RandomRotation90(name="rotations")(x)
    if settings["shift"] > 0:
        x = keras.layers.RandomTranslation(settings["shift"], settings["shift"], fill_mode="reflect", name="shift")(x)
    if settings["brightness"] > 0:
        x = keras.layers.RandomBrightness(settings["brightness"], value_range=(0, 255), name="brightness")(x)
    if settings["contrast"] > 0:
        x = keras.layers.RandomContrast(settings["contrast"], value_range=(0, 255), name="contrast")(x)
    return x


def _dense_block(x: Any, layer: dict[str, Any], activation: str, weights: dict[str, Any], i: int) -> Any:
    # With batch norm the activation comes after normalisation, so the dense layer is linear.
    x = keras.layers.Dense(layer["units"], activation=None if layer["batch_norm"] else activation, name=f"dense{i}", **weights)(x)
    if layer["batch_norm"]:
        x = keras.layers.BatchNormalization(name=f"dense{i}_batch_norm")(x)
        x = keras.layers.Activation(activation, name=f"dense{i}_activation")(x)
    if layer["dropout"] > 0:
        x = keras.layers.Dropout(layer["dropout"], name=f"dense{i}_dropout")(x)
    return x


def _conv_block(x: Any, layer: dict[str, Any], activation: str, weights: dict[str, Any], i: int, dims: int) -> Any:
    conv, max_pool, average_pool = CONV_LAYERS[dims][:3]
    x = conv(layer["filters"], layer["kernel_size"], padding=PADDING[dims],
             activation=None if layer["batch_norm"] else activation, name=f"conv{i}", **weights)(x)
    if layer["batch_norm"]:
        x = keras.layers.BatchNormalization(name=f"conv{i}_batch_norm")(x)
        x = keras.layers.Activation(activation, name=f"conv{i}_activation")(x)
    if layer["pool_size"] > 1:
        pool = max_pool if layer["pool"] == "max" else average_pool
        x = pool(layer["pool_size"], name=f"conv{i}_{layer['pool']}_pool")(x)
    if layer["dropout"] > 0:
        x = keras.layers.Dropout(layer["dropout"], name=f"conv{i}_dropout")(x)
    return x


def max_norm(value: float | None, dims: int) -> keras.constraints.Constraint | None:
    """A max-norm constraint on each unit's incoming weights: a dense kernel is (inputs, units),
    a convolution kernel (*window, channels, filters), so the norm runs over all axes but the last."""
    return None if value is None else keras.constraints.MaxNorm(value, axis=list(range(dims + 1)) if dims else 0)


def _keras_name(model_name: str) -> str:
    """``model_name`` made acceptable to Keras (no path separators), for the saved model."""
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in model_name) or "model"
