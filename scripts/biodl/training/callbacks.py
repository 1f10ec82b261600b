"""What happens around each training epoch: history rows, early stopping that can be resumed,
checkpoints, TensorBoard scalars, the update-to-weight ratios and the log line.

Contract:
- ``history_columns(metric_names)``: ``loss``, ``val_loss``, each metric and its ``val_`` twin,
  then ``EXTRA_COLUMNS`` (``learning_rate``, ``gradient_norm``); ``history_frame(rows, columns,
  best_epoch)`` turns the per-epoch rows into the ``history.tsv`` frame (``epoch`` 1-based,
  ``best`` true on the epoch whose weights were kept).
- ``UpdateRatios``: for each trainable kernel (the weight matrices and filters of dense,
  convolutional and recurrent layers; not biases or normalisation scales), ``||ΔW|| / ||W||``
  of the epoch's last optimiser step (W: the kernel before that step, ΔW: the step's change), in
  the epoch's logs as ``update_ratio/<layer>`` (``update_ratio_columns(model)``, after the
  ``EXTRA_COLUMNS`` in ``history.tsv``). The rule of thumb is about 1e-3 per step: much lower,
  the layer barely learns (learning rate too low, vanishing gradients, a frozen-looking layer);
  much higher, it is being rewritten each step (rate too high). One step, not the whole epoch:
  an epoch's change grows with its number of steps and is not comparable to 1e-3. The kernels
  are copied twice an epoch (before the last step and at the end), never per batch. A kernel
  whose norm is 0 before the step has an undefined ratio (NaN).
- ``ResumableEarlyStopping``: Keras' early stopping whose state can be carried over from a
  checkpoint (``resume_state``, ``state()``).
- ``HistoryRows`` collects each epoch's row; ``EpochCheckpoint`` also saves the whole training
  state after each epoch (``biodl.training.checkpoint``).
- ``TensorBoardScalars`` writes each epoch's values as TensorBoard scalars (``train/`` and
  ``validation/``) without TensorBoard installed; ``EpochLog`` logs one line per epoch with the
  run's name, the values (the update-to-weight ratios as their median, minimum and maximum),
  the seconds taken and the time left at most.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from biodl.models.optimization import (
    LearningRateController,
)
from biodl.training.checkpoint import Checkpoint, Saved

logger = logging.getLogger(__name__)


EXTRA_COLUMNS = ("learning_rate", "gradient_norm")
UPDATE_RATIO_PREFIX = "update_ratio/"
KERNEL_SUFFIX = "kernel"  # kernel, recurrent_kernel, depthwise_kernel, pointwise_kernel


def history_columns(metric_names: list[str]) -> list[str]:
    """loss, val_loss, then each metric followed by its validation twin, then learning rate and
    gradient norm."""
    return (
        ["loss", "val_loss"]
        + [column for name in metric_names for column in (name, f"val_{name}")]
        + list(EXTRA_COLUMNS)
    )


def kernel_variables(model: keras.Model) -> dict[str, Any]:
    """The model's trainable kernels by layer label: the variable's path without ``/kernel``
    (``conv1``, ``bidirectional/forward_lstm/lstm_cell/recurrent_kernel``)."""
    kernels = {}
    for variable in model.trainable_weights:
        if variable.name.endswith(KERNEL_SUFFIX):
            plain = variable.name == KERNEL_SUFFIX
            kernels[variable.path.removesuffix(f"/{KERNEL_SUFFIX}") if plain else variable.path] = variable
    return kernels


def update_ratio_columns(model: keras.Model) -> list[str]:
    """The history columns of the model's update-to-weight ratios, one per trainable kernel."""
    return [f"{UPDATE_RATIO_PREFIX}{label}" for label in kernel_variables(model)]


def history_frame(rows: list[dict[str, float]], columns: list[str], best_epoch: int) -> pd.DataFrame:
    """The per-epoch rows as a frame: epoch, ``columns``, best."""
    frame = pd.DataFrame({column: [row[column] for row in rows] for column in columns})
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    frame["best"] = frame["epoch"] == best_epoch
    return frame


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' early stopping whose state (``resume_state``) can be carried over from a checkpoint."""

    resume_state: dict[str, Any] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        if self.resume_state is not None:
            for name, value in self.resume_state.items():
                setattr(self, name, value)

    def state(self) -> dict[str, Any]:
        return {
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best": None if self.best is None else float(self.best),
            "best_epoch": self.best_epoch,
        }


