"""DeepLIFT / DeepSHAP attributions of DNA networks against dinucleotide-shuffled references.

Which method and why: DeepLIFT with the Rescale rule (Shrikumar et al. 2017), averaged over
shuffled references as DeepSHAP does (Lundberg & Lee 2017), the scores that TF-MoDISco,
ChromBPNet, tangermeme and gReLU use. It is implemented here in TensorFlow because the
maintained implementations do not run on these networks: tangermeme and captum are PyTorch,
and shap's DeepExplainer rewrites TensorFlow 1 graph gradients that Keras 3 models no longer
have. Integrated/expected gradients would need tens of gradient evaluations per reference for an
approximate sum; the Rescale rule needs one and its sums are exact.

Contract:
- ``dinucleotide_references(x, count, rng)``: ``count`` dinucleotide shuffles of each one-hot
  sequence ``(n, L, 4)`` -> ``(n, count, L, 4)`` (``biodl.data.dna.background``; an all-zero
  row, an N, is shuffled like a fifth letter).
- ``multipliers(model, x, references, unit)``: DeepLIFT multipliers of the logit of output
  ``unit`` (``biodl.interpret.attribution.output_logit``) for each (sequence, reference) pair,
  ``(n, count, L, 4)``. The model must be a chain of layers (as the workflow's cnn1d models are);
  convolutions, dense layers, batch norm, average pooling, flattening, dropout and the training
  augmentations are linear at inference and keep their gradients; element-wise activations
  (their own or an ``Activation`` layer) get the Rescale multiplier (f(x) - f(r)) / (x - r),
  the gradient where x = r; max pooling (local and global) gets DeepSHAP's rule, which shares
  the change of each maximum between the input's and the reference's maximal positions. Any
  other layer is refused with an ``InputError`` naming it.
- ``hypothetical(multipliers, references)``: for every position and base b, the contribution
  base b would make there, sum over channels c of (1[b = c] - r_c) * m_c, averaged over
  references, ``(n, L, 4)``. The actual contributions are ``hypothetical * x``; over a
  sequence without N they sum to logit(x) minus the mean logit of its references (DeepLIFT's
  completeness, which the tests check).
- ``deep_shap(models, x, context)``: hypothetical scores averaged over both strands (the
  reverse complement's scores flipped back) and over ``models`` (ensemble members), with the
  references of ``AttributionContext``; the same references for every model and strand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from biodl.core.errors import InputError, require
from biodl.data.dna.background import dinucleotide_shuffle
from biodl.models.augmentation import SeededRandomLayer

logger = logging.getLogger(__name__)

_EPS = 1e-6
_LINEAR = (
    keras.layers.BatchNormalization,
    keras.layers.Dropout,
    keras.layers.Flatten,
    keras.layers.AveragePooling1D,
    keras.layers.GlobalAveragePooling1D,
)
_MAX_POOL = (keras.layers.MaxPooling1D, keras.layers.GlobalMaxPooling1D)


@dataclass(frozen=True)
class AttributionContext:
    """What ``deep_shap`` explains: output ``unit``, ``references`` per sequence, batch size."""

    unit: int
    references: np.ndarray
    batch_size: int = 32
    both_strands: bool = True


def dinucleotide_references(x: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` dinucleotide shuffles of every one-hot sequence, ``(n, count, L, 4)``."""
    require(
        x.ndim == 3 and x.shape[2] == 4,
        "sequences",
        None,
        f"expected one-hot sequences (n, length, 4), found {x.shape}",
    )
    require(count >= 1, "config", "interpretation.attribution_references", "expected at least 1")
    # Code 4 for a row without a base (N stored as zeros); ambiguous rows keep their own vector.
    codes = np.where(x.sum(axis=2) > 0, x.argmax(axis=2), 4)
    table = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])
    out = np.empty((len(x), count, x.shape[1], 4), dtype=np.float32)
    for i, row in enumerate(codes):
        for k in range(count):
            out[i, k] = table[dinucleotide_shuffle(row, rng)]
    return out


def _chain(model: keras.Model) -> list[Any]:
    """The layers after the input, checked to form a single chain."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    for previous, current in zip(layers, layers[1:], strict=False):
        inbound = current._inbound_nodes[0].parent_nodes if current._inbound_nodes else []
        require(
            len(inbound) == 1 and inbound[0].operation is previous,
            model.name,
            current.name,
            "DeepLIFT needs a model whose layers form a single chain",
        )
    return layers


def _rescale(fn: Callable[[Any], Any], z: tf.Tensor, zr: tf.Tensor) -> tf.Tensor:
    """``fn(z)`` whose gradient is the Rescale multiplier against the reference input ``zr``."""

    @tf.custom_gradient
    def op(v: tf.Tensor) -> Any:
        y = fn(v)

        def grad(dy: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                tape.watch(v)
                again = fn(v)
            slope = tape.gradient(again, v)
            d = v - zr
            far = tf.abs(d) > _EPS
            return dy * tf.where(far, (y - fn(zr)) / tf.where(far, d, 1.0), slope)

        return y, grad

    return op(z)


def _max_pool(layer: Any, h: tf.Tensor, hr: tf.Tensor) -> tf.Tensor:
    """Max pooling of ``h`` with DeepSHAP's multipliers against the reference input ``hr``."""
    yr = layer(hr)

    @tf.custom_gradient
    def op(v: tf.Tensor) -> Any:
        y = layer(v)

        def grad(dy: tf.Tensor) -> tf.Tensor:
            cross = tf.maximum(y, yr)
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(v)
                tape.watch(hr)
                a, b = layer(v), layer(hr)
            # The input's maxima carry the rise to the larger of both maxima, the reference's
            # the rest: together exactly y - yr, shared out over the inputs that changed.
            gx = tape.gradient(a, v, output_gradients=dy * (cross - yr))
            gr = tape.gradient(b, hr, output_gradients=dy * (y - cross))
            d = v - hr
            far = tf.abs(d) > _EPS
            return tf.where(far, (gx + gr) / tf.where(far, d, 1.0), 0.0)

        return y, grad

    return op(h)


