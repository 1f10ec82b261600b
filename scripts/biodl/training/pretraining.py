"""Unsupervised pre-training: an autoencoder trained on a prepared dataset's inputs alone.

Contract: ``train_autoencoder(run)`` trains ``run.model`` (``dense_autoencoder`` on a table
dataset, ``conv_autoencoder`` on a DNA dataset, ``conv2d_autoencoder`` on an image dataset,
normalised with its training split's channel statistics: ``biodl.models.autoencoder``) to
reconstruct the inputs of the ``train`` split (tiles: their normalised pixels), monitoring the
reconstruction loss of the ``validation`` split (early stopping with ``training.patience`` /
``min_delta`` on ``val_loss``, the best epoch's weights kept; the optimiser and learning-rate
schedule of ``biodl.models.optimization``; the batches of ``biodl.training.batches`` without
their labels, shuffled from the seed), and writes atomically ``run.model_path`` (the
autoencoder, float32, uncompiled, loadable with plain ``keras.models.load_model``) and
``run.history_path`` (``epoch``, ``loss``, ``val_loss``, ``learning_rate``, ``best``), and,
given ``run.parameters_path``, the autoencoder's parameter count, encoder and decoder together
(``biodl.models.parameter_count``). Labels are never read, so any labelled dataset can pre-train.
A supervised run then names this one in ``init_from``: ``biodl.training.transfer.copy_weights``
copies the encoder's layers (same names) and leaves the decoder behind. Settings that cannot
apply are refused: a dataset of another modality than the kind takes, ``training.monitor``
other than ``val_loss``, ``class_weight``, ``distribute``, a fold view.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from biodl.config.models import AutoencoderModel
from biodl.core.errors import require
from biodl.core.files import write_tsv
from biodl.data.dataset import PreparedDataset, open_dataset
from biodl.models.autoencoder import (
    Normalization,
    build_autoencoder,
    normalised_tiles,
    reconstruction_loss,
)
from biodl.models.optimization import LearningRateController, build_optimizer
from biodl.models.parameter_count import network_count, write_parameters
from biodl.training.batches import ShardBatches
from biodl.training.device import configure_tensorflow, device_summary, precision, use_device
from biodl.training.loop import save_model

logger = logging.getLogger(__name__)

KIND_MODALITY = {"dense_autoencoder": "table", "conv_autoencoder": "dna", "conv2d_autoencoder": "image"}


@dataclasses.dataclass(frozen=True)
class AutoencoderRun:
    dataset: Path
    model: AutoencoderModel
    seed: int
    model_path: Path
    history_path: Path
    threads: int = 1
    parameters_path: Path | None = None  # the parameter count, for the report (TSV)


def train_autoencoder(run: AutoencoderRun) -> pd.DataFrame:
    """Train, save the best autoencoder and its history; return the history (see the contract)."""
    dataset = open_dataset(run.dataset)
    _check_run(run, dataset)
    training = run.model.training
    gpus = use_device(training.device, f"model {run.model.name}")
    configure_tensorflow(run.seed, run.threads)
    logger.info("%s: %s", run.model.name, device_summary(gpus, training.mixed_precision))
    normalization = _normalization(dataset)
    with precision(training.mixed_precision):
        model = build_autoencoder(run.model, dataset.input_shape, normalization)
        model.compile(
            optimizer=build_optimizer(run.model.name, training), loss=reconstruction_loss(run.model.kind)
        )
        history = _fit(run, dataset, model, normalization)
    with precision(False):  # the saved model computes in float32 whatever training used
        saved = build_autoencoder(run.model, dataset.input_shape, normalization)
        saved.set_weights(model.get_weights())
    save_model(saved, run.model_path)
    write_tsv(history, run.history_path)
    if run.parameters_path is not None:
        write_parameters(network_count(saved), run.parameters_path)
    return history


def _normalization(dataset: PreparedDataset) -> Normalization | None:
    """Tiles: the training split's channel mean and standard deviation (as a cnn2d uses them)."""
    return (dataset.channel_mean, dataset.channel_std) if dataset.modality == "image" else None


def _check_run(run: AutoencoderRun, dataset: PreparedDataset) -> None:
    source, training, kind = f"model {run.model.name}", run.model.training, run.model.kind
    require(
        dataset.modality == KIND_MODALITY[kind],
        source,
        "kind",
        f"a {kind} learns from {KIND_MODALITY[kind]} inputs; {dataset.name} is a {dataset.modality} dataset",
    )
    require(dataset.fold is None, source, "ensemble", "an autoencoder is trained once, not per fold")
    require(training.monitor == "val_loss", source, "training.monitor", "an autoencoder monitors val_loss")
    require(training.class_weight is None, source, "training.class_weight", "an autoencoder reads no labels")
    require(not training.distribute, source, "training.distribute", "autoencoders train on one device")
    require(run.seed >= 0, source, "seed", f"expected an integer >= 0, found {run.seed!r}")


def _fit(
    run: AutoencoderRun, dataset: PreparedDataset, model: keras.Model, normalization: Normalization | None
) -> pd.DataFrame:
    training = run.model.training
    train = ShardBatches(dataset, "train", training.batch_size, shuffle=True, seed=run.seed, labels=False)
    validation = ShardBatches(dataset, "validation", training.batch_size, labels=False)
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_loss",
        patience=training.patience,
        min_delta=training.min_delta,
        restore_best_weights=True,
    )
    controller = LearningRateController(training, training.epochs, training.learning_rate, "val_loss")
    logger.info(
        "training %s on the inputs of %s (%d train / %d validation examples, %s parameters, seed %d)",
        run.model.name,
        dataset.name,
        train.n,
        validation.n,
        f"{network_count(model).total:,}",
        run.seed,
    )

    def as_target(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """An input batch as (input, target): the autoencoder reconstructs what it reads (tiles:
        normalised, as its first layer sees them)."""
        return x, x if normalization is None else normalised_tiles(x, normalization)

    fitted = model.fit(
        train.tf_dataset(threads=run.threads).map(as_target),
        validation_data=validation.tf_dataset(threads=run.threads).map(as_target),
        epochs=training.epochs,
        steps_per_epoch=len(train),
        callbacks=[controller, stopper],
        shuffle=False,  # ShardBatches shuffles from the seed
        verbose=0,
    )
    frame = pd.DataFrame(fitted.history)[["loss", "val_loss", "learning_rate"]]
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    best = int(np.argmin(frame["val_loss"].to_numpy()))
    frame["best"] = frame["epoch"] == best + 1
    logger.info("kept the weights of epoch %d (val_loss %.4f)", best + 1, frame["val_loss"][best])
    return frame