class UpdateRatios(keras.callbacks.Callback):
    """``||ΔW|| / ||W||`` of each trainable kernel over the epoch's last step, in the epoch's logs."""

    def __init__(self) -> None:
        super().__init__()
        self._before: dict[str, np.ndarray] | None = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._before = None

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if batch >= self.params["steps"] - 1 and self._before is None:
            self._before = {label: v.numpy() for label, v in kernel_variables(self.model).items()}

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs if logs is not None else {}
        if self._before is None:
            raise RuntimeError(
                f"epoch {epoch + 1} ended before its last step began ({self.params['steps']} steps)"
            )
        for label, variable in kernel_variables(self.model).items():
            before = self._before[label].astype(np.float64)
            norm = float(np.linalg.norm(before))
            change = float(np.linalg.norm(variable.numpy().astype(np.float64) - before))
            logs[f"{UPDATE_RATIO_PREFIX}{label}"] = change / norm if norm > 0 else float("nan")


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

    def __init__(
        self,
        checkpoint: Checkpoint,
        key: str,
        columns: list[str],
        rows: list[dict[str, float]],
        stopper: ResumableEarlyStopping,
        controller: LearningRateController,
    ) -> None:
        super().__init__(columns, rows)
        self.checkpoint = checkpoint
        self.key = key
        self.stopper = stopper
        self.controller = controller

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        state = {
            "fingerprint": self.key,
            "epochs_done": epoch + 1,
            "history": self.rows,
            "stopped": bool(self.model.stop_training),
            "early_stopping": self.stopper.state(),
            "schedule": self.controller.state(),
        }
        arrays = {
            "model": [v.numpy() for v in self.model.variables],
            "optimizer": [v.numpy() for v in self.model.optimizer.variables],
            "best": list(self.stopper.best_weights or []),
        }
        self.checkpoint.save(Saved(state, arrays))


class TensorBoardScalars(keras.callbacks.Callback):
    """Each epoch's history values as TensorBoard scalars (``train/`` and ``validation/`` runs).

    Written with TensorFlow's generic summary op and the scalar plugin's metadata, so the event
    files need no TensorBoard installed to be written; ``tensorboard --logdir`` reads them.
    """

    METADATA = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
        data_class=summary_pb2.DATA_CLASS_SCALAR,
    )

    def __init__(self, folder: Path, columns: list[str]) -> None:
        super().__init__()
        self.folder = folder
        self.columns = columns
        self.writers: dict[str, Any] = {}

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.writers = {
            run: tf.summary.create_file_writer(str(self.folder / run)) for run in ("train", "validation")
        }

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        for column in self.columns:
            if column not in logs:
                continue
            run, name = ("validation", column[4:]) if column.startswith("val_") else ("train", column)
            with self.writers[run].as_default():
                tf.summary.write(
                    f"epoch_{name}",
                    tf.constant(float(logs[column]), tf.float32),
                    step=epoch + 1,
                    metadata=self.METADATA,
                )
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        for writer in self.writers.values():
            writer.close()


class EpochLog(keras.callbacks.Callback):
    """Logs one line per epoch, named by the run (``[dataset/model]``, so lines of parallel jobs
    can be told apart): losses and metrics, seconds taken, and the time left at most."""

    def __init__(self, epochs: int, columns: list[str], label: str) -> None:
        super().__init__()
        self.epochs = epochs
        self.columns = columns
        self.label = label
        self._seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        seconds = time.perf_counter() - self._start
        self._seconds.append(seconds)
        left = sum(self._seconds) / len(self._seconds) * (self.epochs - epoch - 1)
        logs = logs or {}
        values = ", ".join(
            f"{name} {logs[name]:.4g}" if name in EXTRA_COLUMNS else f"{name} {logs[name]:.4f}"
            for name in self.columns
            if name in logs and not name.startswith(UPDATE_RATIO_PREFIX)
        ) + _ratio_summary([logs[name] for name in self.columns if name.startswith(UPDATE_RATIO_PREFIX)])
        # Early stopping can end training sooner, hence "at most".
        logger.info(
            "[%s] epoch %d/%d: %s (%.1f s; at most %s left)",
            self.label,
            epoch + 1,
            self.epochs,
            values,
            seconds,
            _duration(left),
        )


def _ratio_summary(ratios: list[float]) -> str:
    """``, update/weight 1.1e-03 (median of 3 kernels, 4e-04 to 2e-03)``; empty without kernels."""
    finite = np.asarray(ratios, dtype=float)[np.isfinite(ratios)]
    if not len(finite):
        return ""
    return (
        f", update/weight {np.median(finite):.2g} (median of {len(finite)} kernels, "
        f"{finite.min():.2g} to {finite.max():.2g})"
    )


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"
