"""The networks: the Keras model built from a model's settings.

Contract:
- ``settings`` are a network's typed settings (``biodl.config.models``); ``build_model`` also
  runs ``biodl.config.checks.check_fits`` (``InputError`` naming ``conv_layers[i]`` when a kernel
  or pooling is wider than the sequence reaching it) before any Keras layer is made, so sampled
  search trials are checked too.
- ``build_model(settings, input_shape, task, n_outputs, normalization)`` returns an
  uncompiled ``keras.Model`` for a network kind: ``cnn1d`` (valid convolutions, optional batch
  norm, pooling and dropout, then a flatten or global pooling) on ``(length, 4)`` inputs, or
  ``cnn2d`` on ``(height, width, channels)`` tiles in 0-255 units (training-only augmentation:
  flips, 90° rotations, shifts, brightness and contrast; then per-channel normalisation with
  the ``normalization`` mean and standard deviation of the training split; same-padded
  convolution blocks with pooling; global pooling or flatten), or
  ``mlp`` on ``(features,)`` inputs (optional input dropout), or a named DNA architecture of
  the model zoo (``basset``, ``deepsea``, ``danq``, ``dilated_resnet``: ``biodl.models.zoo``) on
  ``(length, 4)`` inputs after the DNA augmentation; then dense layers (optional batch
  norm and dropout) and an output layer that follows the task (binary / multilabel: sigmoid;
  multiclass: softmax; regression: linear). Every kernel takes the configured initialiser,
  L1/L2 penalty and max-norm constraint (``max_norm``: each unit's incoming weights).
  Weights depend only on the Keras random seed, which the caller sets.
  The loss and metrics for each task are in ``biodl.models.objectives``."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from biodl.config.checks import check_fits, check_pooling
from biodl.config.models import (
    NETWORK_KINDS,
    ZOO_KINDS,
    AutoencoderModel,
    Cnn1dModel,
    Cnn2dModel,
    MlpModel,
    NetworkModel,
    ZooModel,
)
from biodl.core.errors import InputError, require
from biodl.models.augmentation import dna_augmentation, image_augmentation
from biodl.models.layers import CONV_LAYERS, conv_block, dense_block, max_norm
from biodl.models.zoo import zoo_features

TASK_OUTPUTS = {"binary": "sigmoid", "multilabel": "sigmoid", "multiclass": "softmax", "regression": "linear"}


# The zoo's architectures take one-hot sequences, as cnn1d.
INPUT_RANK = {"cnn1d": 2, "cnn2d": 3, "mlp": 1, **dict.fromkeys(ZOO_KINDS, 2)}


def output_activation(task: str) -> str:
    return TASK_OUTPUTS[task]


def build_model(
    settings: NetworkModel,
    input_shape: tuple[int, ...] | list[int],
    task: str,
    n_outputs: int,
    normalization: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
) -> keras.Model:
    """The uncompiled network for ``task`` with ``n_outputs`` outputs (see the module contract)."""
    _check_outputs_and_inputs(settings, input_shape, task, n_outputs)
    weights = kernel_settings(settings)
    inputs, x = _feature_layers(settings, tuple(input_shape), normalization, weights)
    for i, layer in enumerate(settings.dense_layers, start=1):
        x = dense_block(x, layer, settings.activation, weights, f"dense{i}")
    # float32 outputs under mixed precision too, so probabilities and the loss keep their precision.
    outputs = keras.layers.Dense(
        n_outputs, activation=output_activation(task), name="output", dtype="float32", **weights
    )(x)
    return keras.Model(inputs, outputs, name=keras_name(settings.name))


def _check_outputs_and_inputs(
    settings: NetworkModel, input_shape: tuple[int, ...] | list[int], task: str, n_outputs: int
) -> None:
    """The kind is a network, the task known, the outputs enough for it, the input rank the kind's."""
    source, kind = f"model {settings.name}", settings.kind
    require(
        kind in NETWORK_KINDS,
        source,
        "kind",
        f"{kind!r} is not a network; expected one of {', '.join(NETWORK_KINDS)}",
    )
    require(
        task in TASK_OUTPUTS, source, "task", f"expected one of {', '.join(TASK_OUTPUTS)}, found {task!r}"
    )
    require(n_outputs >= 1, source, "outputs", f"expected at least one output, found {n_outputs}")
    require(
        task != "multiclass" or n_outputs >= 2,
        source,
        "outputs",
        f"a multiclass task needs at least two outputs, found {n_outputs}",
    )
    require(
        len(input_shape) == INPUT_RANK[kind],
        source,
        "kind",
        f"a {kind} model takes inputs of {INPUT_RANK[kind]} dimension(s) per example, "
        f"the dataset has {tuple(input_shape)}",
    )


