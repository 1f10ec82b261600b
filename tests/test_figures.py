"""biodl.report.figures: every figure is a readable, non-empty PNG written atomically, with the
right panels."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from biodl.core.errors import InputError
from biodl.evaluation.predictions import Scores
from biodl.report.figures import (
    BASELINE_COLOUR,
    plot_calibration,
    plot_comparison,
    plot_confusion,
    plot_learning_curve,
    plot_pr,
    plot_roc,
    plot_scatter,
    plot_training_curves,
)
from biodl.training.initial_loss import InitialLoss

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TARGETS = {
    "binary": ("bound",),
    "multiclass": ("a", "b", "c"),
    "multilabel": ("x", "y", "z", "w"),
    "regression": ("expr", "halflife"),
}
CLASSIFICATION = ["binary", "multiclass", "multilabel"]


def _assert_png(path: Path, min_width: int = 500) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert width >= min_width and height >= 400
    assert image[..., :3].std() > 0.05, "the figure is blank"
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temporary files left


def _visible_panels(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def _scores(task: str, n: int = 60, seed: int = 0) -> Scores:
    rng = np.random.default_rng(seed)
    targets = TARGETS[task]
    if task == "regression":
        truth = rng.normal(size=(n, 2))
        return Scores(task, targets, truth, 0.8 * truth + 0.5 * rng.normal(size=(n, 2)))
    if task == "multiclass":
        truth = np.eye(3)[rng.integers(0, 3, n)]
    else:
        truth = (rng.random((n, len(targets))) < 0.4).astype(float)
    scores = np.clip(0.5 * truth + 0.6 * rng.random(truth.shape), 0, 1)
    if task == "multilabel":
        truth[rng.random(truth.shape) < 0.2] = np.nan
    return Scores(task, targets, truth, scores)


def _history() -> pd.DataFrame:
    epochs = np.arange(1, 7)
    return pd.DataFrame(
        {
            "epoch": epochs,
            "loss": 0.7 / epochs,
            "val_loss": [0.7, 0.5, 0.4, 0.45, 0.5, 0.55],
            "auroc": 1 - 0.4 / epochs,
            "val_auroc": [0.6, 0.7, 0.8, 0.78, 0.77, 0.76],
            "best": epochs == 3,
        }
    )


@pytest.mark.parametrize("task", CLASSIFICATION)
def test_roc_and_pr_draw_one_curve_per_target(task: str, tmp_path: Path) -> None:
    scores = _scores(task)
    roc = plot_roc(scores, tmp_path / "roc.png", title="ROC")
    pr = plot_pr(scores, tmp_path / "pr.png")
    _assert_png(tmp_path / "roc.png")
    _assert_png(tmp_path / "pr.png")
    n_targets = len(TARGETS[task])
    assert len(roc.axes[0].lines) == n_targets + 1  # and the chance diagonal
    assert len(pr.axes[0].lines) == 2 * n_targets  # each curve and its prevalence line


def test_roc_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "roc.png"
    target.write_bytes(b"old")
    plot_roc(_scores("multilabel"), target, title="ROC of x and y")
    _assert_png(target)


def test_a_target_with_one_class_gets_no_curve_but_no_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scores = _scores("multilabel")
    scores.y_true[:, 1] = np.where(np.isnan(scores.y_true[:, 1]), np.nan, 0)
    with caplog.at_level(logging.WARNING, logger="biodl.report.figures"):
        roc = plot_roc(scores, tmp_path / "roc.png")
        plot_pr(scores, tmp_path / "pr.png")
    assert "no ROC curve for target y" in caplog.text
    assert len(roc.axes[0].lines) == 4
    _assert_png(tmp_path / "roc.png")


@pytest.mark.parametrize("task", CLASSIFICATION)
def test_calibration_has_a_reliability_line_and_a_histogram_per_target(task: str, tmp_path: Path) -> None:
    fig = plot_calibration(_scores(task), tmp_path / "calibration.png", title="Calibration", bins=5)
    _assert_png(tmp_path / "calibration.png")
    reliability, histogram = fig.axes
    n_targets = len(TARGETS[task])
    assert len(reliability.lines) == n_targets + 1  # and the diagonal
    assert all("Brier = " in text.get_text() for text in reliability.get_legend().get_texts()[1:])
    assert len(histogram.patches) == n_targets
    assert all(len(line.get_xdata()) <= 5 for line in reliability.lines[1:])  # at most one point per bin


@pytest.mark.parametrize(
    ("task", "panels", "cells"), [("binary", 1, 4), ("multiclass", 1, 9), ("multilabel", 4, 4)]
)
def test_confusion_heatmaps_show_counts_and_fractions(
    task: str, panels: int, cells: int, tmp_path: Path
) -> None:
    scores = _scores(task)
    fig = plot_confusion(scores, tmp_path / "confusion.png", title="Confusion")
    _assert_png(tmp_path / "confusion.png")
    heatmaps = [ax for ax in _visible_panels(fig) if any(isinstance(c, QuadMesh) for c in ax.collections)]
    assert len(heatmaps) == panels
    texts = [t.get_text() for t in heatmaps[0].texts]
    assert len(texts) == cells and all("\n(" in t and t.endswith("%)") for t in texts)
    counts = sum(int(t.split("\n")[0]) for t in texts)
    assert counts == np.sum(~np.isnan(scores.y_true[:, 0]))


def test_scatter_has_one_panel_per_target_with_r_and_r2(tmp_path: Path) -> None:
    fig = plot_scatter(_scores("regression"), tmp_path / "scatter.png", title="Predicted against observed")
    _assert_png(tmp_path / "scatter.png")
    panels = _visible_panels(fig)
    assert [ax.get_title().split(":")[0] for ax in panels] == ["expr", "halflife"]
    assert all("r = " in ax.get_title() and "R² = " in ax.get_title() for ax in panels)
    assert all(len(ax.collections[0].get_offsets()) == 60 for ax in panels)


@pytest.mark.parametrize(
    ("plot", "task"), [(plot_roc, "regression"), (plot_confusion, "regression"), (plot_scatter, "binary")]
)
def test_a_figure_for_another_task_is_refused(
    plot: Callable[[Scores, Path], object], task: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=f"not drawn for a {task} task"):
        plot(_scores(task), tmp_path / "figure.png")
    assert not (tmp_path / "figure.png").exists()


def test_training_curves_from_history_file(tmp_path: Path) -> None:
    _history().to_csv(tmp_path / "history.tsv", sep="\t", index=False)
    fig = plot_training_curves(tmp_path / "history.tsv", tmp_path / "curves.png", "Training curves")
    _assert_png(tmp_path / "curves.png", min_width=900)  # two panels side by side
    assert len(_visible_panels(fig)) == 2


def test_training_curves_add_learning_rate_and_gradient_norm_panels(tmp_path: Path) -> None:
    history = _history().assign(
        learning_rate=[1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4], gradient_norm=[2.0, 1.5, 1.0, 0.8, 0.7, 0.6]
    )
    fig = plot_training_curves(history, tmp_path / "curves.png")
    panels = _visible_panels(fig)
    assert [ax.get_ylabel().split(" (")[0] for ax in panels] == [
        "Loss",
        "AUROC",
        "Learning rate",
        "Gradient norm",
    ]
    assert list(panels[2].lines[0].get_ydata()) == history["learning_rate"].tolist()
    assert panels[3].get_yscale() == "log"


def test_an_autoencoders_curves_name_its_reconstruction_loss(tmp_path: Path) -> None:
    history = _history()[["epoch", "loss", "val_loss", "best"]]
    label = "Reconstruction loss (MSE, standardised features)"
    fig = plot_training_curves(history, tmp_path / "curves.png", loss_label=label)
    assert [ax.get_ylabel() for ax in _visible_panels(fig)] == [label]


@pytest.mark.parametrize("kernels", [2, 9])
def test_training_curves_add_an_update_ratio_panel_with_the_rule_of_thumb(
    kernels: int, tmp_path: Path
) -> None:
    ratios = {f"update_ratio/layer{i}": np.geomspace(1e-2, 1e-4, 6) * (i + 1) for i in range(kernels)}
    history = _history().assign(gradient_norm=[2.0, 1.5, 1.0, 0.8, 0.7, 0.6], **ratios)
    fig = plot_training_curves(history, tmp_path / "curves.png")
    _assert_png(tmp_path / "curves.png")
    panel = _visible_panels(fig)[-1]
    assert panel.get_ylabel().startswith("Update / weight") and panel.get_yscale() == "log"
    assert [list(line.get_ydata()) for line in panel.lines[:kernels]] == [list(v) for v in ratios.values()]
    assert any(list(line.get_ydata()) == [1e-3, 1e-3] for line in panel.lines[kernels:])  # the 1e-3 guide
    labels = [text.get_text() for text in panel.get_legend().get_texts()]
    assert len(labels) == (kernels if kernels <= 6 else 2) + 2  # and the guide and kept epoch
    assert "rule of thumb (1e-3)" in labels


def test_training_curves_mark_the_initial_loss_and_its_chance_value(tmp_path: Path) -> None:
    fig = plot_training_curves(_history(), tmp_path / "curves.png", initial=InitialLoss(0.9, 0.6931, 64))
    loss = _visible_panels(fig)[0]
    marker = [line for line in loss.lines if line.get_label() == "before training"]
    assert len(marker) == 1 and list(marker[0].get_xdata()) == [0] and list(marker[0].get_ydata()) == [0.9]
    chance = [line for line in loss.lines if line.get_label() == "chance (0.693)"]
    assert len(chance) == 1 and list(chance[0].get_ydata()) == [0.6931, 0.6931]
    assert loss.get_xlim()[0] < 0  # epoch 0 is in view
    auroc = _visible_panels(fig)[1]
    assert not any(line.get_label() == "before training" for line in auroc.lines)


def test_learning_curve_draws_the_metric_with_its_band_and_the_losses_against_size(tmp_path: Path) -> None:
    curve = pd.DataFrame(
        {
            "fraction": [0.1, 0.5, 1.0],
            "train_examples": [40, 200, 400],
            "metric": "auroc",
            "target": "bound",
            "value": [0.7, 0.8, 0.85],
            "ci_low": [0.6, 0.74, 0.8],
            "ci_high": [0.78, 0.86, 0.9],
            "best_epoch": [3, 5, 6],
            "loss": [0.2, 0.3, 0.35],
            "val_loss": [0.6, 0.5, 0.45],
        }
    )
    fig = plot_learning_curve(curve, tmp_path / "curve.png")
    _assert_png(tmp_path / "curve.png", min_width=900)
    metric, losses = _visible_panels(fig)
    assert metric.get_xscale() == "log" and metric.get_ylabel().startswith("Validation AUROC")
    assert list(metric.lines[0].get_xdata()) == [40, 200, 400] and list(metric.lines[0].get_ydata()) == [
        0.7,
        0.8,
        0.85,
    ]
    band = metric.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(0.6) and band[:, 1].max() == pytest.approx(0.9)
    assert [t.get_text() for t in metric.texts] == ["0.700", "0.800", "0.850"]
    assert [list(line.get_ydata()) for line in losses.lines] == [[0.2, 0.3, 0.35], [0.6, 0.5, 0.45]]
    with pytest.raises(InputError, match="ci_low"):
        plot_learning_curve(curve.drop(columns="ci_low"), tmp_path / "bad.png")


def test_history_without_val_loss_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="val_loss"):
        plot_training_curves(_history().drop(columns="val_loss"), tmp_path / "curves.png")
    assert not (tmp_path / "curves.png").exists()


def _summary() -> pd.DataFrame:
    rows = [
        ("peaks", "cnn", "cnn1d", "binary", 0.91, 0.88, 0.94),
        ("peaks", "logistic", "baseline", "binary", 0.80, 0.75, 0.85),
        ("peaks", "deep", "cnn1d", "binary", 0.85, np.nan, np.nan),
        ("expression", "mlp", "mlp", "regression", 0.40, 0.30, 0.50),
        ("expression", "ridge", "baseline", "regression", np.nan, np.nan, np.nan),
    ]
    frame = pd.DataFrame(rows, columns=["dataset", "model", "kind", "task", "value", "low", "high"])
    for metric, task in (("auroc", "binary"), ("r2", "regression")):
        chosen = frame["task"] == task
        for source, column in (("value", metric), ("low", f"{metric}_ci_low"), ("high", f"{metric}_ci_high")):
            frame[column] = frame[source].where(chosen)
    return frame.drop(columns=["value", "low", "high"])


def test_comparison_has_a_panel_per_dataset_with_sorted_runs_and_distinct_baselines(tmp_path: Path) -> None:
    fig = plot_comparison(_summary(), tmp_path / "summary.png")
    _assert_png(tmp_path / "summary.png", min_width=900)
    peaks, expression = _visible_panels(fig)
    assert peaks.get_title() == "peaks (binary)" and "AUROC" in peaks.get_xlabel()
    assert [t.get_text() for t in peaks.get_yticklabels()] == ["logistic", "deep", "cnn"]  # best at the top
    assert len(peaks.containers) == 3
    baseline = peaks.containers[0].lines[0]
    assert baseline.get_marker() == "s" and baseline.get_color() == BASELINE_COLOUR
    assert peaks.containers[2].lines[0].get_marker() == "o"
    assert "R²" in expression.get_xlabel()
    assert any(text.get_text() == "undefined" for text in expression.texts)  # the run with NaN R²


def test_comparison_axis_spans_the_runs_so_close_runs_stay_apart(tmp_path: Path) -> None:
    fig = plot_comparison(_summary(), tmp_path / "summary.png")
    peaks, expression = _visible_panels(fig)
    low, high = peaks.get_xlim()
    # 0.75 to 0.94 with a margin, not the metric's whole 0.5 to 1 range.
    assert 0.70 < low < 0.75 and 0.94 < high < 0.97
    assert [t.get_text() for t in peaks.texts] == ["0.800", "0.850", "0.910"]
    # Chance (0.5) is off this axis and the legend says so, with no line drawn.
    assert any("off the axis" in t.get_text() for t in peaks.get_legend().get_texts())
    assert not any(list(line.get_xdata()) == [0.5, 0.5] for line in peaks.lines)
    # Inside the axis, the no-skill line is drawn: R² 0 on a panel of runs around it.
    frame = _summary()
    frame.loc[frame["model"] == "mlp", ["r2_ci_low"]] = -0.1
    fig = plot_comparison(frame, tmp_path / "again.png")
    expression = _visible_panels(fig)[1]
    assert expression.get_xlim()[0] < 0 < expression.get_xlim()[1]
    assert any(list(line.get_xdata()) == [0, 0] for line in expression.lines)


def test_plots_are_saved_with_a_palette_and_images_with_every_colour(tmp_path):
    from PIL import Image

    from biodl.report.figures import save_png

    lines, picture = Figure(), Figure()
    lines.subplots().plot([0, 1, 2], [2, 0, 1])
    picture.subplots().imshow(np.random.default_rng(0).random((32, 32)), cmap="viridis")
    save_png(lines, tmp_path / "lines.png")
    save_png(picture, tmp_path / "picture.png")
    with Image.open(tmp_path / "lines.png") as saved:
        assert saved.mode == "P"
    with Image.open(tmp_path / "picture.png") as saved:
        assert saved.mode == "RGBA"
