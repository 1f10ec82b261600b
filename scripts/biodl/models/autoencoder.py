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
``encoder_layers(model)`` names the layers with weights that a supervised network of the matching
kind (``mlp`` / ``cnn1d`` with the same ``dense_layers`` / ``conv_layers``) takes over by name
(``biodl.training.transfer.copy_weights``); ``reconstruction_loss(kind)`` is the training loss,
``RECONSTRUCTION_LOSS_LABELS[kind]`` names it for the loss curves' axis.
Only built-in Keras layers: the model loads with plain ``keras.models.load_model``.
"""

from __future__ import annotations

import math
from typing import Any

import keras

from biodl.config.checks import check_fits
from biodl.config.models import AutoencoderModel, ConvAutoencoderModel, DenseAutoencoderModel
from biodl.core.errors import require
from biodl.models.layers import conv_block, dense_block, max_norm
from biodl.models.networks import keras_name, kernel_settings

RECONSTRUCTION = "reconstruction"
DECODER_PREFIXES = ("decode", "upsample", "pad", RECONSTRUCTION)
INPUT_RANKS = {"dense_autoencoder": 1, "conv_autoencoder": 2}
RECONSTRUCTION_LOSS_LABELS = {
    "dense_autoencoder": "Reconstruction loss (MSE, standardised features)",
    "conv_autoencoder": "Reconstruction loss (cross-entropy per position, nats)",
}


def build_autoencoder(settings: AutoencoderModel, input_shape: tuple[int, ...]) -> keras.Model:
    """The uncompiled autoencoder of ``settings`` for inputs of ``input_shape`` (see the contract)."""
    require(
        len(input_shape) == INPUT_RANKS[settings.kind],
        f"model {settings.name}",
        "kind",
        f"a {settings.kind} takes inputs of {INPUT_RANKS[settings.kind]} dimension(s) per example, "
        f"the dataset has {tuple(input_shape)}",
    )
    weights = kernel_settings(settings)
    if isinstance(settings, ConvAutoencoderModel):
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


def encoder_layers(model: keras.Model) -> list[str]:
    """Names of the encoder's layers with weights (what ``init_from`` hands on), in order."""
    return [
        layer.name for layer in model.layers if layer.weights and not layer.name.startswith(DECODER_PREFIXES)
    ]


def reconstruction_loss(kind: str) -> keras.losses.Loss:
    """Mean squared error for features, cross-entropy per position for one-hot sequences."""
    if kind == "conv_autoencoder":
        return keras.losses.CategoricalCrossentropy(name="loss")
    return keras.losses.MeanSquaredError(name="loss")
