"""The report's landing text: the answer first, then what was run, from the real settings (no TensorFlow).

The landing page (``workflow/report/workflow.rst``) calls ``landing_rst`` at report time, so its
text describes the results and settings the report shows, not the template's assumptions.

Contract:
- ``best_runs(summary)``: per dataset (in summary order), the best *comparable* run (not an
  ensemble's member nor a search's trial, ``biodl.report.html_tables.comparable``) by the
  dataset's primary metric (``biodl.evaluation.metrics.PRIMARY_METRIC``: auROC, or R² for
  regression), with its interval, and the runner-up among the other comparable runs (``None``
  without one); runs whose primary metric is undefined are left out; a ``Headline`` each.
- ``headline_rst(summary, confidence)``: those headlines as a reStructuredText list, one line per
  dataset: ``dataset: model — auROC 0.912 (95% CI 0.88–0.94), +0.031 over linear``.
- ``split_text(spec)``: how a dataset's examples were split, from its typed settings: hold-out
  chromosomes or regions (DNA genome input), a stratified random split (sequence files, tables
  without groups) or whole groups drawn at random (images, tables with a group column), with the
  fractions.
- ``training_text(spec, chosen)``: a model's training in words: a baseline's estimator; a
  network's (or an autoencoder's) optimizer, learning rate, batch size, epoch limit and early
  stopping on its real ``monitor`` with its patience. For a search that samples the learning
  rate (``sampled``), ``chosen`` maps a dataset to the rate its chosen trial used
  (``trials.tsv``), stated instead of the configured one.
- ``parameters_text(counts)``: a model's parameter count on each dataset it ran on, from their
  ``parameters.tsv`` (``biodl.models.parameter_count``): ``19,073 parameters on ctcf``, joined by
  ``;``; a count that was not taken says why: ``no parameter count on diabetes (gradient
  boosting fits 28 trees, not weights)``.
- ``landing_rst(config, summary_path, trials_path, parameters_path)``: the whole text for a
  validated config: headlines (or a line saying no run has finished), datasets with their
  splits, models with their training and parameter counts. ``trials_path(dataset, model)`` names
  a search's ``trials.tsv`` and ``parameters_path(dataset, model)`` a run's ``parameters.tsv``
  (an ensemble's: summed over its members; a search's: its chosen trial's; autoencoders' too); a
  missing file is skipped (the report of a partial run).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from biodl.config.datasets import DatasetSpec, DnaDataset, ImageDataset, TableDataset, dataset_settings
from biodl.config.models import AutoencoderModel, BaselineModel, ModelSettings, NetworkModel, model_settings
from biodl.config.runs import runs
from biodl.evaluation.metrics import PRIMARY_METRIC
from biodl.evaluation.summary import ci_columns
from biodl.models.parameter_count import ParameterCount, read_parameters
from biodl.report.html_tables import METRIC_LABELS, comparable, format_number

LEARNING_RATE_KEY = "training.learning_rate"


@dataclass(frozen=True)
class Headline:
    """A dataset's best run: its primary metric with its interval, and the runner-up's value."""

    dataset: str
    model: str
    metric: str
    value: float
    ci_low: float
    ci_high: float
    runner_up: str | None
    runner_up_value: float


def best_runs(summary: pd.DataFrame) -> list[Headline]:
    """The headlines of the module contract."""
    runs = summary[comparable(summary)]
    headlines = []
    for dataset, group in runs.groupby("dataset", sort=False):
        metric = PRIMARY_METRIC[str(group["task"].iloc[0])]
        ranked = group[group[metric].notna()].sort_values(metric, ascending=False, kind="stable")
        if ranked.empty:
            continue
        best, low, high = ranked.iloc[0], *ci_columns(metric)
        second = ranked.iloc[1] if len(ranked) > 1 else None
        headlines.append(
            Headline(
                dataset=str(dataset),
                model=str(best["model"]),
                metric=metric,
                value=float(best[metric]),
                ci_low=float(best[low]),
                ci_high=float(best[high]),
                runner_up=None if second is None else str(second["model"]),
                runner_up_value=math.nan if second is None else float(second[metric]),
            )
        )
    return headlines


def _headline_line(headline: Headline, confidence: float) -> str:
    metric = METRIC_LABELS[headline.metric]
    text = f"**{headline.dataset}**: {headline.model} — {metric} {format_number(headline.value)}"
    if not (math.isnan(headline.ci_low) or math.isnan(headline.ci_high)):
        percent = round(confidence * 100)
        text += f" ({percent}% CI {format_number(headline.ci_low)}–{format_number(headline.ci_high)})"
    if headline.runner_up is None:
        return text + ", the only run"
    margin = headline.value - headline.runner_up_value
    return text + f", {margin:+.3f} over {headline.runner_up}"


def headline_rst(summary: pd.DataFrame, confidence: float) -> str:
    """The reStructuredText list of the module contract."""
    return "\n".join(f"- {_headline_line(h, confidence)}" for h in best_runs(summary))


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def split_text(spec: DatasetSpec) -> str:
    """How the dataset was split (module contract)."""
    split = spec.split
    shares = f"{_percent(split.validation_fraction)} validation, {_percent(split.test_fraction)} test"
    if isinstance(spec, DnaDataset) and spec.genome is not None:
        validation, test = ", ".join(spec.split.validation), ", ".join(spec.split.test)
        return f"held out by location: validation {validation or 'none'}, test {test or 'none'}"
    if isinstance(spec, ImageDataset):
        return f"whole groups of the sample sheet drawn at random, stratified: {shares}"
    if isinstance(spec, TableDataset) and spec.group_column:
        return f"whole groups ({spec.group_column}) drawn at random, stratified: {shares}"
    return f"stratified random split of the examples: {shares}"


def training_text(spec: ModelSettings, chosen: Mapping[str, float], sampled: bool = False) -> str:
    """A model's training in words (module contract); ``sampled``: a search draws the learning rate."""
    if isinstance(spec, BaselineModel):
        return f"scikit-learn {spec.estimator.replace('_', ' ')}"
    if not isinstance(spec, NetworkModel | AutoencoderModel):
        return spec.kind
    training = spec.training
    if chosen:
        rates = ", ".join(f"{rate:.3g} on {dataset}" for dataset, rate in chosen.items())
        rate = f"learning rate sampled per trial (chosen: {rates})"
    elif sampled:
        rate = "learning rate sampled per trial"
    else:
        rate = f"learning rate {training.learning_rate:g}"
    return (
        f"{training.optimizer}, {rate}, batch {training.batch_size}, at most {training.epochs} epochs, "
        f"early stopping on {training.monitor} (patience {training.patience})"
    )


