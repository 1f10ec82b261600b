"""The "can it fit a tiny subset?" check: a network that cannot learn 32 training examples by
heart has a bug (labels, inputs, loss, learning rate) that more data will not fix.

Contract: ``overfit_check(dataset_dir, model, seed, result_path, settings, threads)`` (``model``:
a network's typed settings; ``settings``: ``biodl.config.settings.SanitySettings``) draws
``settings.examples`` training examples (seeded), builds the model without any
regularisation (no dropout, L1/L2, max-norm, augmentation or class weights; batch norm kept as
part of the architecture) and trains it on them alone with the configured optimiser and base
learning rate, no schedule and no early stopping, for at most ``settings.max_epochs`` epochs. It
stops as soon as the training accuracy reaches ``settings.target_accuracy`` (classification) or
the training loss falls to ``settings.target_loss`` (regression, standardised targets), and
writes (atomically) a one-row TSV: ``dataset``, ``model``, ``examples``, ``epochs``, ``loss``,
``accuracy`` (empty for regression), ``criterion`` and ``passed``. The verdict is logged.
"""

from __future__ import annotations

import dataclasses
import logging
from os import PathLike
from typing import Any

import keras
import numpy as np
import pandas as pd

from biodl.config.models import (
    Cnn1dModel,
    Cnn2dModel,
    DilatedResNetModel,
    MlpModel,
    NetworkModel,
    ZooModel,
)
from biodl.config.settings import SanitySettings
from biodl.core.errors import require
from biodl.core.files import write_tsv
from biodl.data.dataset import PreparedDataset, open_dataset
from biodl.models.augmentation import no_augmentation
from biodl.models.objectives import loss_for, training_metrics
from biodl.models.optimization import build_optimizer
from biodl.training.batches import ShardBatches
from biodl.training.device import configure_tensorflow
from biodl.training.loop import network_for

logger = logging.getLogger(__name__)


def unregularised(settings: NetworkModel) -> NetworkModel:
    """A network's settings with every regulariser switched off."""
    changes: dict[str, Any] = {
        "l1": 0,
        "l2": 0,
        "max_norm": None,
        "dense_layers": tuple(dataclasses.replace(layer, dropout=0) for layer in settings.dense_layers),
        "training": dataclasses.replace(settings.training, class_weight=None),
    }
    if isinstance(settings, Cnn1dModel | Cnn2dModel):
        changes["conv_layers"] = tuple(
            dataclasses.replace(layer, dropout=0) for layer in settings.conv_layers
        )
        changes["augmentation"] = no_augmentation(settings.augmentation)
    if isinstance(settings, MlpModel):
        changes["input_dropout"] = 0
    if isinstance(settings, ZooModel):
        # The published architectures' own dropout stays: it is part of their shape.
        changes["augmentation"] = no_augmentation(settings.augmentation)
    if isinstance(settings, DilatedResNetModel):
        changes["dropout"] = 0
    return dataclasses.replace(settings, **changes)


def overfit_check(
    dataset_dir: str | PathLike[str],
    model: NetworkModel,
    seed: int,
    result_path: str | PathLike[str],
    settings: SanitySettings,
    threads: int = 1,
) -> pd.DataFrame:
    """Train on a tiny training subset until it is fitted; write and return the verdict row."""
    dataset = open_dataset(dataset_dir)
    plain = unregularised(model)
    n = min(settings.examples, dataset.n("train"))
    require(n > 0, dataset.manifest, "splits.train", "the sanity check needs at least one training example")
    # One shuffled "batch" of n examples: a seeded draw from the whole training split.
    x, y = ShardBatches(dataset, "train", n, shuffle=True, seed=seed)[0]
    configure_tensorflow(seed, threads)
    network = _compiled_for_fitting(plain, dataset)
    regression = dataset.task == "regression"
    criterion = (
        f"training loss <= {settings.target_loss:g}"
        if regression
        else f"training accuracy >= {settings.target_accuracy:g}"
    )
    stop = StopWhenFitted(
        "loss" if regression else "accuracy",
        settings.target_loss if regression else settings.target_accuracy,
    )
    history = network.fit(
        x,
        y,
        batch_size=min(plain.training.batch_size, n),
        epochs=settings.max_epochs,
        callbacks=[stop],
        shuffle=False,
        verbose=0,
    )
    row = pd.DataFrame(
        [
            {
                "dataset": dataset.name,
                "model": model.name,
                "examples": n,
                "epochs": len(history.history["loss"]),
                "loss": float(history.history["loss"][-1]),
                "accuracy": np.nan if regression else float(history.history["accuracy"][-1]),
                "criterion": criterion,
                "passed": stop.reached,
            }
        ]
    )
    _log_verdict(row.iloc[0], regression)
    write_tsv(row, result_path)
    return row


def _compiled_for_fitting(plain: NetworkModel, dataset: PreparedDataset) -> keras.Model:
    """The network of the unregularised settings, compiled with the configured optimiser and loss;
    classification tracks accuracy only (the criterion)."""
    network = network_for(plain, dataset)
    regression = dataset.task == "regression"
    network.compile(
        optimizer=build_optimizer(plain.name, plain.training),
        loss=loss_for(dataset.task, plain.training),
        metrics=[] if regression else [m for m in training_metrics(dataset.task) if m.name == "accuracy"],
    )
    return network


def _log_verdict(row: pd.Series, regression: bool) -> None:
    verdict = "passed" if row["passed"] else "FAILED"
    logger.info(
        "sanity check %s: %s on %d training examples of %s after %d epochs (loss %.4g%s; criterion: %s)",
        verdict,
        row["model"],
        row["examples"],
        row["dataset"],
        row["epochs"],
        row["loss"],
        "" if regression else f", accuracy {row['accuracy']:.3f}",
        row["criterion"],
    )
    if not row["passed"]:
        logger.warning(
            "model %s could not fit %d examples: check the labels, inputs, loss and learning rate",
            row["model"],
            row["examples"],
        )


class StopWhenFitted(keras.callbacks.Callback):
    """Stops training once ``metric`` reaches ``target`` (at least for accuracy, at most for loss)."""

    def __init__(self, metric: str, target: float) -> None:
        super().__init__()
        self.metric = metric
        self.target = target
        self.reached = False

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        value = float((logs or {})[self.metric])
        self.reached = value <= self.target if self.metric == "loss" else value >= self.target
        if self.reached:
            self.model.stop_training = True
