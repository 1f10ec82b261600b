"""How a network's weights move: optimisers, learning-rate schedules, clipping, class weights and
the per-step gradient norm.

Contract (``training`` is a network's typed ``training`` settings, ``biodl.config.models.Training``):
- ``build_optimizer(model_name, training)`` returns the Keras optimiser named
  by ``training.optimizer`` (``sgd``, ``rmsprop``, ``adam``, ``adamw``, ``adagrad``,
  ``adadelta``, ``adamax``, ``nadam``) with ``training.learning_rate``,
  the optimiser parameters that are set (``momentum``, ``nesterov``, ``beta_1``, ``beta_2``,
  ``rho``, ``epsilon``, ``weight_decay``; ``null`` keeps Keras' default) and at most one of
  ``clip_norm`` (each gradient), ``clip_value`` (each element) or ``global_clip_norm`` (all
  gradients together). A parameter the optimiser has no use for raises ``InputError`` naming it.
- ``schedule_rates(training, epochs, base)`` is the learning rate of each epoch for the schedules
  that depend on the epoch alone: ``constant``; ``step`` (× ``factor`` every ``step_epochs``);
  ``exponential`` (× ``factor`` each epoch); ``cosine`` (from the base rate down to
  ``min_learning_rate`` over ``decay_epochs``, default the epochs left after warm-up, so the
  last epoch still has a rate above the minimum; then the minimum). A linear
  warm-up over ``warmup_epochs`` (base × 1/W, 2/W, …, 1) comes first and the schedule starts
  after it. ``plateau`` multiplies the rate by ``factor`` (not below ``min_learning_rate``) after
  ``patience`` epochs without an improvement of the monitored metric by more than ``min_delta``.
  ``LearningRateController`` applies the rate at the start of each epoch, records it in the
  epoch's logs as ``learning_rate`` and exposes its state for checkpoints (``state()`` /
  ``restore()``).
- ``class_weights(dataset, training, model_name)``: ``None`` (no weighting), ``"balanced"``
  (n / (classes × count) from the training split's labels) or an explicit ``{class: weight}``
  mapping (classes left out weigh 1) → Keras' ``{index: weight}``; binary and multiclass tasks only.
- ``GradientNormModel``: a functional Keras model whose training step also tracks
  ``gradient_norm``, the global L2 norm of the gradients before clipping (unscaled under mixed
  precision), averaged over the epoch's steps.
- ``monitor_mode(monitor)``: ``"max"`` for AUROC, AUPRC and accuracy, ``"min"`` for losses and errors.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras.src.losses.loss import unscale_loss_for_distribution

from biodl.config.models import Training
from biodl.core.errors import require
from biodl.data.dataset import PreparedDataset, load_labels

OPTIMIZERS: dict[str, type[keras.optimizers.Optimizer]] = {
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "adagrad": keras.optimizers.Adagrad,
    "adadelta": keras.optimizers.Adadelta,
    "adamax": keras.optimizers.Adamax,
    "nadam": keras.optimizers.Nadam,
}
# The settings each optimiser takes besides learning_rate, weight_decay and clipping.
ADAM_LIKE = ("beta_1", "beta_2", "epsilon")
OPTIMIZER_PARAMETERS: dict[str, tuple[str, ...]] = {
    "sgd": ("momentum", "nesterov"),
    "rmsprop": ("rho", "momentum", "epsilon"),
    "adam": ADAM_LIKE,
    "adamw": ADAM_LIKE,
    "adagrad": ("epsilon",),
    "adadelta": ("rho", "epsilon"),
    "adamax": ADAM_LIKE,
    "nadam": ADAM_LIKE,
}
ALL_PARAMETERS = ("momentum", "nesterov", "beta_1", "beta_2", "rho", "epsilon")
CLIPPING = {"clip_norm": "clipnorm", "clip_value": "clipvalue", "global_clip_norm": "global_clipnorm"}
MAXIMISED = ("val_auroc", "val_auprc", "val_accuracy")


def build_optimizer(model_name: str, training: Training) -> keras.optimizers.Optimizer:
    """The configured optimiser (see the module contract)."""
    name = training.optimizer
    source = f"model {model_name}"
    kwargs: dict[str, Any] = {"learning_rate": training.learning_rate}
    for key in ALL_PARAMETERS:
        value = getattr(training, key)
        unset = value is None or (key == "nesterov" and value is False)
        if unset:
            continue
        require(
            key in OPTIMIZER_PARAMETERS[name],
            source,
            f"training.{key}",
            f"the {name} optimiser takes no {key}; it takes {', '.join(OPTIMIZER_PARAMETERS[name])}",
        )
        kwargs[key] = value
    if training.weight_decay is not None:
        kwargs["weight_decay"] = training.weight_decay
    clipping = [key for key in CLIPPING if getattr(training, key) is not None]
    require(
        len(clipping) <= 1,
        source,
        "training",
        f"set at most one of clip_norm, clip_value and global_clip_norm, found {', '.join(clipping)}",
    )
    for key in clipping:
        kwargs[CLIPPING[key]] = getattr(training, key)
    return OPTIMIZERS[name](**kwargs)


def monitor_mode(monitor: str) -> str:
    return "max" if monitor in MAXIMISED else "min"


def schedule_rates(training: Training, epochs: int, base: float) -> list[float]:
    """Per-epoch learning rates of an epoch-driven schedule (not ``plateau``), warm-up included."""
    schedule, warmup = training.schedule, training.warmup_epochs
    kind = schedule.kind
    require(
        kind != "plateau",
        "schedule",
        "kind",
        "a plateau schedule depends on the monitored metric, not on the epoch alone",
    )
    rates = []
    for epoch in range(epochs):
        if epoch < warmup:
            rates.append(base * (epoch + 1) / warmup)
            continue
        e = epoch - warmup
        if kind == "step":
            rate = base * schedule.factor ** (e // schedule.step_epochs)
        elif kind == "exponential":
            rate = base * schedule.factor**e
        elif kind == "cosine":
            # By default the minimum would come just after the last epoch, which still learns.
            span = schedule.decay_epochs or max(epochs - warmup, 1)
            floor = schedule.min_learning_rate
            rate = floor + (base - floor) * (1 + math.cos(math.pi * min(e, span) / span)) / 2
        else:
            rate = base
        rates.append(rate)
    return rates


class LearningRateController(keras.callbacks.Callback):
    """Sets the learning rate at each epoch's start and logs it (``learning_rate``) at its end."""

    def __init__(self, training: Training, epochs: int, base: float, monitor: str) -> None:
        super().__init__()
        self.schedule = training.schedule
        self.warmup = training.warmup_epochs
        self.plateau = self.schedule.kind == "plateau"
        self.base = base
        self.monitor = monitor
        self.maximise = monitor_mode(monitor) == "max"
        # Epoch-driven schedules are computed once; plateau keeps a running rate, best and wait.
        self.rates = None if self.plateau else schedule_rates(training, epochs, base)
        self.current = base
        self.best: float | None = None
        self.wait = 0

    def rate(self, epoch: int) -> float:
        if self.rates is not None:
            return self.rates[epoch]
        return self.base * (epoch + 1) / self.warmup if epoch < self.warmup else self.current

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.model.optimizer.learning_rate.assign(self.rate(epoch))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs if logs is not None else {}
        # Read back from the optimiser: the rate training used (float32), not the one intended.
        logs["learning_rate"] = float(self.model.optimizer.learning_rate.numpy())
        if self.plateau and epoch >= self.warmup and self.monitor in logs:
            self._plateau_step(float(logs[self.monitor]))

    def _plateau_step(self, value: float) -> None:
        delta = self.schedule.min_delta
        improved = self.best is None or (
            value > self.best + delta if self.maximise else value < self.best - delta
        )
        if improved:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.schedule.patience:
            self.current = max(self.current * self.schedule.factor, self.schedule.min_learning_rate)
            self.wait = 0

    def state(self) -> dict[str, Any]:
        return {"current": self.current, "best": self.best, "wait": self.wait}

    def restore(self, state: dict[str, Any]) -> None:
        self.current, self.best, self.wait = state["current"], state["best"], state["wait"]


def class_weights(dataset: PreparedDataset, training: Training, model_name: str) -> dict[int, float] | None:
    """Keras class weights ``{index: weight}`` from ``training.class_weight`` (see the contract)."""
    setting = training.class_weight
    if setting is None:
        return None
    source = f"model {model_name}"
    require(
        dataset.task in ("binary", "multiclass"),
        source,
        "training.class_weight",
        f"class weights apply to binary and multiclass tasks; {dataset.name} is a {dataset.task} task",
    )
    if setting == "balanced":
        y = load_labels(dataset, "train")
        index = y[:, 0].astype(int) if dataset.task == "binary" else y.argmax(axis=1)
        counts = np.bincount(index, minlength=len(dataset.classes))
        require(
            bool((counts > 0).all()),
            dataset.manifest,
            "splits.train",
            "balanced class weights need every class in the training split; counts "
            f"{dict(zip(dataset.classes, counts.tolist(), strict=True))}",
        )
        return {i: float(len(index) / (len(counts) * count)) for i, count in enumerate(counts)}
    unknown = sorted(set(setting) - set(dataset.classes))
    require(
        not unknown,
        source,
        "training.class_weight",
        f"unknown class(es) {', '.join(unknown)}; {dataset.name} has {', '.join(dataset.classes)}",
    )
    return {i: float(setting.get(name, 1.0)) for i, name in enumerate(dataset.classes)}


class GradientNormModel(keras.Model):
    """A functional model whose training step also tracks the global gradient norm.

    Only used while training: the saved model is the plain functional model on the same layers,
    so loading it needs nothing from this module.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gradient_norm_tracker = keras.metrics.Mean(name="gradient_norm")

    def train_step(self, data: Any) -> dict[str, Any]:
        # Keras' TensorFlow train step, plus the norm of the gradients before the optimiser clips them.
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            self._loss_tracker.update_state(unscale_loss_for_distribution(loss), sample_weight=tf.shape(x)[0])
            scaled = self.optimizer.scale_loss(loss)
        weights = self.trainable_weights
        gradients = tape.gradient(scaled, weights)
        norm = tf.linalg.global_norm([tf.cast(g, tf.float32) for g in gradients if g is not None])
        # Under mixed precision the loss, hence every gradient, is multiplied by the loss scale.
        norm = norm / tf.cast(self.optimizer.scale_loss(1.0), tf.float32)
        self.gradient_norm_tracker.update_state(norm)
        self.optimizer.apply_gradients(zip(gradients, weights, strict=True))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
