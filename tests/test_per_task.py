"""biodl.report.per_task: the per-task table against scikit-learn and SciPy, and its figure."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.patches import Rectangle
from scipy import stats
from sklearn.metrics import average_precision_score, roc_auc_score

from biodl.evaluation.metrics import compute_metrics
from biodl.evaluation.predictions import Scores
from biodl.report.per_task import per_task_table, plot_per_task


def multilabel_scores(rng: np.random.Generator, n: int = 300) -> Scores:
    """Three tasks of different prevalence and skill; the third has missing labels."""
    y = (rng.random((n, 3)) < [0.1, 0.3, 0.5]).astype(np.float32)
    score = np.clip(y * [0.4, 0.2, 0.0] + rng.random((n, 3)) * 0.6, 0, 1).astype(np.float32)
    y[::7, 2] = np.nan
    return Scores("multilabel", ("rare", "common", "noise"), y, score)


def regression_scores(rng: np.random.Generator, n: int = 200) -> Scores:
    observed = rng.normal(size=(n, 2)) * [1.0, 3.0]
    predicted = observed * [1.0, 0.0] + rng.normal(size=(n, 2))
    return Scores("regression", ("good", "none"), observed.astype(np.float32), predicted.astype(np.float32))


def test_classification_rows_match_scikit_learn_and_give_the_prevalence():
    scores = multilabel_scores(np.random.default_rng(0))
    metrics = compute_metrics(scores, scores, seed=1, bootstrap=0, confidence=0.95)
    table = per_task_table(scores, metrics)
    assert table["target"].tolist() == ["rare", "common", "noise"]
    for j, row in enumerate(table.itertuples()):
        known = ~np.isnan(scores.y_true[:, j])
        y, s = scores.y_true[known, j], scores.y_score[known, j]
        assert row.n == known.sum()
        assert row.prevalence == pytest.approx(y.mean())
        assert row.auroc == pytest.approx(roc_auc_score(y, s))
        assert row.auprc == pytest.approx(average_precision_score(y, s))
    assert table.loc[0, "auroc"] > 0.8 and abs(table.loc[2, "auroc"] - 0.5) < 0.15


def test_regression_rows_give_pearson_spearman_and_the_variance():
    scores = regression_scores(np.random.default_rng(1))
    metrics = compute_metrics(scores, scores, seed=1, bootstrap=0, confidence=0.95)
    table = per_task_table(scores, metrics)
    for j, row in enumerate(table.itertuples()):
        observed, predicted = scores.y_true[:, j], scores.y_score[:, j]
        assert row.pearson_r == pytest.approx(stats.pearsonr(observed, predicted)[0], rel=1e-5)
        assert row.spearman_r == pytest.approx(stats.spearmanr(observed, predicted)[0], rel=1e-5)
        assert row.variance == pytest.approx(np.var(observed), rel=1e-5)
    assert "prevalence" not in table.columns


@pytest.mark.parametrize("make", [multilabel_scores, regression_scores])
def test_the_figure_has_two_bars_per_target_and_the_macro_lines(tmp_path, make):
    scores = make(np.random.default_rng(2))
    metrics = compute_metrics(scores, scores, seed=1, bootstrap=0, confidence=0.95)
    fig = plot_per_task(scores, metrics, tmp_path / "per_task.png", title="Per task")
    assert (tmp_path / "per_task.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 2 * len(scores.targets)
    labels = ax.get_legend_handles_labels()[1]
    assert sum(label.startswith("macro") for label in labels) == 2
    ticks = {t.get_text(): t.get_position()[1] for t in ax.get_yticklabels()}
    beside = "positive, n = " if scores.task == "multilabel" else "var "
    assert len(ticks) == len(scores.targets) and all(beside in t for t in ticks)
    assert max(ticks, key=ticks.__getitem__).startswith(scores.targets[0])  # the first target on top
