"""Training one model on one prepared dataset.

Contract: ``train_model(dataset_dir, model_name, model_config, seed, model_path, history_path,
threads)`` trains the network of ``biodl.models`` on the ``train`` split, monitoring the
``validation`` split, and writes (atomically):
- ``model_path``: the Keras model (``.keras`` format) with the weights of the epoch with the
  best ``val_loss`` (early stopping with ``patience`` / ``min_delta``, best weights restored);
- ``history_path``: a TSV with one row per epoch run: ``epoch`` (1-based), ``loss``,
  ``val_loss``, each tracked metric and its ``val_`` twin (``biodl.objectives``:
  ``auroc``, ``auprc``, ``accuracy``; regression ``mae``, ``rmse``), and ``best`` (true on the epoch whose weights were kept).
Every epoch is logged (losses, metrics, seconds, time left at most) through ``logging``.
On CPU the same dataset, configuration and seed give the same history and weights: the Keras
seed, op determinism and the seeded per-epoch shuffle of ``biodl.dataset`` fix every random
choice. History holds no timings so that it is reproducible byte for byte.
"""

from __future__ import annotations

import logging
import time
from os import PathLike
from typing import Any

import keras
import pandas as pd
import tensorflow as tf

from biodl.dataset import ShardBatches, open_dataset
from biodl.io import atomic_path, write_tsv
from biodl.config import validate_model
from biodl.models import build_model
from biodl.objectives import loss_for, training_metrics
from biodl.validate import require

logger = logging.getLogger(__name__)

OPTIMIZERS = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}


def train_model(
    dataset_dir: str | PathLike[str],
    model_name: str,
    model_config: dict[str, Any],
    seed: int,
    model_path: str | PathLike[str],
    history_path: str | PathLike[str],
    threads: int = 1,
) -> pd.DataFrame:
    """Train, save the best model and the history; return the history frame.

    ``dataset_dir`` is a prepared dataset folder or its ``dataset.json``.
    """
    dataset = open_dataset(dataset_dir)
    config = validate_model(model_name, model_config)
    training = config["training"]
    require(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0, f"model {model_name}", "seed", f"expected an integer >= 0, found {seed!r}")
    require(isinstance(threads, int) and threads >= 1, f"model {model_name}", "threads", f"expected an integer >= 1, found {threads!r}")
    for split in ("train", "validation"):
        require(dataset.n(split) > 0, dataset.manifest, f"splits.{split}", "training needs at least one example in this split")

    configure_tensorflow(seed, threads)
    normalization = (dataset.channel_mean, dataset.channel_std) if dataset.modality == "image" else None
    model = build_model(model_name, config, dataset.input_shape, dataset.task, len(dataset.targets), normalization)
    metrics = training_metrics(dataset.task)
    columns = history_columns([metric.name for metric in metrics])
    model.compile(
        optimizer=OPTIMIZERS[training["optimizer"]](learning_rate=training["learning_rate"]),
        loss=loss_for(dataset.task, training),
        metrics=metrics,
    )
    train = ShardBatches(dataset, "train", training["batch_size"], shuffle=True, seed=seed)
    validation = ShardBatches(dataset, "validation", training["batch_size"])
    logger.info(
        "training %s on %s (%s; %d train / %d validation examples; %d parameters; seed %d; threads %d)",
        model_name, dataset.name, dataset.task, train.n, validation.n, model.count_params(), seed, threads,
    )
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=training["patience"], min_delta=training["min_delta"], restore_best_weights=True)
    history = model.fit(
        train,
        validation_data=validation,
        epochs=training["epochs"],
        steps_per_epoch=len(train),  # the shuffled training stream is endless (see ShardBatches)
        callbacks=[stopper, EpochLog(training["epochs"], columns)],
        shuffle=False,  # ShardBatches shuffles examples itself, reproducibly
        verbose=0,
    )
    frame = history_frame(history.history, columns, best_epoch=stopper.best_epoch + 1)
    logger.info("kept the weights of epoch %d (val_loss %.4f)", stopper.best_epoch + 1, frame["val_loss"][stopper.best_epoch])
    save_model(model, model_path)
    write_tsv(frame, history_path)
    return frame


def configure_tensorflow(seed: int, threads: int) -> None:
    """Fix every source of randomness and the thread pools before a model is built."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    for kind, get, set_ in (
        ("intra-op", tf.config.threading.get_intra_op_parallelism_threads, tf.config.threading.set_intra_op_parallelism_threads),
        ("inter-op", tf.config.threading.get_inter_op_parallelism_threads, tf.config.threading.set_inter_op_parallelism_threads),
    ):
        if get() == threads:
            continue
        try:
            set_(threads)
        except RuntimeError:
            # TensorFlow fixes its pools at first use; only a second training in one process gets here.
            logger.warning("TensorFlow already runs in this process; keeping %d %s threads instead of %d", get(), kind, threads)


def history_columns(metric_names: list[str]) -> list[str]:
    """loss, val_loss, then each metric followed by its validation twin."""
    return ["loss", "val_loss"] + [column for name in metric_names for column in (name, f"val_{name}")]


def history_frame(history: dict[str, list[float]], columns: list[str], best_epoch: int) -> pd.DataFrame:
    """Keras' history as one row per epoch: epoch, ``columns``, best."""
    frame = pd.DataFrame({column: history[column] for column in columns})
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    frame["best"] = frame["epoch"] == best_epoch
    return frame


def save_model(model: keras.Model, path: str | PathLike[str]) -> None:
    """Save ``model`` atomically (a temporary ``.keras`` file renamed onto ``path``)."""
    with atomic_path(path) as tmp:
        model.save(tmp)


class EpochLog(keras.callbacks.Callback):
    """Logs one line per epoch: losses and metrics, seconds taken, and the time left at most."""

    def __init__(self, epochs: int, columns: list[str]) -> None:
        super().__init__()
        self.epochs = epochs
        self.columns = columns
        self._seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        seconds = time.perf_counter() - self._start
        self._seconds.append(seconds)
        left = sum(self._seconds) / len(self._seconds) * (self.epochs - epoch - 1)
        logs = logs or {}
        values = ", ".join(f"{name} {logs[name]:.4f}" for name in self.columns if name in logs)
        # Early stopping can end training sooner, hence "at most".
        logger.info("epoch %d/%d: %s (%.1f s; at most %s left)", epoch + 1, self.epochs, values, seconds, _duration(left))


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"