def _linear_part(layer: Any, h: tf.Tensor) -> tf.Tensor:
    if isinstance(layer, keras.layers.Dense):
        z = tf.matmul(h, layer.kernel)
    else:
        z = layer.convolution_op(h, layer.kernel)
    return z + layer.bias if layer.use_bias else z


def _activation(layer: Any) -> Callable[[Any], Any] | None:
    fn = layer.activation
    return None if getattr(fn, "__name__", "linear") == "linear" else fn


def _step(layer: Any, h: tf.Tensor, hr: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One layer applied to the input (with DeepLIFT gradients) and to the reference."""
    if isinstance(layer, (keras.layers.Dense, keras.layers.Conv1D)):
        z, zr = _linear_part(layer, h), _linear_part(layer, hr)
        fn = _activation(layer)
        return (z, zr) if fn is None else (_rescale(fn, z, zr), fn(zr))
    if isinstance(layer, keras.layers.Activation):
        return _rescale(layer.activation, h, hr), layer.activation(hr)
    if isinstance(layer, _MAX_POOL):
        return _max_pool(layer, h, hr), layer(hr)
    if isinstance(layer, (*_LINEAR, SeededRandomLayer)):
        # Batch norm at inference is affine; dropout and the augmentation layers pass through.
        return layer(h, training=False), layer(hr, training=False)
    raise InputError(
        layer.name,
        type(layer).__name__,
        "DeepLIFT has no rule for this layer; expected convolutions, dense layers, pooling, batch norm, "
        "dropout and element-wise activations",
    )


def _logit_pairs(layers: list[Any], x: tf.Tensor, r: tf.Tensor, unit: int) -> tf.Tensor:
    """The logit of ``unit`` for each input row, differentiable by DeepLIFT's rules."""
    h, hr = x, r
    for layer in layers[:-1]:
        h, hr = _step(layer, h, hr)
    return _linear_part(layers[-1], h)[:, unit]


def multipliers(model: keras.Model, x: np.ndarray, references: np.ndarray, unit: int) -> np.ndarray:
    """DeepLIFT multipliers for every (sequence, reference) pair, ``(n, count, L, 4)``."""
    layers = _chain(model)
    require(
        isinstance(layers[-1], keras.layers.Dense),
        model.name,
        layers[-1].name,
        "expected a Dense output layer",
    )
    n, count = references.shape[:2]
    xs = tf.convert_to_tensor(np.repeat(x.astype(np.float32), count, axis=0))
    rs = tf.convert_to_tensor(references.reshape(n * count, *references.shape[2:]).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(xs)
        logit = _logit_pairs(layers, xs, rs, unit)
    grads = tape.gradient(logit, xs)
    return grads.numpy().reshape(references.shape)


def hypothetical(mult: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Hypothetical contributions averaged over references (module contract), ``(n, L, 4)``."""
    # m_b - sum_c r_c m_c: the contribution base b would make against each reference.
    shared = (references * mult).sum(axis=-1, keepdims=True)
    return (mult - shared).mean(axis=1)


def reverse_complement(x: np.ndarray) -> np.ndarray:
    """One-hot sequences (..., L, 4) read from the other strand (A<->T, C<->G)."""
    return x[..., ::-1, ::-1]


def deep_shap(models: list[keras.Model], x: np.ndarray, context: AttributionContext) -> np.ndarray:
    """Hypothetical scores averaged over strands and models, ``(n, L, 4)`` (module contract)."""
    require(bool(models), "attributions", None, "no model to explain")
    require(
        context.references.shape[0] == len(x) and context.references.shape[2:] == x.shape[1:],
        "attributions",
        None,
        f"expected references (n={len(x)}, count, {x.shape[1]}, 4), found {context.references.shape}",
    )
    total = np.zeros(x.shape, dtype=np.float64)
    strands = (False, True) if context.both_strands else (False,)
    for model in models:
        for flip in strands:
            for s in range(0, len(x), context.batch_size):
                xb = x[s : s + context.batch_size]
                rb = context.references[s : s + context.batch_size]
                if flip:
                    xb, rb = reverse_complement(xb), reverse_complement(rb)
                scores = hypothetical(multipliers(model, xb, rb, context.unit), rb)
                total[s : s + context.batch_size] += reverse_complement(scores) if flip else scores
    return (total / (len(models) * len(strands))).astype(np.float32)
