"""Training one model on one prepared dataset.

Contract: ``train_model(dataset_dir, model_name, model_config, seed, model_path, history_path,
threads, *, fold, checkpoint_dir, tensorboard_dir, init_model, callbacks)`` trains the network of
``biodl.models`` on the ``train`` split (or fold ``(i, k)`` of ``biodl.dataset.open_dataset``),
monitoring the ``validation`` split, and writes (atomically):
- ``model_path``: the Keras model (``.keras`` format) with the weights of the epoch with the
  best monitored metric (``training.monitor``, default ``val_loss``; early stopping with
  ``patience`` / ``min_delta``, best weights restored);
- ``history_path``: a TSV with one row per epoch run: ``epoch`` (1-based), ``loss``,
  ``val_loss``, each tracked metric and its ``val_`` twin (``biodl.objectives``:
  ``auroc``, ``auprc``, ``accuracy``; regression ``mae``, ``rmse``), ``learning_rate`` (of that
  epoch), ``gradient_norm`` (global L2 norm of the gradients before clipping, mean over the
  epoch's steps) and ``best`` (true on the epoch whose weights were kept);
- ``tensorboard_dir`` (optional, a ``biodl.io.RunFolder``): TensorBoard event files, ``train/`` and ``validation/``, one
  scalar per history column and epoch, written as training goes (so ``tensorboard --logdir``
  follows it live). They are logs, not results: event files hold wall-clock times and the host
  name, so the workflow keeps them under ``logs/tensorboard/`` and ``results/`` stays
  reproducible byte for byte. A fresh run empties the folder; a resumed run adds to it.
The optimiser, learning-rate schedule, clipping and class weights come from ``training``
(``biodl.optimization``). With ``checkpoint_dir`` (a ``RunFolder``) every finished epoch is checkpointed
(``biodl.checkpoint``); a rerun with the same settings, seed and data resumes after the last
checkpointed epoch and ends with the same history and weights as an uninterrupted run. The
checkpoint is deleted once the outputs are written.
``init_model`` (a trained run's ``model.keras``, from ``init_from``) gives the starting weights,
copied layer by layer where names and shapes agree (the output layer may differ: it then starts
fresh); the first ``freeze_layers`` layers with weights are frozen, and ``fine_tune_learning_rate``
replaces ``training.learning_rate``.
``training.mixed_precision`` computes in float16 (float32 weights and outputs; the saved model
computes in float32); ``training.distribute``
mirrors the model over all local GPUs when there are several. The log names the devices.
``threads`` sizes TensorFlow's thread pools and the number of reads in flight of the input
stream (``biodl.batches.ShardBatches.tf_dataset``).
Every epoch is logged (losses, metrics, seconds, time left at most) through ``logging``.
On CPU the same dataset, configuration and seed give the same history and weights: the Keras
seed, op determinism and the seeded per-epoch shuffle of ``biodl.batches`` fix every random
choice. History holds no timings so that it is reproducible byte for byte.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from biodl.batches import ShardBatches
from biodl.checkpoint import Checkpoint, Saved, fingerprint
from biodl.config import validate_model
from biodl.dataset import PreparedDataset, open_dataset
from biodl.io import RunFolder, atomic_path, write_tsv
from biodl.models import build_model
from biodl.objectives import loss_for, training_metrics
from biodl.optimization import GradientNormModel, LearningRateController, build_optimizer, class_weights, monitor_mode
from biodl.validate import InputError, require, require_file

logger = logging.getLogger(__name__)

EXTRA_COLUMNS = ("learning_rate", "gradient_norm")
REGRESSION_MONITORS = ("val_loss", "val_mae", "val_rmse")


def train_model(
    dataset_dir: str | PathLike[str],
    model_name: str,
    model_config: dict[str, Any],
    seed: int,
    model_path: str | PathLike[str],
    history_path: str | PathLike[str],
    threads: int = 1,
    *,
    fold: tuple[int, int] | None = None,
    checkpoint_dir: RunFolder | None = None,
    tensorboard_dir: RunFolder | None = None,
    init_model: str | PathLike[str] | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> pd.DataFrame:
    """Train, save the best model and the history; return the history frame.

    ``dataset_dir`` is a prepared dataset folder or its ``dataset.json``; ``callbacks`` are
    extra Keras callbacks, called after the workflow's own (e.g. to time epochs).
    """
    dataset = open_dataset(dataset_dir, fold=fold)
    config = validate_model(model_name, model_config)
    training = config["training"]
    require(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0, f"model {model_name}", "seed", f"expected an integer >= 0, found {seed!r}")
    require(isinstance(threads, int) and threads >= 1, f"model {model_name}", "threads", f"expected an integer >= 1, found {threads!r}")
    for split in ("train", "validation"):
        require(dataset.n(split) > 0, dataset.manifest, f"splits.{split}", "training needs at least one example in this split")
    _check_settings(model_name, config, dataset, init_model)

    configure_tensorflow(seed, threads)
    with precision(training["mixed_precision"]):
        strategy = distribution_strategy(training["distribute"])
        with strategy.scope():
            model, trainer, learning_rate = compile_network(model_name, config, dataset, init_model)
        return _fit(model, trainer, learning_rate, model_name, config, dataset, seed, fold, Path(model_path), Path(history_path),
                    threads, checkpoint_dir, tensorboard_dir, init_model, list(callbacks))


def _check_settings(model_name: str, config: dict[str, Any], dataset: PreparedDataset, init_model: str | PathLike[str] | None) -> None:
    source, training = f"model {model_name}", config["training"]
    allowed = REGRESSION_MONITORS if dataset.task == "regression" else ("val_loss", "val_auroc", "val_auprc", "val_accuracy")
    require(training["monitor"] in allowed, source, "training.monitor",
            f"{dataset.name} is a {dataset.task} task; expected one of {', '.join(allowed)}, found {training['monitor']!r}")
    if init_model is None:
        for key, unset in (("freeze_layers", 0), ("fine_tune_learning_rate", None)):
            require(config[key] == unset, source, key, "applies to a model started from another run's weights; set init_from (and give its model file)")


def compile_network(model_name: str, config: dict[str, Any], dataset: PreparedDataset,
              init_model: str | PathLike[str] | None) -> tuple[keras.Model, GradientNormModel, float]:
    """The network, its training twin (same layers, gradient norm tracked) and the base learning rate."""
    training = config["training"]
    model = network_for(model_name, config, dataset)
    learning_rate = training["learning_rate"]
    if init_model is not None:
        copied = copy_weights(init_model, model, model_name)
        freeze_layers(model, config["freeze_layers"], copied, model_name)
        learning_rate = config["fine_tune_learning_rate"] or learning_rate
    trainer = GradientNormModel(model.inputs, model.outputs, name=model.name)
    trainer.compile(optimizer=build_optimizer(model_name, training, learning_rate), loss=loss_for(dataset.task, training),
                    metrics=training_metrics(dataset.task))
    # The saved model keeps its loss, metrics and optimiser state, as one trained directly would.
    model.compile(optimizer=trainer.optimizer, loss=loss_for(dataset.task, training), metrics=training_metrics(dataset.task))
    return model, trainer, learning_rate


def _fit(model: keras.Model, trainer: GradientNormModel, learning_rate: float, model_name: str, config: dict[str, Any],
         dataset: PreparedDataset, seed: int, fold: tuple[int, int] | None, model_path: Path, history_path: Path, threads: int,
         checkpoint_dir: RunFolder | None, tensorboard_dir: RunFolder | None,
         init_model: str | PathLike[str] | None, extra_callbacks: list[keras.callbacks.Callback]) -> pd.DataFrame:
    training = config["training"]
    epochs, monitor = training["epochs"], training["monitor"]
    columns = history_columns([metric.name for metric in training_metrics(dataset.task)])
    stopper = ResumableEarlyStopping(monitor=monitor, mode=monitor_mode(monitor), patience=training["patience"],
                                     min_delta=training["min_delta"], restore_best_weights=True)
    controller = LearningRateController(training, epochs, learning_rate, monitor)
    checkpoint = Checkpoint(checkpoint_dir) if checkpoint_dir is not None else None
    key = fingerprint(config, seed, dataset.manifest.read_text(), fold, _file_digest(init_model))
    saved = checkpoint.load(key) if checkpoint is not None else None
    rows: list[dict[str, float]] = []
    start = 0
    if saved is not None:
        start, rows = _resume(saved, trainer, stopper, controller)
        logger.info("resuming from epoch %d of %d (checkpoint %s)", start + 1, epochs, checkpoint.path)
    if tensorboard_dir is not None and saved is None:
        tensorboard_dir.remove()  # events of an earlier run; a resumed run adds to its own
    train = ShardBatches(dataset, "train", training["batch_size"], shuffle=True, seed=seed)
    validation = ShardBatches(dataset, "validation", training["batch_size"])
    weights = class_weights(dataset, training, model_name)
    logger.info(
        "training %s on %s (%s; %d train / %d validation examples; %d parameters, %d trainable; seed %d; threads %d; "
        "%s, learning rate %g, schedule %s%s)",
        model_name, dataset.name, dataset.task, train.n, validation.n, model.count_params(),
        sum(int(np.prod(w.shape)) for w in model.trainable_weights), seed, threads, training["optimizer"], learning_rate,
        training["schedule"]["kind"], f", class weights {weights}" if weights else "",
    )
    callbacks: list[keras.callbacks.Callback] = [controller, stopper, EpochLog(epochs, columns)]
    if tensorboard_dir is not None:
        callbacks.append(TensorBoardScalars(tensorboard_dir.path, columns))
    if checkpoint is not None:
        callbacks.append(EpochCheckpoint(checkpoint, key, columns, rows, stopper, controller))
    else:
        callbacks.append(HistoryRows(columns, rows))
    callbacks += extra_callbacks
    if start < epochs and not (saved is not None and saved.state["stopped"]):
        trainer.fit(
            train.tf_dataset(first_epoch=start, threads=threads),  # a resumed run goes on with its next epoch's order
            validation_data=validation.tf_dataset(threads=threads),
            epochs=epochs,
            initial_epoch=start,
            steps_per_epoch=len(train),  # the shuffled training stream is endless (see ShardBatches)
            callbacks=callbacks,
            class_weight=weights,
            shuffle=False,  # ShardBatches shuffles examples itself, reproducibly
            verbose=0,
        )
    else:  # killed after the last epoch's checkpoint: only the best weights are left to restore
        stopper.set_model(trainer)
        stopper.on_train_begin()
        stopper.on_train_end()
    best_epoch = stopper.best_epoch + 1
    frame = history_frame(rows, columns, best_epoch)
    logger.info("kept the weights of epoch %d (%s %.4f)", best_epoch, monitor, frame[monitor][best_epoch - 1])
    save_model(portable(model, model_name, config, dataset), model_path)
    write_tsv(frame, history_path)
    if checkpoint is not None:
        checkpoint.clear()
    return frame


def _resume(saved: Saved, trainer: GradientNormModel, stopper: ResumableEarlyStopping,
            controller: LearningRateController) -> tuple[int, list[dict[str, float]]]:
    """Put the checkpointed variables and callback states back; return (epochs done, history rows)."""
    state = saved.state
    _assign(trainer.variables, saved.arrays["model"])
    trainer.optimizer.build(trainer.trainable_variables)
    _assign(trainer.optimizer.variables, saved.arrays["optimizer"])
    stopper.resume_state = {**state["early_stopping"], "best_weights": saved.arrays["best"] or None}
    controller.restore(state["schedule"])
    return state["epochs_done"], state["history"]


def _assign(variables: list[Any], values: list[np.ndarray]) -> None:
    require(len(variables) == len(values), "checkpoint", None, f"expected {len(variables)} arrays, found {len(values)}")
    for variable, value in zip(variables, values):
        variable.assign(value)


def _file_digest(path: str | PathLike[str] | None) -> str | None:
    return None if path is None else fingerprint(require_file(path, "initial model").read_bytes().hex())


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


@contextmanager
def precision(mixed: bool) -> Iterator[None]:
    """The Keras dtype policy for building and training: mixed_float16 or float32 (restored after)."""
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_float16" if mixed else "float32")
    if mixed:
        logger.info("mixed precision: float16 computations, float32 weights and outputs")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def distribution_strategy(distribute: bool) -> tf.distribute.Strategy:
    """All local GPUs mirrored when asked and there are several; else the default (one device)."""
    gpus = tf.config.list_physical_devices("GPU")
    names = ", ".join(gpu.name for gpu in gpus)
    if distribute and len(gpus) > 1:
        strategy = tf.distribute.MirroredStrategy()
        logger.info("training on %d GPUs, mirrored: %s", strategy.num_replicas_in_sync, names)
        return strategy
    if distribute:
        logger.info("distribute asked, but %s visible: training on one device", f"only one GPU ({names}) is" if gpus else "no GPU is")
    logger.info("training on %s", f"GPU {gpus[0].name}" if gpus else "the CPU")
    return tf.distribute.get_strategy()


def copy_weights(source_path: str | PathLike[str], model: keras.Model, model_name: str) -> set[str]:
    """Start ``model`` from a trained model's weights, layer by layer (see the module contract);
    return the names of the layers copied."""
    path = require_file(source_path, "initial model (init_from)")
    try:
        source = keras.models.load_model(path, safe_mode=True, compile=False)
    except (ValueError, TypeError, OSError) as error:
        raise InputError(path, None, f"not a loadable Keras model ({error})") from error
    layers = {layer.name: layer for layer in source.layers if layer.weights}
    copied, fresh = [], []
    for layer in model.layers:
        if not layer.weights:
            continue
        origin = layers.get(layer.name)
        shapes = [tuple(w.shape) for w in layer.weights]
        if origin is None or ([tuple(w.shape) for w in origin.weights] != shapes and layer.name == "output"):
            fresh.append(layer.name)
            continue
        found = [tuple(w.shape) for w in origin.weights]
        require(found == shapes, path, f"layer {layer.name}",
                f"weights of shapes {found} cannot start model {model_name}'s layer {layer.name} of shapes {shapes}; "
                "init_from needs the same architecture up to the output layer")
        layer.set_weights(origin.get_weights())
        copied.append(layer.name)
    require(bool(copied), path, None, f"no layer of model {model_name} (by name) is in this model; init_from needs the same layer names")
    logger.info("started from %s: copied %s%s", path, ", ".join(copied), f"; fresh: {', '.join(fresh)}" if fresh else "")
    return set(copied)


def freeze_layers(model: keras.Model, n: int, copied: set[str], model_name: str) -> None:
    """Freeze the first ``n`` layers that have weights (they must be among the ``copied``)."""
    weighted = [layer for layer in model.layers if layer.weights]
    require(n <= len(weighted), f"model {model_name}", "freeze_layers", f"the model has {len(weighted)} layers with weights, found {n}")
    for layer in weighted[:n]:
        require(layer.name in copied, f"model {model_name}", "freeze_layers",
                f"layer {layer.name} would be frozen but was not copied from init_from; freeze fewer layers")
        layer.trainable = False
    if n:
        logger.info("frozen: %s", ", ".join(layer.name for layer in weighted[:n]))


def history_columns(metric_names: list[str]) -> list[str]:
    """loss, val_loss, then each metric followed by its validation twin, then learning rate and gradient norm."""
    return ["loss", "val_loss"] + [column for name in metric_names for column in (name, f"val_{name}")] + list(EXTRA_COLUMNS)


def history_frame(rows: list[dict[str, float]], columns: list[str], best_epoch: int) -> pd.DataFrame:
    """The per-epoch rows as a frame: epoch, ``columns``, best."""
    frame = pd.DataFrame({column: [row[column] for row in rows] for column in columns})
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    frame["best"] = frame["epoch"] == best_epoch
    return frame


def network_for(model_name: str, config: dict[str, Any], dataset: PreparedDataset) -> keras.Model:
    """The uncompiled network of ``config`` for the dataset's inputs and task (images: normalised
    with the training tiles' channel statistics)."""
    normalization = (dataset.channel_mean, dataset.channel_std) if dataset.modality == "image" else None
    return build_model(model_name, config, dataset.input_shape, dataset.task, len(dataset.targets), normalization)


