"""Per-task results of one run: a table and a figure, one row or bar pair per target.

Contract:
- ``per_task_table(scores, metrics)`` gives one row per target of the test ``Scores`` (config
  order) with ``target``, ``n`` (test examples with a label for it), the task's two per-task
  metrics read from the run's ``metrics`` (``biodl.evaluation.metrics``: ``auroc`` and
  ``auprc`` for classification, ``pearson_r`` and ``spearman_r`` for regression; NaN where
  undefined) and what the metrics should be read against: ``prevalence`` (the fraction of
  labelled examples that are positive; for multiclass, of that class) for classification, or
  ``variance`` (of the observed values, label units squared) for regression.
- ``plot_per_task(scores, metrics, path, title)`` draws that table as horizontal bars, two per
  target (one colour per metric), each target's prevalence or variance and ``n`` beside its
  name, the no-skill level (auROC 0.5; auPRC: the target's prevalence, as a tick on its bar;
  Pearson/Spearman 0) and the ``macro`` average of each metric (the unweighted mean over the
  targets where it is defined, from ``metrics``) as a dashed line. The PNG follows
  ``biodl.report.figures`` (written atomically, 150 dpi); it grows with the number of targets.
"""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from biodl.evaluation.predictions import Scores
from biodl.evaluation.weighted_metrics import MACRO
from biodl.report.figures import PALETTE, figure_file

PER_TASK_METRICS = {"classification": ("auroc", "auprc"), "regression": ("pearson_r", "spearman_r")}
LABELS = {
    "auroc": "auROC",
    "auprc": "auPRC (average precision)",
    "pearson_r": "Pearson r",
    "spearman_r": "Spearman r",
}
BAR_HEIGHT = 0.38  # of a target's row (two bars)
ROW_INCHES = 0.42


def _kind(scores: Scores) -> str:
    return "regression" if scores.task == "regression" else "classification"


def per_task_table(scores: Scores, metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per target (see the module contract)."""
    names = PER_TASK_METRICS[_kind(scores)]
    rows = []
    for j, target in enumerate(scores.targets):
        observed = scores.y_true[scores.labelled(j), j]
        row: dict[str, object] = {"target": target, "n": len(observed)}
        for metric in names:
            found = metrics.loc[(metrics["metric"] == metric) & (metrics["target"] == target), "value"]
            row[metric] = float(found.iloc[0]) if len(found) else np.nan
        if scores.task == "regression":
            row["variance"] = float(np.var(observed)) if len(observed) else np.nan
        else:
            row["prevalence"] = float(np.mean(observed == 1)) if len(observed) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def plot_per_task(
    scores: Scores, metrics: pd.DataFrame, path: str | PathLike[str], title: str | None = None
) -> Figure:
    """The per-task bar chart of the module contract."""
    table = per_task_table(scores, metrics)
    names = PER_TASK_METRICS[_kind(scores)]
    regression = scores.task == "regression"
    colours = sns.color_palette(PALETTE, len(names))
    rows = np.arange(len(table))[::-1]  # the first target on top
    height = max(2.5, ROW_INCHES * 2 * len(table) + 1.5)
    with figure_file(path, panel_size=(7.0, height)) as (fig, axes):
        ax = axes[0, 0]
        for k, (metric, colour) in enumerate(zip(names, colours, strict=True)):
            offset = (0.5 - k) * BAR_HEIGHT
            values = table[metric].to_numpy(float)
            ax.barh(
                rows + offset, np.nan_to_num(values), height=BAR_HEIGHT, color=colour, label=LABELS[metric]
            )
            for y, value in zip(rows + offset, values, strict=True):
                text = "undefined" if np.isnan(value) else f"{value:.3f}"
                ax.annotate(
                    text,
                    (max(np.nan_to_num(value), 0), y),
                    xytext=(3, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize="x-small",
                )
            macro = metrics.loc[(metrics["metric"] == metric) & (metrics["target"] == MACRO), "value"]
            if len(macro) and np.isfinite(macro.iloc[0]):
                ax.axvline(
                    float(macro.iloc[0]),
                    color=colour,
                    ls="--",
                    lw=1.2,
                    label=f"macro {LABELS[metric]} {float(macro.iloc[0]):.3f}",
                )
        if regression:
            ax.axvline(0.0, color="grey", lw=1, label="no skill (r = 0)")
        else:
            ax.axvline(0.5, color="grey", lw=1, label="chance auROC (0.5)")
            ax.scatter(
                table["prevalence"],
                rows - 0.5 * BAR_HEIGHT,
                marker="|",
                s=200,
                color="black",
                label="chance auPRC (the prevalence)",
                zorder=3,
            )
        beside = (
            [
                f"{t}\nvar {v:.3g}, n = {n}"
                for t, v, n in zip(table["target"], table["variance"], table["n"], strict=True)
            ]
            if regression
            else [
                f"{t}\n{p:.1%} positive, n = {n}"
                for t, p, n in zip(table["target"], table["prevalence"], table["n"], strict=True)
            ]
        )
        ax.set_yticks(rows, beside, fontsize="small")
        ax.set_xlim(
            -1.0 if regression and np.nanmin(table[list(names)].to_numpy(float), initial=0) < 0 else 0.0, 1.08
        )
        ax.set_xlabel(
            "Correlation with the observed values (test set)"
            if regression
            else "Area under the curve (0-1, test set)"
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", frameon=False)
        fig.suptitle(title or "Per-task metrics (test set)")
    return fig
