"""Building blocks shared by the configurable networks (``biodl.models.networks``) and the model zoo
(``biodl.models.zoo``).

Contract (every function takes a Keras tensor and returns the block's output tensor; ``weights`` are
the kernel settings of ``networks``: initialiser, L1/L2 penalty, max-norm constraint):
- ``conv_block(x, layer, activation, weights, name, dims)``: one convolution of a ``ConvLayer``
  (valid padding for sequences, ``dims=1``; same padding for tiles, ``dims=2``), optional batch norm
  (then the activation follows it), pooling and dropout; layers named ``<name>``,
  ``<name>_batch_norm``, ``<name>_activation``, ``<name>_<pool>_pool``, ``<name>_dropout``.
- ``dense_block(x, layer, activation, weights, name)``: the same for a ``DenseLayer``.
- ``residual_block(x, spec, activation, weights, name)``: ``x + branch(x)`` where the branch is a
  same-padded convolution (1-D or 2-D by the input's rank, ``spec.dilation`` as the dilation
  rate), its activation and optional dropout, the skip connection of ResNets (He et al. 2016) and of
  the dilated stacks of BPNet / Basenji. The output keeps the input's positions; when the filters
  differ from the input channels the skip path is a linear 1x1 convolution (``<name>_skip``),
  otherwise the identity, so a branch whose kernel and bias are zero returns its input.
- ``recurrent_block(x, kind, units, name)``: a bidirectional LSTM or GRU over the positions of a
  1-D feature map (``(batch, positions, channels)`` → ``(batch, positions, 2 * units)``), as DanQ
  puts after its convolution. Its kernels keep Keras's initialisers.
- ``flat_convolutions(x, model, layers, weights)``: a chain of 1-D ``conv_block``s (``conv1``,
  ``conv2``, ...) after ``biodl.config.checks.check_fits`` has refused a sequence too short for
  them (naming ``model``'s ``kind``), flattened (``flatten``): the feature extractor of Basset and
  DeepSEA.
- ``scaled(published, width)``: a published number of filters or units times ``width``, at least 1.
- ``max_norm(value, dims)``: the max-norm constraint on each unit's incoming weights (or ``None``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import keras

from biodl.config.checks import check_fits
from biodl.config.models import ConvLayer, DenseLayer, NetworkModel

# Per number of spatial dimensions: convolution, max / average pooling, global max / average pooling.
CONV_LAYERS = {
    1: (
        keras.layers.Conv1D,
        keras.layers.MaxPooling1D,
        keras.layers.AveragePooling1D,
        keras.layers.GlobalMaxPooling1D,
        keras.layers.GlobalAveragePooling1D,
    ),
    2: (
        keras.layers.Conv2D,
        keras.layers.MaxPooling2D,
        keras.layers.AveragePooling2D,
        keras.layers.GlobalMaxPooling2D,
        keras.layers.GlobalAveragePooling2D,
    ),
}


# Sequences: valid convolutions, so a filter only sees real bases (check_fits guards the length).
# Tiles: same padding, so only pooling shrinks them.
PADDING = {1: "valid", 2: "same"}

RECURRENT_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


@dataclasses.dataclass(frozen=True)
class ResidualSpec:
    """One residual block: the branch's filters, kernel width, dilation rate and dropout."""

    filters: int
    kernel_size: int
    dilation: int = 1
    dropout: float = 0.0


def conv_block(
    x: Any, layer: ConvLayer, activation: str, weights: dict[str, Any], name: str, dims: int
) -> Any:
    """One convolution with its batch norm, pooling and dropout (see the module contract)."""
    conv, max_pool, average_pool = CONV_LAYERS[dims][:3]
    x = conv(
        layer.filters,
        layer.kernel_size,
        padding=PADDING[dims],
        activation=None if layer.batch_norm else activation,
        name=name,
        **weights,
    )(x)
    if layer.batch_norm:
        x = keras.layers.BatchNormalization(name=f"{name}_batch_norm")(x)
        x = keras.layers.Activation(activation, name=f"{name}_activation")(x)
    if layer.pool_size > 1:
        pool = max_pool if layer.pool == "max" else average_pool
        x = pool(layer.pool_size, name=f"{name}_{layer.pool}_pool")(x)
    if layer.dropout > 0:
        x = keras.layers.Dropout(layer.dropout, name=f"{name}_dropout")(x)
    return x


def flat_convolutions(
    x: Any, model: NetworkModel, layers: tuple[ConvLayer, ...], weights: dict[str, Any]
) -> Any:
    """``layers`` as 1-D convolution blocks on ``x``, flattened (see the module contract)."""
    check_fits(model.name, layers, x.shape[1])
    for i, layer in enumerate(layers, start=1):
        x = conv_block(x, layer, model.activation, weights, f"conv{i}", dims=1)
    return keras.layers.Flatten(name="flatten")(x)


def dense_block(x: Any, layer: DenseLayer, activation: str, weights: dict[str, Any], name: str) -> Any:
    """One dense layer with its batch norm and dropout (see the module contract)."""
    # With batch norm the activation comes after normalisation, so the dense layer is linear.
    x = keras.layers.Dense(
        layer.units, activation=None if layer.batch_norm else activation, name=name, **weights
    )(x)
    if layer.batch_norm:
        x = keras.layers.BatchNormalization(name=f"{name}_batch_norm")(x)
        x = keras.layers.Activation(activation, name=f"{name}_activation")(x)
    if layer.dropout > 0:
        x = keras.layers.Dropout(layer.dropout, name=f"{name}_dropout")(x)
    return x


def residual_block(x: Any, spec: ResidualSpec, activation: str, weights: dict[str, Any], name: str) -> Any:
    """``x`` plus a same-padded (dilated) convolution branch of it (see the module contract)."""
    dims = len(x.shape) - 2
    conv = CONV_LAYERS[dims][0]
    branch = conv(
        spec.filters,
        spec.kernel_size,
        padding="same",
        dilation_rate=spec.dilation,
        activation=activation,
        name=f"{name}_conv",
        **weights,
    )(x)
    if spec.dropout > 0:
        branch = keras.layers.Dropout(spec.dropout, name=f"{name}_dropout")(branch)
    skip = x
    if x.shape[-1] != spec.filters:
        skip = conv(spec.filters, 1, name=f"{name}_skip", **weights)(x)
    return keras.layers.Add(name=f"{name}_add")([skip, branch])


def recurrent_block(x: Any, kind: Literal["lstm", "gru"], units: int, name: str) -> Any:
    """A bidirectional LSTM / GRU returning every position (see the module contract)."""
    layer = RECURRENT_LAYERS[kind](units, return_sequences=True, name=f"{name}_{kind}")
    return keras.layers.Bidirectional(layer, name=name)(x)


def max_norm(value: float | None, dims: int) -> keras.constraints.Constraint | None:
    """A max-norm constraint on each unit's incoming weights: a dense kernel is (inputs, units),
    a convolution kernel (*window, channels, filters), so the norm runs over all axes but the last."""
    return (
        None if value is None else keras.constraints.MaxNorm(value, axis=list(range(dims + 1)) if dims else 0)
    )


def scaled(published: int, width: float) -> int:
    """A published number of filters or units times ``width``, at least one."""
    return max(1, round(published * width))
