"""The loss before training, compared with its chance value (the lectures' "check the loss at
initialisation": a freshly initialised network should score about what a guess that ignores
the inputs scores; far above it, something is wrong before the first step).

Contract:
- ``chance_loss(task, labels, loss)``: the loss (the same Keras loss training uses, so masking
  and averaging follow it) of the best prediction that ignores the inputs, on ``labels`` (as
  training sees them: regression targets standardised): binary and multilabel predict each
  target's prevalence among its present labels, multiclass the class frequencies, regression
  0 (the training split's mean in standardised units). In closed form: binary, the entropy of
  the prevalence (ln 2 when balanced); multiclass, the entropy of the class frequencies (ln K
  when balanced); masked multilabel, the mean over present labels of each target's entropy
  (the mean over tasks when none is missing); MSE, the mean of y², i.e. 1 + mean² on the whole
  standardised training split and the examples' variance + mean² on a sample (Huber likewise).
  NaN when no label is present.
- ``measure_initial_loss(model, loss, batches, examples)``: that loss and the network's loss
  (inference mode: no dropout, no augmentation, normalisation statistics untouched; without
  regularisation penalties or class weights) on the first ``examples`` (default
  ``INITIAL_EXAMPLES``) examples of ``batches`` (the seeded training stream, epoch 1's order),
  computed ``batches.batch_size`` examples at a time. Returns an ``InitialLoss``.
- ``report_initial_loss(initial, label, factor)`` logs one line, ``[label] initial loss 0.69
  (chance 0.69, 512 training examples)``, and a WARNING naming the usual causes when the loss is
  more than ``factor`` (default ``FACTOR`` = 2) times the chance value, or less than chance
  divided by it (a network that has not trained should not beat a guess by that much).
- ``write_initial_loss(initial, path)`` / ``read_initial_loss(path)``: a one-row TSV with
  ``examples``, ``initial_loss``, ``chance_loss``, ``ratio`` (initial / chance).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from os import PathLike
from typing import Any, Protocol

import keras
import numpy as np
import pandas as pd

from biodl.core.errors import require, require_file
from biodl.core.files import write_tsv

logger = logging.getLogger(__name__)

INITIAL_EXAMPLES = 512
FACTOR = 2.0
COLUMNS = ("examples", "initial_loss", "chance_loss", "ratio")
HIGH_CAUSES = (
    "inputs on a large scale (not one-hot or standardised), an initialisation or output bias far "
    "from zero, a learning-rate warm-up hiding a bad start, or labels encoded differently from "
    "what the loss expects"
)
LOW_CAUSES = "the label leaking into the inputs, or starting weights that were already trained (init_from)"


class Examples(Protocol):
    """What the measurement reads: ``biodl.training.batches.ShardBatches``."""

    batch_size: int
    n: int

    def examples(self, epoch: int, start: int, stop: int) -> tuple[np.ndarray, ...]: ...


@dataclasses.dataclass(frozen=True)
class InitialLoss:
    """The network's loss before training and the chance value, on the same examples."""

    loss: float
    chance: float
    examples: int

    @property
    def ratio(self) -> float:
        return self.loss / self.chance if self.chance > 0 else math.nan

    def off(self, factor: float = FACTOR) -> bool:
        """Whether the loss is more than ``factor`` times above or below chance."""
        return math.isfinite(self.ratio) and not 1 / factor <= self.ratio <= factor


def chance_prediction(task: str, labels: np.ndarray) -> np.ndarray:
    """The prediction that ignores the inputs (see the contract), one row per example."""
    labels = np.asarray(labels, dtype=np.float64)
    if task == "regression":
        constant = np.zeros(labels.shape[1])
    else:
        present = ~np.isnan(labels)
        counts = present.sum(axis=0)
        constant = np.divide(
            np.where(present, labels, 0).sum(axis=0),
            counts,
            out=np.full(labels.shape[1], 0.5),
            where=counts > 0,
        )
    return np.broadcast_to(constant, labels.shape).astype(np.float32)


def chance_loss(task: str, labels: np.ndarray, loss: Any) -> float:
    """The loss of the chance prediction on ``labels`` (see the contract)."""
    labels = np.asarray(labels, dtype=np.float32)
    if len(labels) == 0 or np.isnan(labels).all():
        return math.nan
    return _loss_value(loss, labels, chance_prediction(task, labels))


def _loss_value(loss: Any, labels: np.ndarray, predictions: np.ndarray) -> float:
    """Mean over examples of ``loss`` (a Keras loss object, already a mean, or a per-example
    loss function such as ``masked_binary_crossentropy``)."""
    return float(np.mean(keras.ops.convert_to_numpy(loss(labels, predictions))))


def measure_initial_loss(
    model: keras.Model, loss: Any, batches: Examples, task: str, examples: int = INITIAL_EXAMPLES
) -> InitialLoss:
    """The network's loss and the chance loss on the first ``examples`` of ``batches``."""
    require(examples >= 1, "initial loss", "examples", f"expected at least 1 example, found {examples}")
    n = min(examples, batches.n)
    require(n >= 1, "initial loss", "examples", "the training split has no example")
    labels, losses, sizes = [], [], []
    for start in range(0, n, batches.batch_size):
        x, y = batches.examples(0, start, min(start + batches.batch_size, n))
        predictions = keras.ops.convert_to_numpy(model(x, training=False)).astype(np.float32)
        losses.append(_loss_value(loss, y, predictions))
        sizes.append(len(y))
        labels.append(y)
    # Each chunk's loss is a mean over its examples (over present labels for the masked loss,
    # which weighs examples equally): the size-weighted mean is the loss over all of them.
    return InitialLoss(
        float(np.average(losses, weights=sizes)), chance_loss(task, np.concatenate(labels), loss), n
    )


def report_initial_loss(initial: InitialLoss, label: str, factor: float = FACTOR) -> None:
    """Log the initial loss against chance; warn when it is off by more than ``factor``."""
    logger.info(
        "[%s] initial loss %.4g (chance %.4g, %d training examples)",
        label,
        initial.loss,
        initial.chance,
        initial.examples,
    )
    if not initial.off(factor):
        return
    high = initial.ratio > 1
    logger.warning(
        "[%s] the initial loss is %.3g times its chance value (more than %g times %s it); "
        "the usual causes: %s",
        label,
        initial.ratio,
        factor,
        "above" if high else "below",
        HIGH_CAUSES if high else LOW_CAUSES,
    )


def write_initial_loss(initial: InitialLoss, path: str | PathLike[str]) -> None:
    """The one-row TSV of the contract, written atomically."""
    frame = pd.DataFrame(
        [
            {
                "examples": initial.examples,
                "initial_loss": initial.loss,
                "chance_loss": initial.chance,
                "ratio": initial.ratio,
            }
        ]
    )
    write_tsv(frame, path)


def read_initial_loss(path: str | PathLike[str]) -> InitialLoss:
    """An ``initial_loss.tsv`` back as an ``InitialLoss``."""
    source = require_file(path, "initial loss")
    frame = pd.read_csv(source, sep="\t")
    missing = [c for c in COLUMNS if c not in frame.columns]
    require(not missing, source, "header", f"missing column(s) {', '.join(missing)}")
    require(len(frame) == 1, source, None, f"expected one row, found {len(frame)}")
    row = frame.iloc[0]
    return InitialLoss(float(row["initial_loss"]), float(row["chance_loss"]), int(row["examples"]))
