"""Figures of the evaluation: ROC, precision-recall, calibration, confusion, regression scatter,
training curves and the comparison of runs.

Contract: every function writes one PNG (rendered by Agg, 150 dpi, seaborn "whitegrid" style,
about 5 x 4.5 in per panel, labelled axes with units, a title naming the run) atomically
through ``save_png`` (a figure without raster images in a 256-colour palette), and returns the
``Figure`` (not attached to pyplot).
- ``figure_file(path, nrows, ncols, panel_size, height_ratios)``: the context in which every
  figure of the library is drawn (this module's, and the interpretation, apply and report
  figures): a styled figure of panels, saved to ``path`` only when the block succeeds.
- ``plot_roc`` / ``plot_pr`` take one split's ``Scores`` of a classification task and draw one
  curve per target (one-vs-rest for multiclass; multilabel: the examples whose label is
  present) with its AUC / average precision in the legend, plus the chance line (ROC) or each
  target's prevalence (PR). A target with a single class in its labels has no curve (logged).
- ``plot_calibration``: top, the reliability diagram (fraction of positives against the mean
  score in ``bins`` equal-width bins, one line per target, Brier score in the legend, the
  diagonal of perfect calibration); bottom, the histogram of the scores per target.
- ``plot_confusion``: heatmaps of counts with the row-normalised fraction (colour and text):
  one K x K panel for multiclass, one 2 x 2 panel per target for binary and multilabel.
- ``plot_scatter`` (regression): predicted against observed, one panel per target, with the
  y = x line and Pearson r and R² in the panel title.
- ``plot_training_curves`` takes ``history.tsv`` (path or frame): loss and val_loss per epoch,
  one panel per tracked metric, the kept (best) epoch marked in every panel (given the run's
  ``InitialLoss``, the loss panel also shows the loss before training at epoch 0 and its chance
  value, dashed); then the learning
  rate and gradient norm, and the update-to-weight ratio of each kernel (``update_ratio/<layer>``
  columns, log scale, one line per kernel coloured from the first layer to the last, with the
  1e-3 rule of thumb drawn), when the history records them.
- ``plot_learning_curve`` takes a learning-curve frame (``biodl.training.learning_curve``):
  left, the validation metric against the number of training examples (log x) with its
  bootstrap interval as a band and each point's value written; right, the kept epoch's training
  and validation loss against the same sizes.
- ``plot_comparison`` takes the summary frame (``biodl.evaluation.summary``): one panel per dataset, each
  run's primary metric (auroc for classification, r2 for regression) with its bootstrap
  interval as error bars and its value written above, best run on top; baselines (kind
  ``baseline``) drawn as grey squares. The x axis spans the dataset's values and intervals, not
  the metric's whole range, so close runs stay apart; the no-skill line is drawn where it falls
  inside, else the legend says it is off the axis.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.typing import LegendLocType
from PIL import Image
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from biodl.core.errors import require, require_file
from biodl.core.files import atomic_path
from biodl.evaluation.confusion import confusion_matrices
from biodl.evaluation.metrics import PRIMARY_METRIC
from biodl.evaluation.predictions import Scores
from biodl.evaluation.summary import ci_columns
from biodl.evaluation.weighted_metrics import regression_metrics

if TYPE_CHECKING:  # the figure needs no TensorFlow: only the two numbers are read
    from biodl.training.initial_loss import InitialLoss

logger = logging.getLogger(__name__)

PANEL_SIZE = (5.0, 4.5)
DPI = 150
PALETTE = "colorblind"
LEGEND_INSIDE_MAX = 6  # more entries than this go beside the axes, where they cannot hide curves
GRID_COLUMNS = 3  # panels per row in per-target grids
BASELINE_KIND = "baseline"
BASELINE_COLOUR = "0.45"
AXIS_LABELS = {
    "loss": "Loss (cross-entropy, nats)",
    "auroc": "AUROC (area under ROC, 0-1)",
    "auprc": "AUPRC (average precision, 0-1)",
    "accuracy": "Accuracy (fraction correct)",
    "r2": "R² (fraction of variance explained)",
    "mae": "MAE (standard deviations of the target)",
    "rmse": "RMSE (standard deviations of the target)",
    "learning_rate": "Learning rate (per epoch)",
    "gradient_norm": "Gradient norm (global L2, mean over steps)",
    "update_ratio": "Update / weight (||ΔW|| / ||W||, last step)",
}
# Per-epoch training dynamics drawn as single curves below the metrics (biodl.training.callbacks' history).
TRAINING_DYNAMICS = ("learning_rate", "gradient_norm")
# The update-to-weight ratio's column prefix (biodl.training.callbacks) and its rule of thumb.
UPDATE_RATIO_PREFIX = "update_ratio/"
UPDATE_RATIO_GUIDE = 1e-3
# Colours of a figure saved with a palette (save_png): far more than a plot of lines and glyphs uses.
PALETTE_COLOURS = 256
# Regression networks learn standardised targets with MSE or Huber (biodl.models.objectives).
REGRESSION_LOSS_LABEL = "Loss (MSE or Huber, standardised target)"
# What a model without skill scores on a primary metric, drawn as a reference line.
NO_SKILL = {"auroc": (0.5, "chance (AUROC 0.5)"), "r2": (0.0, "predicting the mean (R² 0)")}


@contextmanager
def figure_file(
    path: str | PathLike[str],
    nrows: int = 1,
    ncols: int = 1,
    panel_size: tuple[float, float] = PANEL_SIZE,
    height_ratios: tuple[float, ...] | None = None,
) -> Iterator[tuple[Figure, np.ndarray]]:
    """A styled figure of ``nrows`` x ``ncols`` panels, saved to ``path`` when the block succeeds.

    The grid may hold more axes than panels (its last row not full): callers zip ``axes.flat``
    with their panels with ``strict=False``, and the axes left empty are hidden here.
    A bare Figure on an Agg canvas, not pyplot: no display, no global figure list to leak into.
    """
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.85):
        fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows))
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=False, gridspec_kw={"height_ratios": height_ratios})
        yield fig, axes
        for ax in axes.flat:
            if not ax.has_data():  # grid cells beyond the last panel
                ax.set_visible(False)
        fig.tight_layout()
        save_png(fig, path)


def save_png(fig: Figure, path: str | PathLike[str]) -> None:
    """Write ``fig`` as a PNG atomically; a figure without raster images (curves, bars, logos)
    with an adaptive palette of 256 colours, about a third of the size, which keeps the report
    of a whole demo small. Figures that show images or colour maps keep every colour."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
        if any(ax.images for ax in fig.axes):
            return
        with Image.open(tmp) as image:  # read whole by convert, then closed before the rewrite
            palette = image.convert("RGB").quantize(
                PALETTE_COLOURS, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
            )
        palette.save(tmp, format="png", optimize=True)


