"""What happens around each training epoch: history rows, early stopping that can be resumed,
checkpoints, TensorBoard scalars and the log line.

Contract:
- ``history_columns(metric_names)``: ``loss``, ``val_loss``, each metric and its ``val_`` twin,
  then ``EXTRA_COLUMNS`` (``learning_rate``, ``gradient_norm``); ``history_frame(rows, columns,
  best_epoch)`` turns the per-epoch rows into the ``history.tsv`` frame (``epoch`` 1-based,
  ``best`` true on the epoch whose weights were kept).
- ``ResumableEarlyStopping``: Keras' early stopping whose state can be carried over from a
  checkpoint (``resume_state``, ``state()``).
- ``HistoryRows`` collects each epoch's row; ``EpochCheckpoint`` also saves the whole training
  state after each epoch (``biodl.training.checkpoint``).
- ``TensorBoardScalars`` writes each epoch's values as TensorBoard scalars (``train/`` and
  ``validation/``) without TensorBoard installed; ``EpochLog`` logs one line per epoch with the
  run's name, the values, the seconds taken and the time left at most.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import keras
import pandas as pd
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from biodl.models.optimization import (
    LearningRateController,
)
from biodl.training.checkpoint import Checkpoint, Saved

logger = logging.getLogger(__name__)


EXTRA_COLUMNS = ("learning_rate", "gradient_norm")


def history_columns(metric_names: list[str]) -> list[str]:
    """loss, val_loss, then each metric followed by its validation twin, then learning rate and
    gradient norm."""
    return (
        ["loss", "val_loss"]
        + [column for name in metric_names for column in (name, f"val_{name}")]
        + list(EXTRA_COLUMNS)
    )


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
            if name in logs
        )
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


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"
