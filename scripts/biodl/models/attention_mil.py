"""Attention-based multiple-instance learning (MIL) over bags of tiles: ``kind: attention_mil``.

Contract: ``build_mil_model(settings, tile_shape, max_tiles, task, n_outputs, normalization)``
returns an uncompiled ``keras.Model`` with two inputs, ``tiles`` ``(max_tiles, *tile_shape)`` in
0-255 units and ``mask`` ``(max_tiles,)`` (1 for a real tile, 0 for padding), and one output,
``output`` (the bag's prediction; sigmoid, softmax or linear as for every network):
- the per-tile encoder is a Keras model named ``tile_encoder``, applied to every tile
  (``TimeDistributed``, layer ``encode_tiles``): per-channel normalisation with the training
  split's statistics (``normalise``), the convolution blocks of ``conv_layers`` (``conv1``,
  ``conv2``, ...; same padding), global pooling (``global_max_pool`` / ``global_average_pool``)
  and ``dense_layers`` (``dense1``, ...): the names of a ``cnn2d`` model with the same layers, so
  ``init_from`` a trained tile model copies its trunk into the encoder (``freeze_layers`` then
  freezes the encoder's first layers: frozen tile features);
- gated attention (Ilse, Tomczak & Welling 2018, eq. 9): for tile embeddings h_k,
  a_k = softmax_k(w^T (tanh(V h_k) * sigmoid(U h_k))) with ``attention_units`` rows in V and U
  (layers ``attention_v``, ``attention_u``, ``attention_gate``, ``attention_score``); the softmax
  (layer ``attention``, shape ``(max_tiles,)``) is masked, so a padded tile gets exactly zero
  weight and the weights of a bag's real tiles sum to 1;
- the bag embedding sum_k a_k h_k (``attention_pool``) goes to the output layer.
Only built-in Keras layers are used, so the model saves and loads with plain
``keras.models.load_model``; ``attention_model(model)`` gives the attention weights of a loaded
or trained model (same inputs, output ``attention``).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from biodl.config.checks import check_pooling
from biodl.config.models import AttentionMilModel
from biodl.core.errors import require
from biodl.models.layers import CONV_LAYERS, conv_block, dense_block, max_norm
from biodl.models.networks import TASK_OUTPUTS, keras_name, kernel_settings

TILES, MASK, ATTENTION = "tiles", "mask", "attention"


def build_mil_model(
    settings: AttentionMilModel,
    tile_shape: tuple[int, ...],
    max_tiles: int,
    task: str,
    n_outputs: int,
    normalization: tuple[tuple[float, ...], tuple[float, ...]],
) -> keras.Model:
    """The uncompiled attention-MIL network (see the module contract)."""
    source = f"model {settings.name}"
    require(len(tile_shape) == 3, source, "kind", f"attention_mil takes image tiles, found {tile_shape}")
    require(max_tiles >= 1, source, "max_tiles", f"expected at least one tile per bag, found {max_tiles}")
    require(
        task in TASK_OUTPUTS, source, "task", f"expected one of {', '.join(TASK_OUTPUTS)}, found {task!r}"
    )
    weights = kernel_settings(settings)
    tiles = keras.Input(shape=(max_tiles, *tile_shape), name=TILES)
    mask = keras.Input(shape=(max_tiles,), name=MASK)
    encoder = tile_encoder(settings, tuple(tile_shape), normalization, weights)
    embeddings = keras.layers.TimeDistributed(encoder, name="encode_tiles")(tiles)
    attention = gated_attention(embeddings, mask, settings.attention_units, weights)
    pooled = keras.layers.Dot(axes=(1, 1), name="attention_pool")([attention, embeddings])
    outputs = keras.layers.Dense(
        n_outputs, activation=TASK_OUTPUTS[task], name="output", dtype="float32", **weights
    )(pooled)
    return keras.Model([tiles, mask], outputs, name=keras_name(settings.name))


def tile_encoder(
    settings: AttentionMilModel,
    tile_shape: tuple[int, ...],
    normalization: tuple[tuple[float, ...], tuple[float, ...]],
    weights: dict[str, Any],
) -> keras.Model:
    """One tile → its embedding, with a ``cnn2d`` model's layer names (see the module contract)."""
    inputs = keras.Input(shape=tile_shape, name="tile")
    mean, std = (np.asarray(v, dtype="float32") for v in normalization)
    x = keras.layers.Normalization(mean=mean, variance=std**2, name="normalise")(inputs)
    conv_weights = {**weights, "kernel_constraint": max_norm(settings.max_norm, 2)}
    check_pooling(settings.name, settings.conv_layers, min(tile_shape[:2]))
    for i, layer in enumerate(settings.conv_layers, start=1):
        x = conv_block(x, layer, settings.activation, conv_weights, f"conv{i}", dims=2)
    global_max, global_average = CONV_LAYERS[2][3:]
    pool = global_max if settings.global_pool == "max" else global_average
    x = pool(name=f"global_{settings.global_pool}_pool")(x)
    for i, dense in enumerate(settings.dense_layers, start=1):
        x = dense_block(x, dense, settings.activation, weights, f"dense{i}")
    return keras.Model(inputs, x, name="tile_encoder")


def gated_attention(embeddings: Any, mask: Any, units: int, weights: dict[str, Any]) -> Any:
    """Masked gated-attention weights ``(batch, tiles)`` of tile embeddings ``(batch, tiles, d)``."""
    v = keras.layers.Dense(units, activation="tanh", name="attention_v", **weights)(embeddings)
    u = keras.layers.Dense(units, activation="sigmoid", name="attention_u", **weights)(embeddings)
    gated = keras.layers.Multiply(name="attention_gate")([v, u])
    scores = keras.layers.Dense(1, name="attention_score", **weights)(gated)
    scores = keras.layers.Reshape((-1,), name="attention_scores")(scores)
    # The mask's padded tiles get a large negative score: exp() of it is exactly 0.
    return keras.layers.Softmax(axis=-1, name=ATTENTION, dtype="float32")(scores, mask=mask)


def attention_model(model: keras.Model) -> keras.Model:
    """The model's attention weights per tile, from the same inputs."""
    return keras.Model(model.inputs, model.get_layer(ATTENTION).output, name=f"{model.name}_attention")
