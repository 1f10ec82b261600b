"""Training one network on one prepared dataset.

Contract: ``train_model(run, callbacks)`` trains ``run.model`` (a network's typed settings,
``biodl.config.models``) on the ``train`` split of ``run.dataset`` (or fold ``run.fold = (i, k)``
of ``biodl.data.dataset.open_dataset``), monitoring the ``validation`` split, and writes
(atomically):
- ``run.model_path``: the Keras model (``.keras`` format) with the weights of the epoch with the
  best monitored metric (``training.monitor``; early stopping with ``patience`` / ``min_delta``,
  best weights restored), as ``biodl.models.export`` makes it: no augmentation layers, float32,
  regression outputs in the target's units, uncompiled — it loads with plain
  ``keras.models.load_model``;
- ``run.history_path``: a TSV with one row per epoch run (``biodl.training.callbacks``:
  ``epoch``, ``loss``, ``val_loss``, each tracked metric and its ``val_`` twin,
  ``learning_rate``, ``gradient_norm``, then ``update_ratio/<layer>`` per trainable kernel: the
  update-to-weight ratio of the epoch's last step, ``best``);
- ``run.tensorboard`` (optional, a ``biodl.core.files.RunFolder``): TensorBoard event files,
  written as training goes. They are logs, not results: event files hold wall-clock times and
  the host name, so the workflow keeps them under ``logs/tensorboard/`` and ``results/`` stays
  reproducible byte for byte. A fresh run empties the folder; a resumed run adds to it.
- ``run.initial_loss_path`` (optional): the loss of the initial weights on the start of the
  training stream against its chance value (``biodl.training.initial_loss``), also logged, with a
  warning when it is off by more than a factor of 2. A resumed run measures the same initial
  weights (rebuilt from the seed), so it writes the same file.
- ``run.parameters_path`` (optional): the network's parameter count, total and trainable
  (``biodl.models.parameter_count``), also logged.
The optimiser, learning-rate schedule, clipping and class weights come from ``training``
(``biodl.models.optimization``). With ``run.checkpoint`` (a ``RunFolder``) every finished epoch is
checkpointed (``biodl.training.checkpoint``); a rerun with the same settings, seed and data
resumes after the last checkpointed epoch and ends with the same history and weights as an
uninterrupted run. The checkpoint is deleted once the outputs are written. While it trains, the
run holds its lock (``biodl.core.run_lock``): a second training of the same run stops at once.
``run.subset`` (rows of the training split; learning curves) trains on those examples only,
validating on the whole validation split; such a run takes no checkpoint.
``run.init_model`` (a trained run's ``model.keras``, from ``init_from``) gives the starting
weights (``biodl.training.transfer``); the first ``freeze_layers`` layers with weights are
frozen; ``fine_tune_learning_rate`` is already the settings' learning rate.
``training.device`` (``auto``, ``gpu``: fail without a GPU, ``cpu``) picks the device; the log
names it and whether ``training.mixed_precision`` (float16 computations) is on, and the network's
parameter count;
``training.distribute`` mirrors the model over all local GPUs (``biodl.training.device``).
``run.threads`` sizes TensorFlow's thread pools and the reads in flight of the input stream
(``biodl.training.batches``). Every epoch is logged, named by the run.
On CPU the same dataset, settings and seed give the same history and weights: the Keras seed,
op determinism and the seeded per-epoch shuffle of ``biodl.training.batches`` fix every random
choice. History holds no timings so that it is reproducible byte for byte.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

from biodl.config.models import NetworkModel
from biodl.core.errors import require, require_file
from biodl.core.files import RunFolder, atomic_path, write_tsv
from biodl.core.run_lock import run_lock
from biodl.data.dataset import PreparedDataset, open_dataset, train_subset
from biodl.models.export import export_model
from biodl.models.networks import build_model
from biodl.models.objectives import loss_for, training_metrics
from biodl.models.optimization import (
    GradientNormModel,
    LearningRateController,
    build_optimizer,
    class_weights,
    monitor_mode,
)
from biodl.models.parameter_count import network_count, write_parameters
from biodl.training.batches import ShardBatches
from biodl.training.callbacks import (
    EpochCheckpoint,
    EpochLog,
    HistoryRows,
    ResumableEarlyStopping,
    TensorBoardScalars,
    UpdateRatios,
    history_columns,
    history_frame,
    update_ratio_columns,
)
from biodl.training.checkpoint import Checkpoint, Saved, fingerprint
from biodl.training.device import (
    configure_tensorflow,
    device_summary,
    distribution_strategy,
    precision,
    use_device,
)
from biodl.training.initial_loss import (
    InitialLoss,
    measure_initial_loss,
    report_initial_loss,
    write_initial_loss,
)
from biodl.training.transfer import copy_weights, freeze_layers

logger = logging.getLogger(__name__)

REGRESSION_MONITORS = ("val_loss", "val_mae", "val_rmse")
CLASSIFICATION_MONITORS = ("val_loss", "val_auroc", "val_auprc", "val_accuracy")


@dataclasses.dataclass(frozen=True)
class TrainingRun:
    """One training job: which network on which prepared data with which seed, and its files."""

    dataset: Path  # a prepared dataset folder or its dataset.json
    model: NetworkModel
    seed: int
    model_path: Path
    history_path: Path
    fold: tuple[int, int] | None = None  # (member, folds) of a fold-ensemble member, 1-based
    checkpoint: RunFolder | None = None
    tensorboard: RunFolder | None = None
    init_model: Path | None = None  # the init_from run's model.keras
    threads: int = 1
    initial_loss_path: Path | None = None  # the loss before training against chance (TSV)
    parameters_path: Path | None = None  # the parameter count, for the leaderboard (TSV)
    # Learning curves: train on these rows of the training split only (biodl.data.dataset.train_subset).
    subset: np.ndarray | None = dataclasses.field(default=None, compare=False)


@dataclasses.dataclass
class _Fitting:
    """What one fit works with: the run, its data, the network and its training twin."""

    run: TrainingRun
    dataset: PreparedDataset
    model: keras.Model
    trainer: GradientNormModel


def train_model(run: TrainingRun, callbacks: Sequence[keras.callbacks.Callback] = ()) -> pd.DataFrame:
    """Train, save the best model and the history; return the history frame.

    ``callbacks`` are extra Keras callbacks, called after the workflow's own (e.g. to time epochs).
    """
    dataset = open_dataset(run.dataset, fold=run.fold)
    if run.subset is not None:
        require(
            run.checkpoint is None,
            f"model {run.model.name}",
            "checkpoint",
            "a run on a training subset is not checkpointed (its fingerprint does not name the subset)",
        )
        dataset = train_subset(dataset, run.subset)
    _check_run(run, dataset)
    training = run.model.training
    gpus = use_device(training.device, f"model {run.model.name}")
    configure_tensorflow(run.seed, run.threads)
    logger.info("%s: %s", run.model.name, device_summary(gpus, training.mixed_precision))
    with run_lock(run.checkpoint), precision(training.mixed_precision):
        with distribution_strategy(training.distribute, gpus).scope():
            model, trainer = compile_network(run.model, dataset, run.init_model)
        count = network_count(model)
        logger.info(
            "%s: %s parameters (%s trainable)", run.model.name, f"{count.total:,}", f"{count.trainable:,}"
        )
        return _fit(_Fitting(run, dataset, model, trainer), list(callbacks))


def _check_run(run: TrainingRun, dataset: PreparedDataset) -> None:
    source, settings = f"model {run.model.name}", run.model
    require(run.seed >= 0, source, "seed", f"expected an integer >= 0, found {run.seed!r}")
    require(run.threads >= 1, source, "threads", f"expected an integer >= 1, found {run.threads!r}")
    for split in ("train", "validation"):
        require(
            dataset.n(split) > 0,
            dataset.manifest,
            f"splits.{split}",
            "training needs at least one example in this split",
        )
    allowed = REGRESSION_MONITORS if dataset.task == "regression" else CLASSIFICATION_MONITORS
    require(
        settings.training.monitor in allowed,
        source,
        "training.monitor",
        f"{dataset.name} is a {dataset.task} task; expected one of {', '.join(allowed)}, "
        f"found {settings.training.monitor!r}",
    )
    require(
        (run.init_model is None) == (settings.init_from is None),
        source,
        "init_from",
        "a model started from another run's weights names that run in init_from and gets its model file; "
        f"found init_from {settings.init_from} and model file {run.init_model}",
    )
    require(
        not (settings.training.distribute and settings.training.device == "cpu"),
        source,
        "training.distribute",
        "mirrors the model over GPUs, which training.device cpu hides; set one of them",
    )
    if settings.init_from is None:
        for key, unset in (("freeze_layers", 0), ("fine_tune_learning_rate", None)):
            require(
                getattr(settings, key) == unset,
                source,
                key,
                "applies to a model started from another run's weights; set init_from",
            )


def compile_network(
    settings: NetworkModel, dataset: PreparedDataset, init_model: str | PathLike[str] | None = None
) -> tuple[keras.Model, GradientNormModel]:
    """The network and its training twin (same layers, gradient norm tracked), compiled."""
    model = network_for(settings, dataset)
    if init_model is not None:
        copied = copy_weights(init_model, model, settings.name)
        freeze_layers(model, settings.freeze_layers, copied, settings.name)
    trainer = GradientNormModel(model.inputs, model.outputs, name=model.name)
    trainer.compile(
        optimizer=build_optimizer(settings.name, settings.training),
        loss=loss_for(dataset.task, settings.training),
        metrics=training_metrics(dataset.task),
    )
    # The saved model keeps its loss, metrics and optimiser state, as one trained directly would.
    model.compile(
        optimizer=trainer.optimizer,
        loss=loss_for(dataset.task, settings.training),
        metrics=training_metrics(dataset.task),
    )
    return model, trainer


def _fit(fitting: _Fitting, extra_callbacks: list[keras.callbacks.Callback]) -> pd.DataFrame:
    run, dataset, training = fitting.run, fitting.dataset, fitting.run.model.training
    columns = history_columns([metric.name for metric in training_metrics(dataset.task)])
    columns += update_ratio_columns(fitting.trainer)
    stopper = ResumableEarlyStopping(
        monitor=training.monitor,
        mode=monitor_mode(training.monitor),
        patience=training.patience,
        min_delta=training.min_delta,
        restore_best_weights=True,
    )
    controller = LearningRateController(training, training.epochs, training.learning_rate, training.monitor)
    checkpoint = Checkpoint(run.checkpoint) if run.checkpoint is not None else None
    key = fingerprint(
        run.model.as_dict(), run.seed, dataset.manifest.read_text(), run.fold, _file_digest(run.init_model)
    )
    label = f"{dataset.name}/{run.model.name}"
    initial = _initial_loss(fitting, label)  # of the initial weights, also when resuming
    saved = None
    rows: list[dict[str, float]] = []
    start = 0
    if checkpoint is not None:
        saved = checkpoint.load(key)
        if saved is not None:
            start, rows = _resume(saved, fitting.trainer, stopper, controller)
            logger.info(
                "resuming from epoch %d of %d (checkpoint %s)", start + 1, training.epochs, checkpoint.path
            )
    if run.tensorboard is not None and saved is None:
        run.tensorboard.remove()  # events of an earlier run; a resumed run adds to its own
    callbacks: list[keras.callbacks.Callback] = [
        controller,
        UpdateRatios(),
        stopper,
        EpochLog(training.epochs, columns, label),
    ]
    if run.tensorboard is not None:
        callbacks.append(TensorBoardScalars(run.tensorboard.path, columns))
    if checkpoint is not None:
        callbacks.append(EpochCheckpoint(checkpoint, key, columns, rows, stopper, controller))
    else:
        callbacks.append(HistoryRows(columns, rows))
    if start < training.epochs and not (saved is not None and saved.state["stopped"]):
        _run_epochs(fitting, callbacks + extra_callbacks, start)
    else:  # killed after the last epoch's checkpoint: only the best weights are left to restore
        stopper.set_model(fitting.trainer)
        stopper.on_train_begin()
        stopper.on_train_end()
    best_epoch = stopper.best_epoch + 1
    frame = history_frame(rows, columns, best_epoch)
    logger.info(
        "kept the weights of epoch %d (%s %.4f)",
        best_epoch,
        training.monitor,
        frame[training.monitor][best_epoch - 1],
    )
    save_model(export_model(fitting.model, run.model, dataset), run.model_path)
    write_tsv(frame, run.history_path)
    if run.initial_loss_path is not None:
        write_initial_loss(initial, run.initial_loss_path)
    if run.parameters_path is not None:
        write_parameters(network_count(fitting.model), run.parameters_path)
    if checkpoint is not None:
        checkpoint.clear()
    return frame


def _initial_loss(fitting: _Fitting, label: str) -> InitialLoss:
    """The network's loss before training against chance, on the start of the training stream, logged."""
    run, dataset, training = fitting.run, fitting.dataset, fitting.run.model.training
    stream = ShardBatches(dataset, "train", training.batch_size, shuffle=True, seed=run.seed)
    initial = measure_initial_loss(fitting.model, loss_for(dataset.task, training), stream, dataset.task)
    report_initial_loss(initial, label)
    return initial