def kernel_settings(settings: NetworkModel | AutoencoderModel) -> dict[str, Any]:
    """Initialiser, L1/L2 penalty and max-norm constraint of every dense kernel."""
    return {
        "kernel_initializer": settings.initializer,
        "kernel_regularizer": keras.regularizers.L1L2(l1=settings.l1, l2=settings.l2)
        if settings.l1 or settings.l2
        else None,
        "kernel_constraint": max_norm(settings.max_norm, dims=0),
    }


def _feature_layers(
    settings: NetworkModel,
    input_shape: tuple[int, ...],
    normalization: tuple[tuple[float, ...], tuple[float, ...]] | None,
    weights: dict[str, Any],
) -> tuple[Any, Any]:
    """The input and the kind's layers before the dense ones: (input tensor, its features)."""
    if isinstance(settings, Cnn1dModel):
        check_fits(settings.name, settings.conv_layers, input_shape[0])
        inputs = keras.Input(shape=input_shape, name="sequence")
        x = dna_augmentation(settings.augmentation, inputs)
        return inputs, _convolutions(settings, x, weights, dims=1)
    if isinstance(settings, ZooModel):
        inputs = keras.Input(shape=input_shape, name="sequence")
        x = dna_augmentation(settings.augmentation, inputs)
        # A convolution's max-norm runs over its whole window and input channels.
        return inputs, zoo_features(
            settings, x, {**weights, "kernel_constraint": max_norm(settings.max_norm, 1)}
        )
    if isinstance(settings, Cnn2dModel):
        if normalization is None:
            raise InputError(
                f"model {settings.name}",
                "normalization",
                "a cnn2d model needs the training split's channel mean and standard deviation",
            )
        check_pooling(settings.name, settings.conv_layers, min(input_shape[:2]))
        inputs = keras.Input(shape=input_shape, name="tile")
        x = image_augmentation(settings.augmentation, inputs, square=input_shape[0] == input_shape[1])
        mean, std = (np.asarray(v, dtype="float32") for v in normalization)
        x = keras.layers.Normalization(mean=mean, variance=std**2, name="normalise")(x)
        return inputs, _convolutions(settings, x, weights, dims=2)
    assert isinstance(settings, MlpModel), "the kind was checked to be a network"
    inputs = keras.Input(shape=input_shape, name="features")
    if settings.input_dropout > 0:
        return inputs, keras.layers.Dropout(settings.input_dropout, name="input_dropout")(inputs)
    return inputs, inputs


def _convolutions(settings: Cnn1dModel | Cnn2dModel, x: Any, weights: dict[str, Any], dims: int) -> Any:
    """The convolution blocks, then global pooling or flattening."""
    # A convolution's max-norm runs over its whole window and input channels.
    conv_weights = {**weights, "kernel_constraint": max_norm(settings.max_norm, dims)}
    for i, layer in enumerate(settings.conv_layers, start=1):
        x = conv_block(x, layer, settings.activation, conv_weights, f"conv{i}", dims)
    global_max, global_average = CONV_LAYERS[dims][3:]
    if settings.global_pool == "max":
        return global_max(name="global_max_pool")(x)
    if settings.global_pool == "average":
        return global_average(name="global_average_pool")(x)
    return keras.layers.Flatten(name="flatten")(x)


def keras_name(model_name: str) -> str:
    """``model_name`` made acceptable to Keras (no path separators), for the saved model."""
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in model_name) or "model"
