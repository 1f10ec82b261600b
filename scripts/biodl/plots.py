"""Figures of a trained model: ROC and precision-recall curves, training curves.

Contract: every function writes one PNG (rendered by Agg, 150 dpi, seaborn "whitegrid" style,
about 5 x 4.5 in per panel, labelled axes with units, a title) atomically through
``biodl.io.atomic_path``.
- ``plot_roc`` / ``plot_pr`` take a predictions frame (as written by ``biodl.evaluate``) or a
  ``Scores`` (arrays) and draw one curve per target (one-vs-rest for multiclass) with its AUC /
  average precision in the legend, plus the chance line (ROC) or each target's prevalence
  (PR). A target with a single class in the labels has no curve (logged).
- ``plot_training_curves`` takes ``history.tsv`` (path or frame): loss and val_loss per epoch,
  one panel per tracked metric, the kept (best) epoch marked in every panel.
- ``plot_evaluation`` draws all three for one evaluated run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from os import PathLike

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn import metrics as skm

from biodl.evaluate import Evaluation
from biodl.predictions import Scores, scores_from_predictions
from biodl.io import atomic_path
from biodl.validate import require, require_file

logger = logging.getLogger(__name__)

PANEL_SIZE = (5.0, 4.5)
DPI = 150
PALETTE = "colorblind"
LEGEND_INSIDE_MAX = 6  # more entries than this go beside the axes, where they cannot hide curves
AXIS_LABELS = {
    "loss": "Loss (cross-entropy, nats)",
    "auroc": "AUROC (area under ROC, 0-1)",
    "auprc": "AUPRC (average precision, 0-1)",
    "accuracy": "Accuracy (fraction correct)",
}


@contextmanager
def _figure(path: str | PathLike[str], nrows: int = 1, ncols: int = 1) -> Iterator[tuple[Figure, np.ndarray]]:
    """A styled figure of ``nrows`` x ``ncols`` panels, saved to ``path`` when the block succeeds.

    A bare Figure on an Agg canvas, not pyplot: no display, no global figure list to leak into.
    """
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.85):
        fig = Figure(figsize=(PANEL_SIZE[0] * ncols, PANEL_SIZE[1] * nrows))
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        yield fig, axes
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")


def _as_scores(predictions: pd.DataFrame | Scores) -> Scores:
    return predictions if isinstance(predictions, Scores) else scores_from_predictions(predictions)


def _curve_targets(scores: Scores, kind: str) -> Iterator[tuple[str, np.ndarray, np.ndarray, tuple[float, ...]]]:
    """(target, labels, scores, colour) for each target that has both classes in its labels."""
    colours = sns.color_palette(PALETTE, len(scores.targets))
    for j, target in enumerate(scores.targets):
        y_true = scores.y_true[:, j].astype(np.int64)
        if len(np.unique(y_true)) < 2:
            logger.warning("no %s curve for target %s: only one class in the labels", kind, target)
            continue
        yield target, y_true, scores.y_score[:, j], colours[j]


def _legend(ax: Axes, loc: str) -> None:
    entries = len(ax.get_legend_handles_labels()[1])
    if entries > LEGEND_INSIDE_MAX:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", frameon=False)
    else:
        ax.legend(loc=loc, fontsize="small")


def plot_roc(predictions: pd.DataFrame | Scores, path: str | PathLike[str], title: str | None = None) -> None:
    """ROC curves, one per target, with AUROC in the legend and the chance diagonal."""
    scores = _as_scores(predictions)
    with _figure(path) as (_, axes):
        ax = axes[0, 0]
        for target, y_true, y_score, colour in _curve_targets(scores, "ROC"):
            fpr, tpr, _ = skm.roc_curve(y_true, y_score)
            ax.plot(fpr, tpr, color=colour, lw=1.8, label=f"{target} (AUC = {skm.roc_auc_score(y_true, y_score):.3f})")
        ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="chance (AUC = 0.5)")
        ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), xlabel="False positive rate (fraction of negatives)", ylabel="True positive rate (fraction of positives)")
        ax.set_title(title or "ROC curve (test set)")
        _legend(ax, "lower right")


def plot_pr(predictions: pd.DataFrame | Scores, path: str | PathLike[str], title: str | None = None) -> None:
    """Precision-recall curves, one per target, with average precision and the prevalence baseline."""
    scores = _as_scores(predictions)
    with _figure(path) as (_, axes):
        ax = axes[0, 0]
        for target, y_true, y_score, colour in _curve_targets(scores, "precision-recall"):
            precision, recall, _ = skm.precision_recall_curve(y_true, y_score)
            prevalence = y_true.mean()
            label = f"{target} (AP = {skm.average_precision_score(y_true, y_score):.3f}; prevalence {prevalence:.2f})"
            ax.step(recall, precision, where="post", color=colour, lw=1.8, label=label)
            # A classifier without skill has precision equal to the prevalence at every recall.
            ax.axhline(prevalence, color=colour, ls=":", lw=1)
        ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), xlabel="Recall (fraction of positives found)", ylabel="Precision (fraction of calls correct)")
        ax.set_title(f"{title or 'Precision-recall curve (test set)'}\ndotted: chance level (prevalence)")
        _legend(ax, "lower left")


def read_history(history: str | PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """A training history (``history.tsv`` path or frame), checked for epoch, loss, val_loss."""
    if isinstance(history, pd.DataFrame):
        frame, source = history, "history"
    else:
        source = require_file(history, "training history")
        frame = pd.read_csv(source, sep="\t")
    missing = [c for c in ("epoch", "loss", "val_loss") if c not in frame.columns]
    require(not missing, source, "header", f"missing column(s) {', '.join(missing)}")
    require(len(frame) > 0, source, None, "no epochs recorded")
    return frame


def _best_epoch(history: pd.DataFrame) -> int:
    """The epoch whose weights were kept: the ``best`` flag, else the lowest val_loss."""
    if "best" in history.columns and history["best"].dtype == bool and history["best"].any():
        return int(history.loc[history["best"], "epoch"].iloc[0])
    return int(history.loc[history["val_loss"].idxmin(), "epoch"])


def plot_training_curves(history: str | PathLike[str] | pd.DataFrame, path: str | PathLike[str], title: str | None = None) -> None:
    """Training and validation loss and metrics per epoch, the kept epoch marked."""
    frame = read_history(history)
    metrics = ["loss"] + [c for c in frame.columns if c not in ("epoch", "loss", "best") and not c.startswith("val_") and f"val_{c}" in frame.columns]
    best = _best_epoch(frame)
    ncols = min(2, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    train_colour, validation_colour = sns.color_palette(PALETTE, 2)
    with _figure(path, nrows, ncols) as (fig, axes):
        for ax, metric in zip(axes.flat, metrics):
            ax.plot(frame["epoch"], frame[metric], marker="o", ms=3, color=train_colour, label="training")
            ax.plot(frame["epoch"], frame[f"val_{metric}"], marker="o", ms=3, color=validation_colour, label="validation")
            ax.axvline(best, color="grey", ls="--", lw=1, label=f"kept epoch ({best})")
            ax.set(xlabel="Epoch", ylabel=AXIS_LABELS.get(metric, metric))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(fontsize="small")
        for ax in axes.flat[len(metrics) :]:
            ax.set_visible(False)
        fig.suptitle(title or "Training curves")


def plot_evaluation(
    evaluation: Evaluation,
    history: str | PathLike[str] | pd.DataFrame,
    roc_path: str | PathLike[str],
    pr_path: str | PathLike[str],
    curves_path: str | PathLike[str],
) -> None:
    """The three figures of one evaluated run, titled with its model and dataset."""
    run = f"{evaluation.model} on {evaluation.dataset}"
    plot_roc(evaluation.scores, roc_path, title=f"ROC, {run} (test set)")
    plot_pr(evaluation.scores, pr_path, title=f"Precision-recall, {run} (test set)")
    plot_training_curves(history, curves_path, title=f"Training curves, {run}")