def _run_epochs(fitting: _Fitting, callbacks: list[keras.callbacks.Callback], start: int) -> None:
    """Keras' fit from epoch ``start``: batches streamed from the shards, logged before the first."""
    run, dataset, training = fitting.run, fitting.dataset, fitting.run.model.training
    train = ShardBatches(dataset, "train", training.batch_size, shuffle=True, seed=run.seed)
    validation = ShardBatches(dataset, "validation", training.batch_size)
    weights = class_weights(dataset, training, run.model.name)
    count = network_count(fitting.model)
    logger.info(
        "training %s on %s (%s; %d train / %d validation examples; %d parameters, %d trainable; "
        "seed %d; threads %d; %s, learning rate %g, schedule %s%s)",
        run.model.name,
        dataset.name,
        dataset.task,
        train.n,
        validation.n,
        count.total,
        count.trainable,
        run.seed,
        run.threads,
        training.optimizer,
        training.learning_rate,
        training.schedule.kind,
        f", class weights {weights}" if weights else "",
    )
    fitting.trainer.fit(
        # A resumed run goes on with its next epoch's order.
        train.tf_dataset(first_epoch=start, threads=run.threads),
        validation_data=validation.tf_dataset(threads=run.threads),
        epochs=training.epochs,
        initial_epoch=start,
        steps_per_epoch=len(train),  # the shuffled training stream is endless (see ShardBatches)
        callbacks=callbacks,
        class_weight=weights,
        shuffle=False,  # ShardBatches shuffles examples itself, reproducibly
        verbose=0,
    )