def portable(model: keras.Model, model_name: str, config: dict[str, Any], dataset: PreparedDataset) -> keras.Model:
    """The model to save: itself, or after mixed-precision training the same network in float32
    with the trained weights (kept in float32 throughout), so prediction on any device computes
    in full precision."""
    if keras.config.dtype_policy().name != "mixed_float16":
        return model
    with precision(False):
        plain = network_for(model_name, config, dataset)
    plain.set_weights(model.get_weights())
    return plain


def save_model(model: keras.Model, path: str | PathLike[str]) -> None:
    """Save ``model`` atomically (a temporary ``.keras`` file renamed onto ``path``)."""
    with atomic_path(path) as tmp:
        model.save(tmp)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' early stopping whose state (``resume_state``) can be carried over from a checkpoint."""

    resume_state: dict[str, Any] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        if self.resume_state is not None:
            for name, value in self.resume_state.items():
                setattr(self, name, value)

    def state(self) -> dict[str, Any]:
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch, "best": None if self.best is None else float(self.best),
                "best_epoch": self.best_epoch}


class HistoryRows(keras.callbacks.Callback):
    """Collects each epoch's history row (the ``columns`` of its logs)."""

    def __init__(self, columns: list[str], rows: list[dict[str, float]]) -> None:
        super().__init__()
        self.columns = columns
        self.rows = rows

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self.rows.append({column: float(logs[column]) for column in self.columns})