def _grid(panels: int) -> tuple[int, int]:
    ncols = min(GRID_COLUMNS, panels)
    return math.ceil(panels / ncols), ncols


def _require_task(scores: Scores, figure: str, regression: bool) -> None:
    if (scores.task == "regression") != regression:
        raise ValueError(f"a {figure} is not drawn for a {scores.task} task")


def _labelled_targets(scores: Scores) -> Iterator[tuple[int, str, np.ndarray, np.ndarray, tuple[float, ...]]]:
    """(index, target, labels, outputs, colour) per target, over its labelled examples."""
    colours = sns.color_palette(PALETTE, len(scores.targets))
    for j, target in enumerate(scores.targets):
        labelled = scores.labelled(j)
        yield j, target, scores.y_true[labelled, j], scores.y_score[labelled, j], colours[j]


def _curve_targets(
    scores: Scores, kind: str
) -> Iterator[tuple[str, np.ndarray, np.ndarray, tuple[float, ...]]]:
    """(target, labels, scores, colour) for each target that has both classes in its labels."""
    for _, target, y_true, y_score, colour in _labelled_targets(scores):
        if len(np.unique(y_true)) < 2:
            logger.warning("no %s curve for target %s: only one class in the labels", kind, target)
            continue
        yield target, y_true.astype(np.int64), y_score, colour


def _legend(ax: Axes, loc: LegendLocType) -> None:
    entries = len(ax.get_legend_handles_labels()[1])
    if entries > LEGEND_INSIDE_MAX:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", frameon=False)
    elif entries:
        ax.legend(loc=loc, fontsize="small")


