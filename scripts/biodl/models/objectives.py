"""What a network is trained to do: the loss and the per-epoch metrics of each task.

Contract:
- ``loss_for(task, training)``: binary → binary cross-entropy; multiclass → categorical
  cross-entropy; multilabel → ``masked_binary_crossentropy`` (labels stored as NaN are missing
  and add nothing to the loss); regression → mean squared error or Huber (``training``'s
  ``regression_loss`` and ``huber_delta``), on targets standardised by ``biodl.data.dataset``.
- ``training_metrics(task)``: classification: ``auroc``, ``auprc`` (pooled over outputs, i.e.
  micro-averaged) and ``accuracy``; multilabel versions skip missing labels. Regression:
  ``mae`` and ``rmse`` in standard deviations of the target.
- The masked loss and metrics are registered Keras objects (package ``biodl``), so a saved
  model loads with ``safe_mode=True`` once this module is imported.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from biodl.config.models import Training

PACKAGE = "biodl"


@keras.saving.register_keras_serializable(package=PACKAGE)
def masked_binary_crossentropy(y_true: Any, y_pred: Any) -> Any:
    """Per example: the mean binary cross-entropy over its present (non-NaN) labels."""
    present = ops.logical_not(ops.isnan(y_true))
    y_true = ops.where(present, y_true, ops.zeros_like(y_true))
    per_label = keras.losses.binary_crossentropy(ops.expand_dims(y_true, -1), ops.expand_dims(y_pred, -1))
    weights = ops.cast(present, per_label.dtype)
    return ops.sum(per_label * weights, axis=-1) / ops.maximum(ops.sum(weights, axis=-1), 1.0)


def _present(y_true: Any, sample_weight: Any) -> tuple[Any, Any]:
    """Missing labels (NaN) replaced by 0 and weighted 0."""
    present = ops.logical_not(ops.isnan(y_true))
    weights = ops.cast(present, "float32")
    if sample_weight is not None:
        weights = weights * ops.cast(ops.expand_dims(sample_weight, -1), "float32")
    return ops.where(present, y_true, ops.zeros_like(y_true)), weights


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedAUC(keras.metrics.AUC):
    """AUC over the present labels only."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, weights = _present(y_true, sample_weight)
        super().update_state(y_true, y_pred, sample_weight=weights)


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedBinaryAccuracy(keras.metrics.BinaryAccuracy):
    """Binary accuracy over the present labels only."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, weights = _present(y_true, sample_weight)
        super().update_state(y_true, y_pred, sample_weight=weights)


def loss_for(task: str, training: Training) -> Any:
    if task == "binary":
        return keras.losses.BinaryCrossentropy(name="loss")
    if task == "multiclass":
        return keras.losses.CategoricalCrossentropy(name="loss")
    if task == "multilabel":
        return masked_binary_crossentropy
    if training.regression_loss == "huber":
        return keras.losses.Huber(delta=training.huber_delta, name="loss")
    return keras.losses.MeanSquaredError(name="loss")


def training_metrics(task: str) -> list[keras.metrics.Metric]:
    """Metrics tracked per epoch (see the module contract)."""
    if task == "regression":
        return [keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.RootMeanSquaredError(name="rmse")]
    if task == "multilabel":
        return [
            MaskedAUC(curve="ROC", name="auroc"),
            MaskedAUC(curve="PR", name="auprc"),
            MaskedBinaryAccuracy(name="accuracy"),
        ]
    accuracy = (
        keras.metrics.CategoricalAccuracy(name="accuracy")
        if task == "multiclass"
        else keras.metrics.BinaryAccuracy(name="accuracy")
    )
    return [
        keras.metrics.AUC(curve="ROC", name="auroc"),
        keras.metrics.AUC(curve="PR", name="auprc"),
        accuracy,
    ]
