"""The networks: model configuration, its defaults and checks, and the Keras model built from it.

Contract:
- ``resolve_config(model_name, config)`` returns a copy of ``config`` with every missing key
  filled with its default (the same defaults as ``workflow/schemas/config.schema.yaml``, so a
  config gives the same model with or without schema validation) and every value checked;
  problems raise ``InputError(f"model {name}", <key path>, <expectation>)``. A layer's
  ``filters`` / ``kernel_size`` / ``units`` are required; unknown keys are rejected so a
  misspelt setting is never silently ignored.
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

import copy
from collections.abc import Callable, Collection
from typing import Any

import keras

from biodl.validate import InputError, require

TASK_OUTPUTS = {
    "binary": ("sigmoid", "binary_crossentropy"),
    "multilabel": ("sigmoid", "binary_crossentropy"),
    "multiclass": ("softmax", "categorical_crossentropy"),
}
OPTIMIZERS = ("adam", "sgd", "rmsprop")
GLOBAL_POOLS = ("none", "max", "average")
POOLS = ("max", "average")

DEFAULTS: dict[str, Any] = {
    "kind": "cnn1d",
    "description": "",
    "conv_layers": [{"filters": 32, "kernel_size": 15, "pool_size": 4}],
    "global_pool": "none",
    "dense_layers": [],
    "activation": "relu",
    "training": {
        "optimizer": "adam",
        "learning_rate": 0.001,
        "batch_size": 64,
        "epochs": 30,
        "patience": 5,
        "min_delta": 0.0,
    },
}
# Per-layer keys: required ones, and defaults for the others (a layer does only what it names).
CONV_LAYER_REQUIRED = ("filters", "kernel_size")
CONV_LAYER_DEFAULTS: dict[str, Any] = {"pool_size": 1, "dropout": 0.0, "batch_norm": False, "pool": "max"}
DENSE_LAYER_REQUIRED = ("units",)
DENSE_LAYER_DEFAULTS: dict[str, Any] = {"dropout": 0.0}


def output_activation(task: str) -> str:
    return TASK_OUTPUTS[task][0]


def loss_for_task(task: str) -> str:
    return TASK_OUTPUTS[task][1]


def resolve_config(model_name: str, config: dict[str, Any] | None) -> dict[str, Any]:
    """``config`` with defaults filled in and every value checked (see the module contract)."""
    source = f"model {model_name}"
    config = copy.deepcopy(config) if config is not None else {}
    require(isinstance(config, dict), source, None, f"expected a mapping of settings, found {type(config).__name__}")
    _reject_unknown(config, DEFAULTS, source, None)
    resolved = {**copy.deepcopy(DEFAULTS), **config}
    require(resolved["kind"] == "cnn1d", source, "kind", f"expected 'cnn1d', found {resolved['kind']!r}")
    _choice(resolved["global_pool"], GLOBAL_POOLS, source, "global_pool")
    _check_activation(resolved["activation"], source)
    require(isinstance(resolved["description"], str), source, "description", "expected text")
    resolved["conv_layers"] = _layers(resolved["conv_layers"], CONV_LAYER_REQUIRED, CONV_LAYER_DEFAULTS, _check_conv_layer, source, "conv_layers")
    resolved["dense_layers"] = _layers(resolved["dense_layers"], DENSE_LAYER_REQUIRED, DENSE_LAYER_DEFAULTS, _check_dense_layer, source, "dense_layers")
    training = resolved["training"]
    require(isinstance(training, dict), source, "training", "expected a mapping of settings")
    _reject_unknown(training, DEFAULTS["training"], source, "training")
    resolved["training"] = training = {**DEFAULTS["training"], **training}
    _choice(training["optimizer"], OPTIMIZERS, source, "training.optimizer")
    _positive_number(training["learning_rate"], source, "training.learning_rate")
    for key in ("batch_size", "epochs"):
        _integer(training[key], 1, source, f"training.{key}")
    _integer(training["patience"], 0, source, "training.patience")
    _number(training["min_delta"], 0.0, source, "training.min_delta")
    return resolved


def _reject_unknown(config: dict[str, Any], known: Collection[str], source: str, where: str | None) -> None:
    unknown = sorted(set(config) - set(known))
    require(not unknown, source, where, f"unknown setting(s) {', '.join(map(str, unknown))} (known: {', '.join(known)})")


def _layers(
    layers: Any,
    required: tuple[str, ...],
    defaults: dict[str, Any],
    check: Callable[[dict[str, Any], str, str], None],
    source: str,
    key: str,
) -> list[dict[str, Any]]:
    require(isinstance(layers, list), source, key, f"expected a list of layers, found {layers!r}")
    resolved = []
    for i, layer in enumerate(layers):
        where = f"{key}[{i}]"
        require(isinstance(layer, dict), source, where, f"expected a mapping, found {layer!r}")
        _reject_unknown(layer, [*required, *defaults], source, where)
        missing = [name for name in required if name not in layer]
        require(not missing, source, where, f"required setting(s) {', '.join(missing)} missing")
        layer = {**defaults, **layer}
        check(layer, source, where)
        resolved.append(layer)
    return resolved


def _check_conv_layer(layer: dict[str, Any], source: str, where: str) -> None:
    for key in ("filters", "kernel_size", "pool_size"):
        _integer(layer[key], 1, source, f"{where}.{key}")
    _dropout(layer["dropout"], source, f"{where}.dropout")
    require(isinstance(layer["batch_norm"], bool), source, f"{where}.batch_norm", f"expected true or false, found {layer['batch_norm']!r}")
    _choice(layer["pool"], POOLS, source, f"{where}.pool")


def _check_dense_layer(layer: dict[str, Any], source: str, where: str) -> None:
    _integer(layer["units"], 1, source, f"{where}.units")
    _dropout(layer["dropout"], source, f"{where}.dropout")


def _integer(value: Any, minimum: int, source: str, where: str) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    require(ok, source, where, f"expected an integer >= {minimum}, found {value!r}")


def _number(value: Any, minimum: float, source: str, where: str) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= minimum
    require(ok, source, where, f"expected a number >= {minimum}, found {value!r}")


def _positive_number(value: Any, source: str, where: str) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    require(ok, source, where, f"expected a number > 0, found {value!r}")


def _dropout(value: Any, source: str, where: str) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1
    require(ok, source, where, f"expected a dropout rate in [0, 1), found {value!r}")


def _choice(value: Any, choices: tuple[str, ...], source: str, where: str) -> None:
    require(value in choices, source, where, f"expected one of {', '.join(choices)}, found {value!r}")


def _check_activation(name: Any, source: str) -> None:
    expected = f"expected a Keras activation name such as relu, gelu or elu, found {name!r}"
    require(isinstance(name, str), source, "activation", expected)
    try:
        keras.activations.get(name)
    except (ValueError, TypeError):
        raise InputError(source, "activation", expected) from None


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


def build_model(model_name: str, model_config: dict[str, Any] | None, input_shape: tuple[int, int] | list[int], task: str, n_outputs: int) -> keras.Model:
    """The uncompiled network for ``task`` with ``n_outputs`` outputs (see the module contract)."""
    source = f"model {model_name}"
    config = resolve_config(model_name, model_config)
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