def plot_roc(scores: Scores, path: str | PathLike[str], title: str | None = None) -> Figure:
    """ROC curves, one per target, with AUROC in the legend and the chance diagonal."""
    _require_task(scores, "ROC curve", regression=False)
    with figure_file(path) as (fig, axes):
        ax = axes[0, 0]
        for target, y_true, y_score, colour in _curve_targets(scores, "ROC"):
            fpr, tpr, _ = skm.roc_curve(y_true, y_score)
            ax.plot(
                fpr,
                tpr,
                color=colour,
                lw=1.8,
                label=f"{target} (AUC = {skm.roc_auc_score(y_true, y_score):.3f})",
            )
        ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="chance (AUC = 0.5)")
        ax.set(
            xlim=(-0.01, 1.01),
            ylim=(-0.01, 1.01),
            xlabel="False positive rate (fraction of negatives)",
            ylabel="True positive rate (fraction of positives)",
        )
        ax.set_title(title or "ROC curve (test set)")
        _legend(ax, "lower right")
    return fig


def plot_pr(scores: Scores, path: str | PathLike[str], title: str | None = None) -> Figure:
    """Precision-recall curves, one per target, with average precision and the prevalence baseline."""
    _require_task(scores, "precision-recall curve", regression=False)
    with figure_file(path) as (fig, axes):
        ax = axes[0, 0]
        for target, y_true, y_score, colour in _curve_targets(scores, "precision-recall"):
            precision, recall, _ = skm.precision_recall_curve(y_true, y_score)
            prevalence = y_true.mean()
            average_precision = skm.average_precision_score(y_true, y_score)
            label = f"{target} (AP = {average_precision:.3f}; prevalence {prevalence:.2f})"
            ax.step(recall, precision, where="post", color=colour, lw=1.8, label=label)
            # A classifier without skill has precision equal to the prevalence at every recall.
            ax.axhline(prevalence, color=colour, ls=":", lw=1)
        ax.set(
            xlim=(-0.01, 1.01),
            ylim=(-0.01, 1.01),
            xlabel="Recall (fraction of positives found)",
            ylabel="Precision (fraction of calls correct)",
        )
        ax.set_title(f"{title or 'Precision-recall curve (test set)'}\ndotted: chance level (prevalence)")
        _legend(ax, "lower left")
    return fig


def plot_calibration(
    scores: Scores, path: str | PathLike[str], title: str | None = None, bins: int = 10
) -> Figure:
    """Reliability diagram (one line per target, Brier score in the legend) over a score histogram."""
    _require_task(scores, "calibration curve", regression=False)
    edges = np.linspace(0, 1, bins + 1)
    with figure_file(path, nrows=2, height_ratios=(2, 1)) as (fig, axes):
        reliability, histogram = axes[0, 0], axes[1, 0]
        reliability.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfectly calibrated")
        for _, target, y_true, y_score, colour in _labelled_targets(scores):
            if len(y_true) == 0:
                logger.warning("no calibration curve for target %s: no labelled example", target)
                continue
            fraction_positive, mean_score = calibration_curve(y_true, y_score, n_bins=bins, pos_label=1)
            brier = np.mean((y_score - y_true) ** 2)
            reliability.plot(
                mean_score,
                fraction_positive,
                marker="o",
                ms=4,
                lw=1.5,
                color=colour,
                label=f"{target} (Brier = {brier:.3f})",
            )
            histogram.hist(y_score, bins=edges, histtype="step", lw=1.5, color=colour, label=target)
        reliability.set(
            xlim=(-0.01, 1.01),
            ylim=(-0.01, 1.01),
            xlabel="Mean predicted probability in the bin",
            ylabel="Fraction of positives in the bin",
        )
        reliability.set_title(
            f"{title or 'Calibration (test set)'}\n{bins} equal-width bins of the predicted probability"
        )
        _legend(reliability, "upper left")
        histogram.set(xlim=(-0.01, 1.01), xlabel="Predicted probability", ylabel="Test examples (count)")
    return fig


def plot_confusion(scores: Scores, path: str | PathLike[str], title: str | None = None) -> Figure:
    """Confusion heatmaps: counts, coloured and annotated with the fraction of each true class."""
    _require_task(scores, "confusion matrix", regression=False)
    matrices = confusion_matrices(scores)
    nrows, ncols = _grid(len(matrices))
    side = max(PANEL_SIZE[0], 0.7 * max(len(m) for m in matrices.values()) + 2.5)
    with figure_file(path, nrows, ncols, panel_size=(side, side * 0.9)) as (fig, axes):
        for ax, (target, matrix) in zip(axes.flat, matrices.items(), strict=False):
            totals = matrix.sum(axis=1).to_numpy()[:, None]
            fractions = matrix / np.where(totals > 0, totals, 1)
            text = [
                [f"{count}\n({fraction:.0%})" for count, fraction in zip(counts, row, strict=True)]
                for counts, row in zip(matrix.to_numpy(), fractions.to_numpy(), strict=True)
            ]
            sns.heatmap(
                fractions,
                annot=np.array(text),
                fmt="",
                cmap="Blues",
                vmin=0,
                vmax=1,
                square=True,
                ax=ax,
                cbar_kws={"label": "Fraction of the true class"},
                annot_kws={"fontsize": "small"},
            )
            ax.set(xlabel="Called class (examples)", ylabel="True class (examples)")
            ax.set_title("all classes" if scores.task == "multiclass" else target)
        calls = "argmax of the class probabilities" if scores.task == "multiclass" else "score > 0.5"
        fig.suptitle(f"{title or 'Confusion matrix (test set)'}\ncalls: {calls}")
    return fig


