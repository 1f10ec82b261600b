"""What a network relies on, measured by destroying one input at a time and scoring again.

Contract:
- ``performance(task, y_true, y_score)``: the run-ranking metric of ``biodl.evaluation.metrics``
  (``PRIMARY_METRIC``: AUROC, macro over targets where several; R² for regression, mean over
  targets) computed by ``biodl.evaluation.metrics.compute_metrics`` without bootstrap, so the numbers
  agree with ``metrics.tsv``. ``y_score`` is the network's output (regression: in standardised
  units, ``y_true`` in the same units).
- ``filter_influence(model, x, y_true, task)``: for each first-layer filter of a ``cnn1d``
  model, the drop in performance when that filter's output (after its non-linearity) is
  replaced by its mean over ``x`` and every position; one row per filter (``filter``,
  ``mean_activation``, ``performance``, ``influence`` = baseline - ablated), ranked by
  influence. The rest of the network is applied layer by layer, so the model must be a chain.
- ``permutation_importance(predict, x, y_true, plan)`` (``Permutations``: task, targets, feature
  names, repeats, seed): for each
  feature column, the mean and standard deviation over ``repeats`` permutations (drawn from
  ``numpy.random.default_rng(seed)``, one stream for the whole table, so the same seed gives
  the same numbers) of the drop in performance; ranked by the mean drop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from biodl.core.errors import require
from biodl.evaluation.metrics import PRIMARY_METRIC, compute_metrics, headline_target
from biodl.evaluation.predictions import Scores
from biodl.interpret.motifs import first_conv

logger = logging.getLogger(__name__)

INFLUENCE_COLUMNS = ["rank", "filter", "mean_activation", "performance", "influence"]
IMPORTANCE_COLUMNS = ["rank", "feature", "importance_mean", "importance_std", "performance"]


def performance(task: str, targets: tuple[str, ...], y_true: np.ndarray, y_score: np.ndarray) -> float:
    """The primary metric of ``task`` on these labels and outputs (NaN when undefined)."""
    scores = Scores(
        task, tuple(targets), np.asarray(y_true, dtype=np.float64), np.asarray(y_score, dtype=np.float64)
    )
    table = compute_metrics(scores, scores, seed=0, bootstrap=0, confidence=0.95)
    metric = PRIMARY_METRIC[task]
    row = table[(table["metric"] == metric) & (table["target"] == headline_target(task, targets, metric))]
    return float(row["value"].iloc[0]) if len(row) else float("nan")


def _layers_after(model: Any, layer: Any) -> list[Any]:
    """The layers that follow ``layer`` in a chain-shaped model, in order."""
    layers = list(model.layers)
    index = layers.index(layer)
    for previous, current in zip(layers[index:], layers[index + 1 :], strict=False):
        inbound = current._inbound_nodes[0].parent_nodes if current._inbound_nodes else []
        require(
            len(inbound) == 1 and inbound[0].operation is previous,
            model.name,
            current.name,
            "filter influence needs a model whose layers form a single chain",
        )
    return layers[index + 1 :]


def filter_influence(
    model: Any, x: np.ndarray, y_true: np.ndarray, task: str, targets: tuple[str, ...], batch_size: int = 256
) -> pd.DataFrame:
    """Influence of every first-layer filter on ``(x, y_true)`` (see the module contract)."""
    import keras

    _, output = first_conv(model)
    probe = keras.Model(model.input, output.output)
    head = _layers_after(model, output)

    def finish(a: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(a), batch_size):
            h = keras.ops.convert_to_tensor(a[start : start + batch_size])
            for layer in head:
                h = layer(h, training=False)
            out.append(keras.ops.convert_to_numpy(h))
        return np.concatenate(out).astype(np.float64)

    activations = np.asarray(probe.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)
    baseline = performance(task, targets, y_true, finish(activations))
    means = activations.mean(axis=(0, 1))
    rows = []
    for k in range(activations.shape[-1]):
        ablated = activations.copy()
        ablated[:, :, k] = means[k]
        score = performance(task, targets, y_true, finish(ablated))
        rows.append((k, float(means[k]), score, baseline - score))
    logger.info("filter influence: baseline %s %.4f over %d examples", PRIMARY_METRIC[task], baseline, len(x))
    return _ranked(pd.DataFrame(rows, columns=INFLUENCE_COLUMNS[1:]), "influence")


@dataclass(frozen=True)
class Permutations:
    """What permutation importance scores: the task, its targets, the feature names, how many
    permutations of each column and the seed they are drawn from."""

    task: str
    targets: tuple[str, ...]
    names: tuple[str, ...]
    repeats: int
    seed: int


def permutation_importance(
    predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, y_true: np.ndarray, plan: Permutations
) -> pd.DataFrame:
    """Permutation importance of every feature column of ``x`` (see the module contract)."""
    task, targets, names, repeats = plan.task, plan.targets, plan.names, plan.repeats
    require(
        x.ndim == 2 and x.shape[1] == len(names),
        "features",
        None,
        f"expected {len(names)} columns, found shape {x.shape}",
    )
    require(
        repeats >= 1, "config", "interpretation.permutation_repeats", f"expected at least 1, found {repeats}"
    )
    rng = np.random.default_rng(plan.seed)
    baseline = performance(task, targets, y_true, predict(x))
    rows = []
    for j, name in enumerate(names):
        drops = []
        for _ in range(repeats):
            shuffled = x.copy()
            shuffled[:, j] = x[rng.permutation(len(x)), j]
            drops.append(baseline - performance(task, targets, y_true, predict(shuffled)))
        rows.append((name, float(np.mean(drops)), float(np.std(drops)), baseline))
    logger.info(
        "permutation importance: baseline %s %.4f, %d features x %d repeats",
        PRIMARY_METRIC[task],
        baseline,
        len(names),
        repeats,
    )
    return _ranked(pd.DataFrame(rows, columns=IMPORTANCE_COLUMNS[1:]), "importance_mean")


def _ranked(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    frame = frame.sort_values(column, ascending=False, kind="stable").reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame
