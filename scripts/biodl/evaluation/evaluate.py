"""The evaluate step: one run's ``predictions.tsv`` → ``metrics.tsv``, ``confusion.tsv`` and figures.

Contract:
- ``settings`` (``biodl.config.settings.EvaluationSettings``): ``bootstrap`` resamples (0 = no
  intervals), the intervals' ``confidence`` level and the ``calibration_bins``.
- ``evaluate_predictions(dataset_path, predictions_path, model, settings, seed, per_bag)`` reads the
  prepared dataset's ``dataset.json`` (task, targets, split sizes) and the predictions
  (``biodl.evaluation.predictions``; ``per_bag``: one row per bag, metrics per slide),
  computes the test metrics with the validation split setting the best-F1 threshold
  (``biodl.evaluation.metrics``; bootstrap seeded with ``seed``) and logs the headline metrics
  with their intervals. Nothing is written.
- ``write_evaluation(evaluation, outputs, settings)`` writes each named output (atomically):
  ``metrics`` (``metrics.tsv``, ``biodl.evaluation.metrics_file``), ``metrics_table`` (the same as
  an HTML page for the report, ``biodl.report.html_tables``), ``confusion_table``
  (``confusion.tsv``, ``biodl.evaluation.confusion``; classification only) and the figures of
  ``biodl.report.figures`` (``CLASSIFICATION_FIGURES``: ``roc``, ``pr``, ``calibration``,
  ``confusion``; ``REGRESSION_FIGURES``: ``scatter``; both: ``per_task``, the per-target
  metrics beside each target's prevalence or variance, ``biodl.report.per_task``). The outputs
  a rule declares decide what is drawn; a name that does not fit the task, or is unknown,
  raises ``InputError``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from os import PathLike

import pandas as pd

from biodl.config.settings import EvaluationSettings
from biodl.core.errors import InputError
from biodl.core.files import write_tsv
from biodl.data.dataset import open_dataset
from biodl.evaluation.confusion import confusion_table
from biodl.evaluation.metrics import compute_metrics
from biodl.evaluation.metrics_file import headline_text, write_metrics
from biodl.evaluation.predictions import Scores, read_predictions
from biodl.report.figures import plot_calibration, plot_confusion, plot_pr, plot_roc, plot_scatter
from biodl.report.html_tables import metrics_html, write_html
from biodl.report.per_task import plot_per_task

logger = logging.getLogger(__name__)

CLASSIFICATION_FIGURES = ("roc", "pr", "calibration", "confusion", "per_task")
REGRESSION_FIGURES = ("scatter", "per_task")
TABLES = ("metrics", "metrics_table", "confusion_table")


@dataclass(frozen=True)
class Evaluation:
    """One run's test and validation scores and its test metrics."""

    dataset: str
    model: str
    test: Scores
    validation: Scores
    metrics: pd.DataFrame

    @property
    def run(self) -> str:
        return f"{self.model} on {self.dataset}"


def evaluate_predictions(
    dataset_path: str | PathLike[str],
    predictions_path: str | PathLike[str],
    model: str,
    settings: EvaluationSettings,
    seed: int,
    per_bag: bool = False,
) -> Evaluation:
    """Read the predictions of ``model`` on the dataset (``per_bag``: one row per bag of tiles,
    an attention_mil run) and compute the test metrics."""
    dataset = open_dataset(dataset_path)
    scores = read_predictions(predictions_path, dataset, per_bag)
    test, validation = scores["test"], scores["validation"]
    metrics = compute_metrics(
        test, validation, seed=seed, bootstrap=settings.bootstrap, confidence=settings.confidence
    )
    interval = f"{settings.confidence:.0%} bootstrap interval" if settings.bootstrap else "no interval"
    logger.info(
        "%s, %d test %s (%s): %s",
        f"{model} on {dataset.name}",
        test.n,
        "bags" if per_bag else "examples",
        interval,
        headline_text(metrics, dataset.task, dataset.targets),
    )
    return Evaluation(dataset.name, model, test, validation, metrics)


def _figures(
    evaluation: Evaluation, settings: EvaluationSettings
) -> dict[str, Callable[[str | PathLike[str]], object]]:
    test, run = evaluation.test, evaluation.run
    return {
        "roc": lambda path: plot_roc(test, path, title=f"ROC, {run} (test set)"),
        "pr": lambda path: plot_pr(test, path, title=f"Precision-recall, {run} (test set)"),
        "calibration": lambda path: plot_calibration(
            test, path, title=f"Calibration, {run} (test set)", bins=settings.calibration_bins
        ),
        "confusion": lambda path: plot_confusion(test, path, title=f"Confusion matrix, {run} (test set)"),
        "scatter": lambda path: plot_scatter(
            test, path, title=f"Predicted against observed, {run} (test set)"
        ),
        "per_task": lambda path: plot_per_task(
            test, evaluation.metrics, path, title=f"Per-task metrics, {run} (test set)"
        ),
    }


def write_evaluation(
    evaluation: Evaluation, outputs: Mapping[str, str | PathLike[str]], settings: EvaluationSettings
) -> None:
    """Write every output named in ``outputs`` (name → path), as the module contract says."""
    regression = evaluation.test.task == "regression"
    fitting = REGRESSION_FIGURES if regression else CLASSIFICATION_FIGURES
    for name in outputs:
        if name in CLASSIFICATION_FIGURES + REGRESSION_FIGURES and name not in fitting:
            raise InputError(
                "evaluate outputs",
                name,
                f"a {evaluation.test.task} task has no {name} figure (its figures: {', '.join(fitting)})",
            )
        if name == "confusion_table" and regression:
            raise InputError("evaluate outputs", name, "a regression task has no confusion table")
        if name not in TABLES + fitting:
            raise InputError(
                "evaluate outputs",
                name,
                f"unknown output (known: {', '.join(TABLES + CLASSIFICATION_FIGURES + REGRESSION_FIGURES)})",
            )
    figures = _figures(evaluation, settings)
    for name, path in outputs.items():
        if name == "metrics":
            write_metrics(evaluation.metrics, path)
        elif name == "metrics_table":
            write_html(metrics_html(evaluation.metrics, f"Metrics: {evaluation.run} (test set)"), path)
        elif name == "confusion_table":
            write_tsv(confusion_table(evaluation.test), path)
        else:
            figures[name](path)
