"""The networks: the Keras model built from a model's settings.

Contract:
- Settings are checked and completed by ``biodl.config.validate_model`` (the workflow's JSON
  schema); this module adds what a schema cannot check:
- ``check_fits(model_name, conv_layers, length)`` raises ``InputError`` naming
  ``conv_layers[i]`` when a convolution kernel is wider than the sequence reaching it or a
  pooling leaves fewer than one position. ``build_model`` runs it before any Keras layer is made.
- ``build_model(model_name, model_config, input_shape, task, n_outputs)`` returns an
  uncompiled ``keras.Model``: a 1-D CNN (valid convolutions, optional batch norm, pooling and
  dropout), a flatten or global pooling, dense layers, and an output layer that follows the
  task (binary / multilabel: sigmoid; multiclass: softmax). ``loss_for_task`` gives the
  matching loss. Weights depend only on the Keras random seed, which the caller sets.
"""

from __future__ import annotations

from typing import Any

import keras

from biodl.config import validate_model
from biodl.validate import require

TASK_OUTPUTS = {
    "binary": ("sigmoid", "binary_crossentropy"),
    "multilabel": ("sigmoid", "binary_crossentropy"),
    "multiclass": ("softmax", "categorical_crossentropy"),
}
def output_activation(task: str) -> str:
    return TASK_OUTPUTS[task][0]


def loss_for_task(task: str) -> str:
    return TASK_OUTPUTS[task][1]


def check_fits(model_name: str, conv_layers: list[dict[str, Any]], length: int) -> None:
    """Raise InputError unless every convolution and pooling keeps at least one position."""
    source = f"model {model_name}"
    for i, layer in enumerate(conv_layers):
        where = f"conv_layers[{i}]"
        kernel, pool = layer["kernel_size"], layer["pool_size"]
        require(
            kernel <= length,
            source,
            where,
            f"kernel_size {kernel} is wider than the {length} positions reaching this layer; expected kernel_size <= {length}",
        )
        length = length - kernel + 1
        require(
            pool <= length,
            source,
            where,
            f"pool_size {pool} exceeds the {length} positions left after the convolution; expected pool_size <= {length}",
        )
        length //= pool


def build_model(model_name: str, model_config: dict[str, Any], input_shape: tuple[int, int] | list[int], task: str, n_outputs: int) -> keras.Model:
    """The uncompiled network for ``task`` with ``n_outputs`` outputs (see the module contract)."""
    source = f"model {model_name}"
    config = validate_model(model_name, model_config)
    require(task in TASK_OUTPUTS, source, "task", f"expected one of {', '.join(TASK_OUTPUTS)}, found {task!r}")
    require(n_outputs >= 1, source, "outputs", f"expected at least one output, found {n_outputs}")
    require(task != "multiclass" or n_outputs >= 2, source, "outputs", f"a multiclass task needs at least two outputs, found {n_outputs}")
    length, channels = input_shape
    check_fits(model_name, config["conv_layers"], length)

    activation = config["activation"]
    inputs = keras.Input(shape=(length, channels), name="sequence")
    x = inputs
    for i, layer in enumerate(config["conv_layers"], start=1):
        x = _conv_block(x, layer, activation, i)
    if config["global_pool"] == "max":
        x = keras.layers.GlobalMaxPooling1D(name="global_max_pool")(x)
    elif config["global_pool"] == "average":
        x = keras.layers.GlobalAveragePooling1D(name="global_average_pool")(x)
    else:
        x = keras.layers.Flatten(name="flatten")(x)
    for i, layer in enumerate(config["dense_layers"], start=1):
        x = keras.layers.Dense(layer["units"], activation=activation, name=f"dense{i}")(x)
        if layer["dropout"] > 0:
            x = keras.layers.Dropout(layer["dropout"], name=f"dense{i}_dropout")(x)
    outputs = keras.layers.Dense(n_outputs, activation=output_activation(task), name="output")(x)
    return keras.Model(inputs, outputs, name=_keras_name(model_name))


def _conv_block(x: Any, layer: dict[str, Any], activation: str, i: int) -> Any:
    # With batch norm the activation comes after normalisation, so the convolution is linear.
    x = keras.layers.Conv1D(layer["filters"], layer["kernel_size"], padding="valid", activation=None if layer["batch_norm"] else activation, name=f"conv{i}")(x)
    if layer["batch_norm"]:
        x = keras.layers.BatchNormalization(name=f"conv{i}_batch_norm")(x)
        x = keras.layers.Activation(activation, name=f"conv{i}_activation")(x)
    if layer["pool_size"] > 1:
        pool = keras.layers.MaxPooling1D if layer["pool"] == "max" else keras.layers.AveragePooling1D
        x = pool(layer["pool_size"], name=f"conv{i}_{layer['pool']}_pool")(x)
    if layer["dropout"] > 0:
        x = keras.layers.Dropout(layer["dropout"], name=f"conv{i}_dropout")(x)
    return x


def _keras_name(model_name: str) -> str:
    """``model_name`` made acceptable to Keras (no path separators), for the saved model."""
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in model_name) or "model"