def plot_scatter(scores: Scores, path: str | PathLike[str], title: str | None = None) -> Figure:
    """Predicted against observed values, one panel per target, with y = x, Pearson r and R²."""
    _require_task(scores, "predicted-vs-observed plot", regression=True)
    nrows, ncols = _grid(len(scores.targets))
    with figure_file(path, nrows, ncols) as (fig, axes):
        for ax, (_, target, observed, predicted, colour) in zip(
            axes.flat, _labelled_targets(scores), strict=False
        ):
            values = regression_metrics(observed, predicted)
            alpha = min(1.0, max(0.15, 20 / math.sqrt(max(len(observed), 1))))
            ax.scatter(observed, predicted, s=10, alpha=alpha, color=colour, linewidths=0, rasterized=True)
            both = np.concatenate([observed, predicted])
            low, high = (both.min(), both.max()) if len(both) else (0.0, 1.0)
            ax.plot([low, high], [low, high], color="grey", ls="--", lw=1, label="y = x (perfect prediction)")
            ax.set(xlabel=f"Observed {target} (label units)", ylabel=f"Predicted {target} (label units)")
            ax.set_title(
                f"{target}: r = {values['pearson_r']:.3f}, R² = {values['r2']:.3f} (n = {len(observed)})"
            )
            ax.legend(loc="upper left", fontsize="small")
        fig.suptitle(title or "Predicted against observed (test set)")
    return fig


def read_history(history: str | PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """A training history (``history.tsv`` path or frame), checked for epoch, loss, val_loss."""
    source: str | Path
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


def plot_training_curves(
    history: str | PathLike[str] | pd.DataFrame,
    path: str | PathLike[str],
    title: str | None = None,
    initial: InitialLoss | None = None,
    loss_label: str | None = None,
) -> Figure:
    """Training and validation loss and metrics per epoch, the kept epoch marked (with
    ``initial``: the loss before training at epoch 0 and its chance value); then the learning
    rate, the gradient norm and the update-to-weight ratios per epoch, when the history records
    them. ``loss_label`` names the loss axis where the task's default does not fit (an
    autoencoder's reconstruction loss)."""
    frame = read_history(history)
    metrics = ["loss"] + [
        c
        for c in frame.columns
        if c not in ("epoch", "loss", "best") and not c.startswith("val_") and f"val_{c}" in frame.columns
    ]
    optimisation = [c for c in TRAINING_DYNAMICS if c in frame.columns]
    ratios = [c for c in frame.columns if c.startswith(UPDATE_RATIO_PREFIX)]
    best = _best_epoch(frame)
    panels = len(metrics) + len(optimisation) + bool(ratios)
    ncols = min(2, panels)
    nrows = math.ceil(panels / ncols)
    train_colour, validation_colour = sns.color_palette(PALETTE, 2)
    with figure_file(path, nrows, ncols) as (fig, axes):
        for ax, metric in zip(axes.flat, metrics + optimisation, strict=False):
            if metric in optimisation:
                ax.plot(frame["epoch"], frame[metric], marker="o", ms=3, color=train_colour)
                # Rates and norms span orders of magnitude (warm-up, decay, exploding gradients).
                ax.set_yscale("log")
            else:
                ax.plot(frame["epoch"], frame[metric], marker="o", ms=3, color=train_colour, label="training")
                ax.plot(
                    frame["epoch"],
                    frame[f"val_{metric}"],
                    marker="o",
                    ms=3,
                    color=validation_colour,
                    label="validation",
                )
            ax.axvline(best, color="grey", ls="--", lw=1, label=f"kept epoch ({best})")
            if metric == "loss" and initial is not None:
                _initial_loss(ax, initial)
            regression_loss = metric == "loss" and "mae" in frame.columns
            label = REGRESSION_LOSS_LABEL if regression_loss else AXIS_LABELS.get(metric, metric)
            ax.set(xlabel="Epoch", ylabel=loss_label if metric == "loss" and loss_label else label)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(fontsize="small")
        if ratios:
            _update_ratio_panel(axes.flat[panels - 1], frame, ratios, best)
        fig.suptitle(title or "Training curves")
    return fig


def _initial_loss(ax: Axes, initial: InitialLoss) -> None:
    """The loss before training at epoch 0 and the chance value as a dashed line."""
    ax.plot([0], [initial.loss], marker="D", ms=6, ls="none", color="black", label="before training")
    if np.isfinite(initial.chance):
        ax.axhline(initial.chance, color="black", ls="--", lw=1, label=f"chance ({initial.chance:.3g})")


def _update_ratio_panel(ax: Axes, frame: pd.DataFrame, columns: list[str], best: int) -> None:
    """Each kernel's update-to-weight ratio per epoch (log scale), first layer to last in a
    sequential palette; a legend naming the kernels when they are few, else the first and last."""
    colours = sns.color_palette("viridis", len(columns))
    few = len(columns) <= LEGEND_INSIDE_MAX
    for i, (column, colour) in enumerate(zip(columns, colours, strict=True)):
        named = few or i in (0, len(columns) - 1)
        label = column.removeprefix(UPDATE_RATIO_PREFIX) if named else None
        if not few and named:
            label = f"{'first' if i == 0 else 'last'} kernel: {label}"
        ax.plot(frame["epoch"], frame[column], marker="o", ms=2, lw=1, color=colour, label=label)
    ax.set_yscale("log")
    ax.axhline(UPDATE_RATIO_GUIDE, color="black", ls=":", lw=1, label="rule of thumb (1e-3)")
    ax.axvline(best, color="grey", ls="--", lw=1, label=f"kept epoch ({best})")
    ax.set(xlabel="Epoch", ylabel=AXIS_LABELS["update_ratio"])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize="x-small")


