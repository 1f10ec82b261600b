"""Gradients of a network with respect to its input: attributions, class maps, and inputs
optimised to excite a filter or an output.

Contract (``model`` is a Keras model as loaded by ``biodl.evaluation.inference.load_model``; the backend
is TensorFlow):
- ``output_logit(model, x, unit)``: the pre-activation of output ``unit`` (the last Dense
  layer's ``h @ W + b``): monotone in the probability, and unlike it never saturates.
  Attributions and optimisation use it for every task.
- ``saliency(model, x, unit)``: input x gradient of the logit, per position and channel.
- ``in_silico_mutagenesis(model, x, unit)``: for one-hot sequences ``(n, L, 4)``, the change of
  the logit when each position is set to each base (0 for the reference base), ``(n, L, 4)``.
  ``ism_scores`` turns it into one score per reference base: minus the mean change of the
  three substitutions (what the base contributes), on the reference channel.
- ``maximise_filters(model, filters)`` / ``maximise_output(model, unit)``: gradient ascent in input
  space, every step a valid distribution (DNA: a softmax per position). A filter's window
  (kernel width) starts at 0.25 per base and is optimised against its pre-activation (the
  convolution's linear output, through batch norm when present), so a ReLU that is off at the
  start does not block the gradient. An output is optimised over the whole sequence from a
  real sequence when one is given (the highest-scoring one: the gradient there is not zero,
  whereas at 0.25 per base every ReLU may be off and the panel stays blank), else from a small
  perturbation seeded by the unit. Images: pixels are ``255 * sigmoid(z)`` from mid-grey
  (z = 0) and the filter's mean pre-activation over the tile is maximised. Each step is the
  gradient divided by the example's largest gradient at the start, times ``step``: weakly
  weighted positions stay near their start instead of saturating. Deterministic.
- ``feature_maps(model, x)``: the first convolution block's activations after the
  non-linearity (``biodl.interpret.motifs.filter_activations``, re-exported), for tiles too.
- ``grad_cam(model, x, unit)``: Grad-CAM on the last convolution block of a ``cnn2d``: its
  channels weighted by their spatially averaged gradient, summed, rectified, bilinearly
  resized to the tile and scaled to [0, 1] per tile.
"""

from __future__ import annotations

import logging
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from biodl.core.errors import require
from biodl.interpret.motifs import filter_activations as feature_maps
from biodl.interpret.motifs import first_conv

__all__ = [
    "feature_maps",
    "gradients",
    "grad_cam",
    "in_silico_mutagenesis",
    "ism_scores",
    "maximise_filters",
    "maximise_output",
    "output_logit",
    "saliency",
]

logger = logging.getLogger(__name__)

_EPS = 1e-8
# Standard deviation of the logits that start an output's maximisation without a sequence: a
# small perturbation that breaks the symmetry of 0.25 per base, where every ReLU may be off.
START_NOISE = 0.5


def _logit_model(model: keras.Model) -> tuple[keras.Model, Any, Any]:
    """(model to the last layer's input, that layer's kernel, its bias)."""
    last = model.layers[-1]
    require(isinstance(last, keras.layers.Dense), model.name, last.name, "expected a Dense output layer")
    return keras.Model(model.input, last.input), last.kernel, last.bias


def output_logit(model: keras.Model, x: Any, unit: int | np.ndarray) -> tf.Tensor:
    """Pre-activation of output ``unit`` (one index, or one per example) for inputs ``x``."""
    head, kernel, bias = _logit_model(model)
    logits = tf.matmul(head(x, training=False), kernel) + bias
    units = tf.broadcast_to(tf.convert_to_tensor(unit, dtype=tf.int32), tf.shape(logits)[:1])
    return tf.gather(logits, units, axis=1, batch_dims=1)


