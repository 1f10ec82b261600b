"""Autoencoders: unsupervised pre-training whose encoder starts a supervised network (``init_from``).

Contract: ``build_autoencoder(settings, input_shape)`` returns an uncompiled ``keras.Model`` that
maps its input to a reconstruction of it (output layer ``reconstruction``, float32):
- ``kind: dense_autoencoder`` on table features ``(features,)``: the encoder is ``dense_layers``
  (``dense1``, ``dense2``, ...: the layer names of an ``mlp``), the decoder the same widths in
  reverse without the innermost (``decode1``, ...), then a linear ``reconstruction`` of every
  feature; trained with the mean squared error on the standardised features.
- ``kind: conv_autoencoder`` on one-hot DNA ``(length, 4)``: the encoder is ``conv_layers``
  (valid convolutions with their pooling: ``conv1``, ``conv2``, ...: the layer names of a
  ``cnn1d``; ``biodl.config.checks.check_fits`` refuses a sequence too short for them), the
  decoder upsamples the positions by the product of the poolings (``upsample``), pads its ends
  back to the input length (``pad``: the positions the valid convolutions took) and a
  same-padded convolution of ``decoder_kernel`` with a softmax over the four bases gives the
  ``reconstruction``; trained with the cross-entropy per position.
- ``kind: conv2d_autoencoder`` on image tiles ``(height, width, channels)`` in 0-255 units, with
  ``normalization`` (the training split's channel mean and standard deviation, as a ``cnn2d``
  takes them): per-channel normalisation (``normalise``, fixed statistics, no weights), then the
  encoder ``conv_layers`` (same-padded convolution blocks with batch norm and pooling: ``conv1``,
  ``conv1_batch_norm``, ...: the layer names of a ``cnn2d`` and of an ``attention_mil`` tile
  encoder; ``biodl.config.checks.check_pooling`` refuses a tile too small for the poolings). The
  decoder mirrors the encoder from the innermost block out: per block, nearest-neighbour
  upsampling by its pooling (``upsample1``, ...), zero padding where a floor division lost a
  row or column (``pad1``, ...), then a same-padded convolution of the block's kernel with the
  filters of the block before it (``decode1``, ...); the outermost block instead ends in a
  linear ``decoder_kernel`` square convolution to the tile's channels, the ``reconstruction``
  of the *normalised* pixels. Trained with the mean squared error against the normalised tile
  (``normalised_tiles``): a loss of 1 is what predicting every channel's mean costs, so the
  curve reads in units of the pixels' variance whatever the stain.
A separate kind from ``conv_autoencoder`` rather than the same kind chosen by the modality: tiles
need other defaults (3x3 kernels, pooling 2, batch norm: those of ``cnn2d``, so that a default
``cnn2d`` starts from a default ``conv2d_autoencoder``) and another decoder and loss.
``encoder_layers(model)`` names the layers with weights that a supervised network of the matching
kind (``mlp`` / ``cnn1d`` / ``cnn2d`` or ``attention_mil`` with the same ``dense_layers`` /
``conv_layers``) takes over by name (``biodl.training.transfer.copy_weights``);
``reconstruction_loss(kind)`` is the training loss, ``RECONSTRUCTION_LOSS_LABELS[kind]`` names it
for the loss curves' axis.
Only built-in Keras layers: the model loads with plain ``keras.models.load_model``.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from biodl.config.checks import check_fits, check_pooling
from biodl.config.models import (
    AutoencoderModel,
    Conv2dAutoencoderModel,
    ConvAutoencoderModel,
    DenseAutoencoderModel,
)
from biodl.core.errors import InputError, require
from biodl.models.layers import PADDING, conv_block, dense_block, max_norm
from biodl.models.networks import keras_name, kernel_settings

RECONSTRUCTION = "reconstruction"
DECODER_PREFIXES = ("decode", "upsample", "pad", RECONSTRUCTION)
INPUT_RANKS = {"dense_autoencoder": 1, "conv_autoencoder": 2, "conv2d_autoencoder": 3}
RECONSTRUCTION_LOSS_LABELS = {
    "dense_autoencoder": "Reconstruction loss (MSE, standardised features)",
    "conv_autoencoder": "Reconstruction loss (cross-entropy per position, nats)",
    "conv2d_autoencoder": "Reconstruction loss (MSE, normalised pixels)",
}

Normalization = tuple[tuple[float, ...], tuple[float, ...]]


def build_autoencoder(
    settings: AutoencoderModel, input_shape: tuple[int, ...], normalization: Normalization | None = None
) -> keras.Model:
    """The uncompiled autoencoder of ``settings`` for inputs of ``input_shape`` (see the contract);
    ``normalization`` (channel mean, standard deviation) is for tiles only."""
    require(
        len(input_shape) == INPUT_RANKS[settings.kind],
        f"model {settings.name}",
        "kind",
        f"a {settings.kind} takes inputs of {INPUT_RANKS[settings.kind]} dimension(s) per example, "
        f"the dataset has {tuple(input_shape)}",
    )
    weights = kernel_settings(settings)
    if isinstance(settings, Conv2dAutoencoderModel):
        if normalization is None:
            raise InputError(
                f"model {settings.name}",
                "normalization",
                "a conv2d_autoencoder needs the training split's channel mean and standard deviation",
            )
        inputs = keras.Input(shape=input_shape, name="tile")
        mean, std = (np.asarray(v, dtype="float32") for v in normalization)
        x = keras.layers.Normalization(mean=mean, variance=std**2, name="normalise")(inputs)
        outputs = _tile_autoencoder(settings, x, weights)
    elif isinstance(settings, ConvAutoencoderModel):
        inputs = keras.Input(shape=input_shape, name="sequence")
        outputs = _conv_autoencoder(settings, inputs, weights)
    else:
        assert isinstance(settings, DenseAutoencoderModel)
        inputs = keras.Input(shape=input_shape, name="features")
        outputs = _dense_autoencoder(settings, inputs, weights)
    return keras.Model(inputs, outputs, name=keras_name(settings.name))


def _dense_autoencoder(settings: DenseAutoencoderModel, x: Any, weights: dict[str, Any]) -> Any:
    features = x.shape[-1]
    for i, layer in enumerate(settings.dense_layers, start=1):
        x = dense_block(x, layer, settings.activation, weights, f"dense{i}")
    for i, layer in enumerate(reversed(settings.dense_layers[:-1]), start=1):
        x = dense_block(x, layer, settings.activation, weights, f"decode{i}")
    return keras.layers.Dense(features, name=RECONSTRUCTION, dtype="float32", **weights)(x)


def _conv_autoencoder(settings: ConvAutoencoderModel, x: Any, weights: dict[str, Any]) -> Any:
    length = x.shape[1]
    check_fits(settings.name, settings.conv_layers, length)
    conv_weights = {**weights, "kernel_constraint": max_norm(settings.max_norm, 1)}
    for i, layer in enumerate(settings.conv_layers, start=1):
        x = conv_block(x, layer, settings.activation, conv_weights, f"conv{i}", dims=1)
    factor = math.prod(layer.pool_size for layer in settings.conv_layers)
    if factor > 1:
        x = keras.layers.UpSampling1D(factor, name="upsample")(x)
    missing = length - x.shape[1]
    if missing:
        x = keras.layers.ZeroPadding1D((missing // 2, missing - missing // 2), name="pad")(x)
    return keras.layers.Conv1D(
        4,
        settings.decoder_kernel,
        padding="same",
        activation="softmax",
        name=RECONSTRUCTION,
        dtype="float32",
        **conv_weights,
    )(x)


def _tile_autoencoder(settings: Conv2dAutoencoderModel, x: Any, weights: dict[str, Any]) -> Any:
    layers, channels = settings.conv_layers, x.shape[-1]
    check_pooling(settings.name, layers, min(x.shape[1:3]))
    conv_weights = {**weights, "kernel_constraint": max_norm(settings.max_norm, 2)}
    sizes = [tuple(x.shape[1:3])]  # the (height, width) entering each block, then leaving the last
    for i, layer in enumerate(layers, start=1):
        x = conv_block(x, layer, settings.activation, conv_weights, f"conv{i}", dims=2)
        sizes.append(tuple(x.shape[1:3]))
    for step, i in enumerate(reversed(range(len(layers))), start=1):
        layer = layers[i]
        if layer.pool_size > 1:
            x = keras.layers.UpSampling2D(layer.pool_size, name=f"upsample{step}")(x)
        rows, columns = (want - have for want, have in zip(sizes[i], x.shape[1:3], strict=True))
        if rows or columns:
            # Pooling floors odd sides: the lost row or column comes back at the far edge.
            x = keras.layers.ZeroPadding2D(((0, rows), (0, columns)), name=f"pad{step}")(x)
        if i == 0:
            break
        x = keras.layers.Conv2D(
            layers[i - 1].filters,
            layer.kernel_size,
            padding=PADDING[2],
            activation=settings.activation,
            name=f"decode{step}",
            **conv_weights,
        )(x)
    return keras.layers.Conv2D(
        channels,
        settings.decoder_kernel,
        padding=PADDING[2],
        name=RECONSTRUCTION,
        dtype="float32",
        **conv_weights,
    )(x)


def encoder_layers(model: keras.Model) -> list[str]:
    """Names of the encoder's layers with weights (what ``init_from`` hands on), in order."""
    return [
        layer.name for layer in model.layers if layer.weights and not layer.name.startswith(DECODER_PREFIXES)
    ]


def normalised_tiles(tiles: Any, normalization: Normalization) -> Any:
    """Tiles in 0-255 units as the ``normalise`` layer sees them: the targets of a
    ``conv2d_autoencoder``."""
    mean, std = (np.asarray(v, dtype="float32") for v in normalization)
    # As keras.layers.Normalization divides: never by less than the backend's epsilon.
    return (keras.ops.cast(tiles, "float32") - mean) / np.maximum(std, keras.config.epsilon())


def reconstruction_loss(kind: str) -> keras.losses.Loss:
    """Mean squared error for features and normalised pixels, cross-entropy per position for
    one-hot sequences."""
    if kind == "conv_autoencoder":
        return keras.losses.CategoricalCrossentropy(name="loss")
    return keras.losses.MeanSquaredError(name="loss")