def plot_learning_curve(curve: pd.DataFrame, path: str | PathLike[str], title: str | None = None) -> Figure:
    """The validation metric and the kept epoch's losses against the training-set size."""
    missing = [
        c
        for c in ("train_examples", "metric", "value", "ci_low", "ci_high", "loss", "val_loss")
        if c not in curve
    ]
    require(not missing, "learning curve", "columns", f"missing column(s) {', '.join(missing)}")
    require(len(curve) > 0, "learning curve", None, "no training-set size")
    curve = curve.sort_values("train_examples")
    metric = str(curve["metric"].iloc[0])
    sizes = curve["train_examples"].to_numpy()
    train_colour, validation_colour = sns.color_palette(PALETTE, 2)
    with figure_file(path, 1, 2) as (fig, axes):
        left, right = axes.flat
        left.fill_between(
            sizes,
            curve["ci_low"],
            curve["ci_high"],
            color=validation_colour,
            alpha=0.25,
            label="bootstrap interval",
        )
        left.plot(sizes, curve["value"], marker="o", color=validation_colour, label="validation")
        for size, value in zip(sizes, curve["value"], strict=True):
            left.annotate(
                f"{value:.3f}",
                (size, value),
                xytext=(0, 6),
                textcoords="offset points",
                ha="center",
                fontsize="small",
            )
        _zoom_to_curve(left, curve, metric)
        left.set(
            xlabel="Training examples (log scale)", ylabel=f"Validation {AXIS_LABELS.get(metric, metric)}"
        )
        right.plot(sizes, curve["loss"], marker="o", color=train_colour, label="training")
        right.plot(sizes, curve["val_loss"], marker="o", color=validation_colour, label="validation")
        right.set(xlabel="Training examples (log scale)", ylabel="Loss at the kept epoch")
        for ax in (left, right):
            ax.set_xscale("log")
            ax.set_xticks(sizes, [f"{size:,}" for size in sizes])
            ax.minorticks_off()
            ax.legend(fontsize="small")
        fig.suptitle(title or "Learning curve: would more data help?")
    return fig