def chosen_learning_rates(
    model: str, datasets: list[str], trials_path: Callable[[str, str], str | PathLike[str]]
) -> dict[str, float]:
    """Per dataset, the learning rate of a search's chosen trial, where its trials.tsv exists
    and the search sampled the learning rate."""
    chosen = {}
    for dataset in datasets:
        path = Path(trials_path(dataset, model))
        if not path.is_file():
            continue
        trials = pd.read_csv(path, sep="\t")
        if LEARNING_RATE_KEY in trials.columns:
            row = trials[trials["chosen"].astype(str).str.lower() == "true"]
            if len(row):
                chosen[dataset] = float(row[LEARNING_RATE_KEY].iloc[0])
    return chosen


def parameters_text(counts: Mapping[str, ParameterCount]) -> str:
    """A model's parameter count per dataset (module contract)."""
    parts = [
        f"no parameter count on {dataset} ({count.counted})"
        if count.total is None
        else f"{count.total:,} parameters on {dataset}"
        for dataset, count in counts.items()
    ]
    return "; ".join(parts)


def _datasets_rst(config: Mapping[str, Any]) -> list[str]:
    lines = []
    for name, mapping in config["datasets"].items():
        spec = dataset_settings(name, mapping)
        lines.append(f"- **{name}** ({spec.modality}): {split_text(spec)}")
    return lines


def _models_rst(config: Mapping[str, Any], paths: RunPaths) -> list[str]:
    lines = []
    trained = runs(dict(config))
    for name, mapping in config["models"].items():
        spec = model_settings(name, mapping)
        searched = LEARNING_RATE_KEY in (mapping.get("search") or {}).get("space", {})
        datasets = [d for d, model in trained if model == name]
        chosen = chosen_learning_rates(name, datasets, paths.trials) if searched else {}
        counted = {
            dataset: read_parameters(path)
            for dataset in datasets
            if (path := Path(paths.parameters(dataset, name))).is_file()
        }
        counts = f"; {parameters_text(counted)}" if counted else ""
        lines.append(f"- **{name}** ({spec.kind}): {training_text(spec, chosen, searched)}{counts}")
    return lines


@dataclass(frozen=True)
class RunPaths:
    """Where a run's files are, by (dataset, model): a search's trials.tsv, a run's parameters.tsv."""

    trials: Callable[[str, str], str | PathLike[str]]
    parameters: Callable[[str, str], str | PathLike[str]]


def landing_rst(
    config: Mapping[str, Any],
    summary_path: str | PathLike[str],
    trials_path: Callable[[str, str], str | PathLike[str]],
    parameters_path: Callable[[str, str], str | PathLike[str]],
) -> str:
    """The landing text of the module contract."""
    confidence = float(config["evaluation"]["confidence"])
    summary = Path(summary_path)
    headlines = headline_rst(pd.read_csv(summary, sep="\t"), confidence) if summary.is_file() else ""
    parts = [
        "**Best model per dataset** (test split; the dataset's primary metric, auROC or R²; "
        "every metric in *Summary → leaderboard*):",
        "",
        headlines or "- no run has finished yet",
        "",
        f"**Datasets** (seed {config['seed']} for every random choice; "
        "statistics fitted on the training split):",
        "",
        *_datasets_rst(config),
        "",
        "**Models**:",
        "",
        *_models_rst(config, RunPaths(trials_path, parameters_path)),
        "",
    ]
    return "\n".join(parts)