def _resume(
    saved: Saved,
    trainer: GradientNormModel,
    stopper: ResumableEarlyStopping,
    controller: LearningRateController,
) -> tuple[int, list[dict[str, float]]]:
    """Put the checkpointed variables and callback states back; return (epochs done, history rows)."""
    state = saved.state
    _assign(trainer.variables, saved.arrays["model"])
    trainer.optimizer.build(trainer.trainable_variables)
    _assign(trainer.optimizer.variables, saved.arrays["optimizer"])
    stopper.resume_state = {**state["early_stopping"], "best_weights": saved.arrays["best"] or None}
    controller.restore(state["schedule"])
    return state["epochs_done"], state["history"]


def _assign(variables: list[Any], values: list[np.ndarray]) -> None:
    require(
        len(variables) == len(values),
        "checkpoint",
        None,
        f"expected {len(variables)} arrays, found {len(values)}",
    )
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


def _file_digest(path: str | PathLike[str] | None) -> str | None:
    return None if path is None else fingerprint(require_file(path, "initial model").read_bytes().hex())


def network_for(settings: NetworkModel, dataset: PreparedDataset) -> keras.Model:
    """The uncompiled network of ``settings`` for the dataset's inputs and task (images: normalised
    with the training tiles' channel statistics)."""
    normalization = (dataset.channel_mean, dataset.channel_std) if dataset.modality == "image" else None
    return build_model(settings, dataset.input_shape, dataset.task, len(dataset.targets), normalization)


def save_model(model: keras.Model, path: str | PathLike[str]) -> None:
    """Save ``model`` atomically (a temporary ``.keras`` file renamed onto ``path``)."""
    with atomic_path(path) as tmp:
        model.save(tmp)