def _zoom_to_curve(ax: Axes, curve: pd.DataFrame, metric: str) -> None:
    """The y axis spans the values and intervals (close points stay apart), with the no-skill
    line where it falls inside; outside, the legend says it is off the axis."""
    values = pd.concat([curve["value"], curve["ci_low"], curve["ci_high"]]).astype(float).dropna()
    if values.empty:
        return
    low, high = float(values.min()), float(values.max())
    pad = max(high - low, 0.02) * 0.15
    low, high = low - pad, high + pad
    if metric in NO_SKILL:
        reference, label = NO_SKILL[metric]
        if low <= reference <= high:
            ax.axhline(reference, color="grey", ls="--", lw=1, label=label)
        else:
            ax.plot([], [], color="grey", ls="--", lw=1, label=f"{label}: off the axis")
    ax.set_ylim(low, high)


def plot_comparison(summary: pd.DataFrame, path: str | PathLike[str], title: str | None = None) -> Figure:
    """Each run's primary test metric with its bootstrap interval, one panel per dataset."""
    datasets = list(dict.fromkeys(summary["dataset"]))
    require(len(datasets) > 0, "summary", None, "no runs to compare")
    kinds = list(dict.fromkeys(k for k in summary["kind"] if k != BASELINE_KIND))
    colours = dict(zip(kinds, sns.color_palette(PALETTE, len(kinds)), strict=True))
    tallest = summary.groupby("dataset").size().max()
    ncols = min(2, len(datasets))
    panel = (PANEL_SIZE[0] + 1, max(3.5, 1.5 + 0.4 * tallest))
    with figure_file(path, math.ceil(len(datasets) / ncols), ncols, panel_size=panel) as (fig, axes):
        for ax, dataset in zip(axes.flat, datasets, strict=False):
            _comparison_panel(ax, summary[summary["dataset"] == dataset], colours)
        fig.suptitle(title or "Test-set performance of every run (error bars: bootstrap confidence interval)")
    return fig


def _zoom_to_runs(ax: Axes, runs: pd.DataFrame, metric: str) -> None:
    """The x axis spans the runs' values and intervals (so close runs stay apart), with the
    no-skill line where it falls inside; outside, the legend says it is off the axis."""
    low_column, high_column = ci_columns(metric)
    values = pd.concat([runs[metric], runs[low_column], runs[high_column]]).astype(float).dropna()
    reference, reference_label = NO_SKILL[metric]
    if values.empty:
        ax.axvline(reference, color="grey", ls="--", lw=1, label=reference_label)
        return
    low, high = float(values.min()), float(values.max())
    pad = max(high - low, 0.02) * 0.15
    low, high = low - pad, high + pad
    if low <= reference <= high:
        ax.axvline(reference, color="grey", ls="--", lw=1, label=reference_label)
    else:
        ax.plot([], [], color="grey", ls="--", lw=1, label=f"{reference_label}: off the axis")
    ax.set_xlim(low, high)


def _comparison_panel(ax: Axes, runs: pd.DataFrame, colours: dict[str, tuple[float, ...]]) -> None:
    task = runs["task"].iloc[0]
    metric = PRIMARY_METRIC[task]
    low_column, high_column = ci_columns(metric)
    runs = runs.sort_values(metric, na_position="first")  # best at the top: the largest y
    for y, run in enumerate(runs.itertuples(index=False)):
        value, low, high = getattr(run, metric), getattr(run, low_column), getattr(run, high_column)
        baseline = run.kind == BASELINE_KIND
        colour = BASELINE_COLOUR if baseline else colours[run.kind]
        if np.isnan(value):
            ax.annotate(
                "undefined",
                (0, y),
                xycoords=("axes fraction", "data"),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize="small",
            )
            continue
        error = None if np.isnan(low) else [[value - low], [high - value]]
        ax.errorbar(
            value, y, xerr=error, fmt="s" if baseline else "o", ms=7, color=colour, capsize=3, label=run.kind
        )
        ax.annotate(
            f"{value:.3f}",
            (value, y),
            xytext=(0, 7),
            textcoords="offset points",
            ha="center",
            fontsize="small",
        )
    _zoom_to_runs(ax, runs, metric)
    ax.set_yticks(range(len(runs)), runs["model"])
    ax.set_ylim(-0.6, len(runs) - 0.4)
    ax.set(xlabel=f"Test {AXIS_LABELS[metric]}", ylabel="Model")
    ax.set_title(f"{runs['dataset'].iloc[0]} ({task})")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    # Beside the axes: inside, it could hide a run.
    ax.legend(
        unique.values(),
        unique.keys(),
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize="small",
        frameon=False,
    )
