"""biodl.plots: every figure is a readable, non-empty PNG written atomically."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from biodl.evaluate import Evaluation, compute_metrics
from biodl.predictions import Scores, predictions_frame
from biodl.plots import plot_evaluation, plot_pr, plot_roc, plot_training_curves
from biodl.validate import InputError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_png(path: Path, min_width: int = 500) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert width >= min_width and height >= 400
    assert image[..., :3].std() > 0.05, "the figure is blank"
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temporary files left


def _scores(task: str, n: int = 60, seed: int = 0) -> Scores:
    rng = np.random.default_rng(seed)
    targets = {"binary": ("bound",), "multiclass": ("a", "b", "c"), "multilabel": ("x", "y")}[task]
    if task == "multiclass":
        truth = np.eye(3)[rng.integers(0, 3, n)]
    else:
        truth = (rng.random((n, len(targets))) < 0.4).astype(float)
    scores = np.clip(0.5 * truth + 0.6 * rng.random(truth.shape), 0, 1)
    return Scores(task, targets, truth, scores)


def _history() -> pd.DataFrame:
    epochs = np.arange(1, 7)
    return pd.DataFrame({
        "epoch": epochs, "loss": 0.7 / epochs, "val_loss": [0.7, 0.5, 0.4, 0.45, 0.5, 0.55],
        "auroc": 1 - 0.4 / epochs, "val_auroc": [0.6, 0.7, 0.8, 0.78, 0.77, 0.76],
        "best": epochs == 3,
    })


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
def test_roc_and_pr_from_a_predictions_frame(task: str, tmp_path: Path) -> None:
    scores = _scores(task)
    metadata = pd.DataFrame({"name": [f"r{i}" for i in range(len(scores.y_true))]})
    frame = predictions_frame(metadata, scores)
    plot_roc(frame, tmp_path / "roc.png")
    plot_pr(frame, tmp_path / "pr.png")
    _assert_png(tmp_path / "roc.png")
    _assert_png(tmp_path / "pr.png")


def test_roc_from_arrays_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "roc.png"
    target.write_bytes(b"old")
    plot_roc(_scores("multilabel"), target, title="ROC of x and y")
    _assert_png(target)


def test_a_target_with_one_class_gets_no_curve_but_no_crash(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    scores = _scores("multilabel")
    scores.y_true[:, 1] = 0
    with caplog.at_level(logging.WARNING, logger="biodl.plots"):
        plot_roc(scores, tmp_path / "roc.png")
        plot_pr(scores, tmp_path / "pr.png")
    assert "no ROC curve for target y" in caplog.text
    _assert_png(tmp_path / "roc.png")


def test_training_curves_from_history_file(tmp_path: Path) -> None:
    _history().to_csv(tmp_path / "history.tsv", sep="\t", index=False)
    plot_training_curves(tmp_path / "history.tsv", tmp_path / "curves.png")
    _assert_png(tmp_path / "curves.png", min_width=900)  # two panels side by side


def test_history_without_val_loss_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="val_loss"):
        plot_training_curves(_history().drop(columns="val_loss"), tmp_path / "curves.png")
    assert not (tmp_path / "curves.png").exists()


def test_plot_evaluation_writes_all_three_figures(tmp_path: Path) -> None:
    scores = _scores("binary")
    evaluation = Evaluation("peaks", "cnn", scores, compute_metrics(scores))
    plot_evaluation(evaluation, _history(), tmp_path / "roc.png", tmp_path / "pr.png", tmp_path / "curves.png")
    for name in ("roc.png", "pr.png", "curves.png"):
        _assert_png(tmp_path / name)