class EpochCheckpoint(HistoryRows):
    """After each epoch (and the callbacks before it): the row, then the whole state, saved atomically."""

    def __init__(self, checkpoint: Checkpoint, key: str, columns: list[str], rows: list[dict[str, float]],
                 stopper: ResumableEarlyStopping, controller: LearningRateController) -> None:
        super().__init__(columns, rows)
        self.checkpoint = checkpoint
        self.key = key
        self.stopper = stopper
        self.controller = controller

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        state = {"fingerprint": self.key, "epochs_done": epoch + 1, "history": self.rows, "stopped": bool(self.model.stop_training),
                 "early_stopping": self.stopper.state(), "schedule": self.controller.state()}
        arrays = {"model": [v.numpy() for v in self.model.variables],
                  "optimizer": [v.numpy() for v in self.model.optimizer.variables],
                  "best": list(self.stopper.best_weights or [])}
        self.checkpoint.save(Saved(state, arrays))


class TensorBoardScalars(keras.callbacks.Callback):
    """Each epoch's history values as TensorBoard scalars (``train/`` and ``validation/`` runs).

    Written with TensorFlow's generic summary op and the scalar plugin's metadata, so the event
    files need no TensorBoard installed to be written; ``tensorboard --logdir`` reads them.
    """

    METADATA = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
                                           data_class=summary_pb2.DATA_CLASS_SCALAR)

    def __init__(self, folder: Path, columns: list[str]) -> None:
        super().__init__()
        self.folder = folder
        self.columns = columns
        self.writers: dict[str, Any] = {}

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.writers = {run: tf.summary.create_file_writer(str(self.folder / run)) for run in ("train", "validation")}

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for column in self.columns:
            if column not in (logs or {}):
                continue
            run, name = ("validation", column[4:]) if column.startswith("val_") else ("train", column)
            with self.writers[run].as_default():
                tf.summary.write(f"epoch_{name}", tf.constant(float(logs[column]), tf.float32), step=epoch + 1, metadata=self.METADATA)
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        for writer in self.writers.values():
            writer.close()


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
        values = ", ".join(f"{name} {logs[name]:.4g}" if name in EXTRA_COLUMNS else f"{name} {logs[name]:.4f}"
                           for name in self.columns if name in logs)
        # Early stopping can end training sooner, hence "at most".
        logger.info("epoch %d/%d: %s (%.1f s; at most %s left)", epoch + 1, self.epochs, values, seconds, _duration(left))


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"
