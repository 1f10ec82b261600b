"""The model a run saves: the trained network, ready to predict anywhere.

Contract: ``export_model(trained, settings, dataset)`` returns the network a run writes as its
``model.keras``, which ``keras.models.load_model(path)`` opens in a Python with nothing but Keras and
TensorFlow (no ``biodl`` import, no custom objects):
- the same layers and trained weights (copied by layer name) without the training-time
  augmentation layers (identity at inference; ``biodl.models.augmentation``), built and computing in
  float32 whatever precision training used;
- regression outputs in the target's units: a last ``Dense`` layer ``target_units`` with fixed
  weights (diagonal: the training split's standard deviation per target; bias: its mean) undoes the
  standardisation the network was trained on;
- not compiled: the loss and metrics (some of them the package's masked ones) are training's
  business, and an uncompiled model loads without them.
Inputs are what the prepared dataset stores: one-hot DNA ``(length, 4)`` (``uint8`` or float), image
tiles in 0-255 (the channel normalisation is inside the model), or the table features after the
preprocessing saved with the dataset (``preprocessing.skops``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np

from biodl.config.models import Cnn1dModel, Cnn2dModel, NetworkModel, ZooModel
from biodl.data.dataset import PreparedDataset
from biodl.models.augmentation import no_augmentation
from biodl.models.networks import build_model
from biodl.training.device import precision

TARGET_UNITS = "target_units"


def export_model(trained: keras.Model, settings: NetworkModel, dataset: PreparedDataset) -> keras.Model:
    """The inference network of a trained one (see the module contract)."""
    plain: NetworkModel = settings
    if isinstance(settings, Cnn1dModel | Cnn2dModel | ZooModel):
        changes: dict[str, Any] = {"augmentation": no_augmentation(settings.augmentation)}
        plain = dataclasses.replace(settings, **changes)
    normalization = (dataset.channel_mean, dataset.channel_std) if dataset.modality == "image" else None
    with precision(False):
        network = build_model(plain, dataset.input_shape, dataset.task, len(dataset.targets), normalization)
        for layer in network.layers:
            if layer.weights:
                layer.set_weights(trained.get_layer(layer.name).get_weights())
        if dataset.task != "regression":
            return network
        return keras.Model(network.inputs, _in_target_units(network.output, dataset), name=network.name)


def _in_target_units(outputs: keras.KerasTensor, dataset: PreparedDataset) -> keras.KerasTensor:
    """Standardised outputs → the target's units, by a frozen linear layer."""
    mean = np.asarray(dataset.target_mean, dtype="float32")
    std = np.asarray(dataset.target_std, dtype="float32")
    units = keras.layers.Dense(len(mean), name=TARGET_UNITS, trainable=False, dtype="float32")
    result = units(outputs)
    units.set_weights([np.diag(std), mean])
    return result