def gradients(model: keras.Model, x: np.ndarray, unit: int | np.ndarray, batch_size: int = 64) -> np.ndarray:
    """d logit / d input, same shape as ``x``."""
    out = []
    units = np.broadcast_to(np.asarray(unit), (len(x),))
    for start in range(0, len(x), batch_size):
        xb = tf.convert_to_tensor(x[start : start + batch_size], dtype=tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(xb)
            y = output_logit(model, xb, units[start : start + batch_size])
        out.append(tape.gradient(y, xb).numpy())
    return np.concatenate(out)


def saliency(model: keras.Model, x: np.ndarray, unit: int | np.ndarray) -> np.ndarray:
    """Input x gradient of the output logit."""
    return x * gradients(model, x, unit)


def in_silico_mutagenesis(
    model: keras.Model, x: np.ndarray, unit: int | np.ndarray, batch_size: int = 512
) -> np.ndarray:
    """Logit change for every single-base substitution of one-hot sequences ``(n, L, 4)``."""
    require(
        x.ndim == 3 and x.shape[2] == 4,
        "sequences",
        None,
        f"expected one-hot sequences (n, length, 4), found {x.shape}",
    )
    n, length, _ = x.shape
    units = np.broadcast_to(np.asarray(unit), (n,))
    effects = np.zeros(x.shape, dtype=np.float32)
    for i in range(n):
        # All 4 * L variants of sequence i (the reference base among them, giving 0).
        variants = np.repeat(x[i : i + 1], 4 * length, axis=0)
        rows = np.arange(4 * length)
        variants[rows, rows // 4, :] = np.eye(4, dtype=x.dtype)[rows % 4]
        scores = np.concatenate(
            [
                output_logit(model, variants[s : s + batch_size], int(units[i])).numpy()
                for s in range(0, len(variants), batch_size)
            ]
        )
        reference = output_logit(model, x[i : i + 1], int(units[i])).numpy()[0]
        effects[i] = (scores - reference).reshape(length, 4)
    return effects


def ism_scores(effects: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per reference base: minus the mean logit change of its three substitutions."""
    return x * (-effects.sum(axis=-1, keepdims=True) / 3.0)


def _first_conv_any(model: keras.Model) -> tuple[int, Any]:
    conv, _ = first_conv(model)
    return model.layers.index(conv), conv


def _pre_activation(model: keras.Model, index: int, h: Any) -> Any:
    """The convolution at ``index`` without its activation (batch norm applied when present)."""
    conv = model.layers[index]
    z = conv.convolution_op(h, conv.kernel)
    if conv.use_bias:
        z = z + conv.bias
    following = model.layers[index + 1] if index + 1 < len(model.layers) else None
    if isinstance(following, keras.layers.BatchNormalization):
        z = following(z, training=False)
    return z


def _ascend(objective: Any, z: tf.Variable, steps: int, step: float) -> None:
    """Gradient ascent on ``z``. Each example's steps are scaled by its largest gradient at
    the start, then kept: a column whose gradient is weak moves slowly, one that saturates
    stops, so the result keeps the relative importance of positions instead of saturating all."""
    axes = list(range(1, len(z.shape)))

    def gradient() -> tf.Tensor:
        with tf.GradientTape() as tape:
            value = objective(z)
        return tape.gradient(value, z)

    scale = tf.reduce_max(tf.abs(gradient()), axis=axes, keepdims=True)
    scale = tf.where(scale > 0, scale, tf.ones_like(scale))

    @tf.function
    def update() -> None:
        z.assign_add(step * gradient() / scale)

    for _ in range(steps):
        update()


def maximise_filters(
    model: keras.Model, filters: list[int], *, steps: int = 200, step: float = 0.1
) -> np.ndarray:
    """Inputs that maximise first-layer ``filters``, one per filter, optimised together (each
    example only feeds its own filter's term): DNA ``(len(filters), width, 4)``
    probabilities, images ``(len(filters), height, width, channels)`` in 0-255."""
    index, conv = _first_conv_any(model)
    for k in filters:
        require(
            0 <= k < conv.filters, model.name, conv.name, f"filter {k} does not exist (0..{conv.filters - 1})"
        )
    if not filters:
        return np.zeros((0, *model.input_shape[1:]), dtype=np.float32)
    pick = tf.one_hot(filters, conv.filters)
    if isinstance(conv, keras.layers.Conv1D):
        z = tf.Variable(tf.zeros((len(filters), conv.kernel_size[0], 4)))
        pre = lambda v: _pre_activation(model, index, tf.nn.softmax(v, axis=-1))  # noqa: E731
        _ascend(lambda v: tf.reduce_sum(pre(v)[:, 0, :] * pick), z, steps, step)
        return tf.nn.softmax(z, axis=-1).numpy()
    # Images: the layers before the convolution (augmentation is off at inference, normalisation).
    before = keras.Model(model.input, conv.input)
    z = tf.Variable(tf.zeros((len(filters), *model.input_shape[1:])))
    pre = lambda v: _pre_activation(model, index, before(255.0 * tf.sigmoid(v), training=False))  # noqa: E731
    _ascend(lambda v: tf.reduce_sum(tf.reduce_mean(pre(v), axis=(1, 2)) * pick), z, steps, step)
    return (255.0 * tf.sigmoid(z)).numpy()


def maximise_output(
    model: keras.Model,
    unit: int,
    *,
    steps: int = 200,
    step: float = 0.1,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """DNA input ``(length, 4)`` (probabilities per position) that maximises output ``unit``,
    from ``start`` (a one-hot sequence, e.g. the one scoring highest) or a seeded perturbation."""
    shape = model.input_shape[1:]
    require(
        len(shape) == 2 and shape[1] == 4,
        model.name,
        "input",
        f"output maximisation is drawn for DNA models, found inputs {shape}",
    )
    if start is not None:
        # 0.7 on the sequence's base, 0.1 elsewhere: inside the region the network responds to,
        # yet every base can still win.
        z = tf.Variable(np.log(0.6 * np.asarray(start, dtype=np.float32)[None] + 0.1))
    else:
        noise = np.random.default_rng(unit).normal(0.0, START_NOISE, size=(1, *shape))
        z = tf.Variable(noise.astype(np.float32))
    initial = tf.nn.softmax(z, axis=-1).numpy()[0]
    _ascend(lambda v: tf.reduce_sum(output_logit(model, tf.nn.softmax(v, axis=-1), unit)), z, steps, step)
    found = tf.nn.softmax(z, axis=-1).numpy()[0]
    if np.allclose(found, initial, atol=1e-4):
        logger.warning("output %d: maximisation did not move from its start (zero gradient there)", unit)
    return found


def grad_cam(model: keras.Model, x: np.ndarray, unit: int | np.ndarray) -> np.ndarray:
    """Grad-CAM maps ``(n, height, width)`` in [0, 1] from the last 2-D convolution block."""
    convs = [i for i, layer in enumerate(model.layers) if isinstance(layer, keras.layers.Conv2D)]
    require(bool(convs), model.name, None, "Grad-CAM needs a model with 2-D convolutions")
    # The block's output: the last layer before global pooling or flattening.
    end = convs[-1]
    while end + 1 < len(model.layers) and not isinstance(
        model.layers[end + 1],
        (keras.layers.GlobalMaxPooling2D, keras.layers.GlobalAveragePooling2D, keras.layers.Flatten),
    ):
        end += 1
    split = keras.Model(model.input, model.layers[end].output)
    rest = model.layers[end + 1 :]
    _, kernel, bias = _logit_model(model)
    xb = tf.convert_to_tensor(x, dtype=tf.float32)
    units = tf.broadcast_to(tf.convert_to_tensor(unit, dtype=tf.int32), (len(x),))
    with tf.GradientTape() as tape:
        a = split(xb, training=False)
        tape.watch(a)
        h = a
        for layer in rest[:-1]:
            h = layer(h, training=False)
        y = tf.gather(tf.matmul(h, kernel) + bias, units, axis=1, batch_dims=1)
    g = tape.gradient(y, a)
    cam = tf.nn.relu(tf.reduce_sum(a * tf.reduce_mean(g, axis=(1, 2), keepdims=True), axis=-1))
    cam = tf.image.resize(cam[..., None], x.shape[1:3], method="bilinear")[..., 0].numpy()
    top = cam.reshape(len(x), -1).max(axis=1)
    return cam / np.where(top > 0, top, 1.0)[:, None, None]
