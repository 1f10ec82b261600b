"""Learning curves ("would more data help?"): nested, seeded subsets of a training split.

Contract: ``nested_subsets(labels, fractions, seed)`` gives, for each fraction f of
``fractions`` (0 < f <= 1, default 10, 25, 50, 100 %), the sorted indices of the training examples
to train on: each class (the rows of ``labels``, one label per example; ``None`` = one class) is
permuted once by a generator seeded with ``seed``, and a subset takes the first
``max(1, round(f * n_class))`` examples of every class's permutation. So every subset keeps the
class proportions of the split, a smaller fraction's subset lies inside every larger one (the
curve adds data, it never swaps it), 100 % is the whole split, and the same seed gives the same
subsets. Bad fractions raise ``InputError`` naming the fraction.

``learning_curve(run, fractions, evaluation, workdir)`` trains ``run`` (a
``biodl.training.loop.TrainingRun``: the same network settings and seed for every fraction) once
per fraction on its nested subset (seeded with ``run.seed``; classes are the strata of binary
and multiclass tasks), each with early stopping on the whole, unchanged validation split,
models and histories under ``workdir/<fraction>/``, no checkpoint; then predicts the validation
split (both strands averaged with ``average_strands``) and scores the primary metric
(``biodl.evaluation.metrics.PRIMARY_METRIC``: auroc, or r2 for regression, on its headline
target) with percentile bootstrap intervals over the validation examples (``evaluation``'s
resamples and level; ``biodl.evaluation.metrics.compute_metrics``). The frame (``COLUMNS``): one
row per fraction, ``fraction``, ``train_examples``, ``metric``, ``target``, ``value``,
``ci_low``, ``ci_high``, and the kept epoch's ``best_epoch``, training ``loss`` and ``val_loss``
(a gap that closes as data grows means more data helps; a validation metric that has levelled
off means it will help little). The test split is never read.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from biodl.config.settings import EvaluationSettings
from biodl.core.errors import require
from biodl.data.dataset import PreparedDataset, load_labels, open_dataset
from biodl.evaluation.inference import PREDICT_BATCH_SIZE, ReverseComplements, load_model
from biodl.evaluation.metrics import PRIMARY_METRIC, compute_metrics, headline_target
from biodl.evaluation.predictions import Scores
from biodl.training.batches import ShardBatches
from biodl.training.loop import TrainingRun, train_model

logger = logging.getLogger(__name__)

COLUMNS = (
    "fraction",
    "train_examples",
    "metric",
    "target",
    "value",
    "ci_low",
    "ci_high",
    "best_epoch",
    "loss",
    "val_loss",
)

FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def nested_subsets(
    labels: np.ndarray | None, fractions: Sequence[float] = FRACTIONS, seed: int = 0, n: int | None = None
) -> dict[float, np.ndarray]:
    """Nested, stratified, seeded training subsets per fraction (see the module contract).

    ``labels``: one label per training example (any hashable values), or ``None`` with ``n``
    examples of one class."""
    _check_fractions(fractions)
    if labels is None:
        require(n is not None and n >= 1, "learning curve", "n", f"expected an example count >= 1, found {n}")
        labels = np.zeros(n or 0, dtype=np.int64)
    labels = np.asarray(labels)
    require(len(labels) >= 1, "learning curve", "labels", "the training split has no example")
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(np.flatnonzero(labels == value)) for value in np.unique(labels)]
    return {
        fraction: np.sort(np.concatenate([order[: max(1, round(fraction * len(order)))] for order in orders]))
        for fraction in fractions
    }


def _check_fractions(fractions: Sequence[float]) -> None:
    require(len(fractions) >= 1, "learning curve", "fractions", "expected at least one fraction")
    for i, fraction in enumerate(fractions):
        require(
            0 < fraction <= 1,
            "learning curve",
            f"fractions[{i}]",
            f"expected a fraction of the training split in (0, 1], found {fraction}",
        )
    require(
        len(set(fractions)) == len(fractions),
        "learning curve",
        "fractions",
        f"expected distinct fractions, found {list(fractions)}",
    )


def learning_curve(
    run: TrainingRun,
    fractions: Sequence[float],
    evaluation: EvaluationSettings,
    workdir: Path,
    average_strands: bool = False,
) -> pd.DataFrame:
    """One training per fraction of the training split, scored on validation (see the contract)."""
    dataset = open_dataset(run.dataset, fold=run.fold)
    subsets = nested_subsets(_strata(dataset), fractions, run.seed)
    rows = []
    for fraction, subset in sorted(subsets.items()):
        folder = workdir / f"{fraction:g}"
        fitted = dataclasses.replace(
            run,
            model_path=folder / "model.keras",
            history_path=folder / "history.tsv",
            checkpoint=None,
            tensorboard=None,
            initial_loss_path=None,
            subset=subset,
        )
        logger.info("learning curve: %g of the training split (%d examples)", fraction, len(subset))
        history = train_model(fitted)
        scores = _validation_scores(dataset, fitted.model_path, average_strands)
        kept = history[history["best"]].iloc[0]
        rows.append(
            {
                "fraction": fraction,
                "train_examples": len(subset),
                **_primary(scores, evaluation, run.seed),
                "best_epoch": int(kept["epoch"]),
                "loss": float(kept["loss"]),
                "val_loss": float(kept["val_loss"]),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _strata(dataset: PreparedDataset) -> np.ndarray | None:
    """Class of each training example (binary, multiclass), else None: one stratum."""
    if dataset.task not in ("binary", "multiclass"):
        return None
    labels = load_labels(dataset, "train")
    return labels[:, 0].astype(np.int64) if dataset.task == "binary" else labels.argmax(axis=1)


def _validation_scores(dataset: PreparedDataset, model_path: Path, average_strands: bool) -> Scores:
    model = load_model(model_path, dataset)
    batches = ShardBatches(dataset, "validation", PREDICT_BATCH_SIZE, labels=False)
    scores = np.asarray(model.predict(batches, verbose=0), dtype=np.float64)
    if average_strands:
        scores = (scores + np.asarray(model.predict(ReverseComplements(batches), verbose=0))) / 2
    return Scores(dataset.task, dataset.targets, load_labels(dataset, "validation"), scores)


def _primary(scores: Scores, evaluation: EvaluationSettings, seed: int) -> dict[str, object]:
    """The primary metric on the validation split with its bootstrap interval."""
    metric = PRIMARY_METRIC[scores.task]
    target = headline_target(scores.task, scores.targets, metric)
    table = compute_metrics(
        scores, scores, seed=seed, bootstrap=evaluation.bootstrap, confidence=evaluation.confidence
    )
    row = table[(table["metric"] == metric) & (table["target"] == target)].iloc[0]
    return {
        "metric": metric,
        "target": target,
        "value": float(row["value"]),
        "ci_low": float(row["ci_low"]),
        "ci_high": float(row["ci_high"]),
    }
