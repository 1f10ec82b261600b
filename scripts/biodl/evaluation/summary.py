"""Collecting the headline metrics of every run into one table (no TensorFlow).

Contract:
- ``summarize(metrics_paths, dataset_paths, runs, kinds, roles, member_of, parameters_paths)``:
  one row per run,
  in the order given; ``runs[i]`` = [dataset, model], ``kinds[i]`` (the model kind: cnn1d, mlp,
  baseline ...), ``roles[i]`` (``biodl.workflow.variants``: model, member, ensemble or search; default
  model), ``member_of[i]`` (the ensemble a member belongs to, else empty), ``metrics_paths[i]``
  its ``metrics.tsv``, ``dataset_paths[i]`` its dataset's ``dataset.json`` (for the task and
  targets) and ``parameters_paths[i]`` its ``parameters.tsv`` (``biodl.models.parameter_count``;
  none given: the counts are left empty). Columns (``SUMMARY_COLUMNS``): dataset, model, kind,
  role, member_of, task, n_test (test examples), parameters and trainable_parameters (empty
  where not counted: gradient boosting), then for every headline metric of any task (auroc,
  auprc, f1, accuracy, mse, mae, pearson_r, r2) ``<metric>``, ``<metric>_ci_low`` and
  ``<metric>_ci_high``, taken from the headline rows of ``biodl.evaluation.metrics`` (binary: the positive
  class; multiclass and multilabel: ``macro``, multiclass accuracy: top-1, target ``all``;
  regression: the target, or ``macro`` over several); then ``n_targets`` (outputs: tasks,
  classes or regression targets) and, for multiclass and multilabel runs, ``auroc_micro`` and
  ``auprc_micro`` (the ``micro`` rows: pooled over every labelled (example, target) pair; point
  estimates, no interval). Regression has no micro average (targets in different units).
- ``write_summary(summary, path)`` writes ``results/summary.tsv``: an empty cell means the
  metric does not apply to the run's task (auroc of a regression); the text ``NaN`` means it
  applies but is undefined on that test set (or, in the ``_ci_`` columns, that no interval was
  computed: bootstrap 0 or undefined in every resample). Parameter counts are whole numbers,
  empty where not counted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import pandas as pd

from biodl.core.errors import InputError, require
from biodl.core.files import write_tsv
from biodl.data.format import read_manifest
from biodl.evaluation.metrics import HEADLINE_METRICS, headline_keys
from biodl.evaluation.metrics_file import metric_row, read_metrics
from biodl.evaluation.weighted_metrics import ALL, MICRO
from biodl.models.parameter_count import read_parameters

logger = logging.getLogger(__name__)

SUMMARY_METRICS = tuple(dict.fromkeys(m for metrics in HEADLINE_METRICS.values() for m in metrics))


def ci_columns(metric: str) -> tuple[str, str]:
    """The summary columns of the lower and upper bound of ``metric``'s interval."""
    return f"{metric}_ci_low", f"{metric}_ci_high"


PARAMETER_COLUMNS = ["parameters", "trainable_parameters"]
RUN_COLUMNS = ["dataset", "model", "kind", "role", "member_of", "task", "n_test", *PARAMETER_COLUMNS]
HEADLINE_COLUMNS = [c for m in SUMMARY_METRICS for c in (m, *ci_columns(m))]
# Several classes or labels: the micro averages beside the macro headline (point estimates).
MICRO_TASKS = ("multiclass", "multilabel")
MICRO_COLUMNS = {"auroc_micro": "auroc", "auprc_micro": "auprc"}
SUMMARY_COLUMNS = [*RUN_COLUMNS, *HEADLINE_COLUMNS, "n_targets", *MICRO_COLUMNS]


def summarize(
    metrics_paths: Sequence[str | PathLike[str]],
    dataset_paths: Sequence[str | PathLike[str]],
    runs: Sequence[Sequence[str]],
    kinds: Sequence[str],
    roles: Sequence[str] | None = None,
    member_of: Sequence[str] | None = None,
    parameters_paths: Sequence[str | PathLike[str]] | None = None,
) -> pd.DataFrame:
    """One headline row per run (see the module contract); undefined or absent values are NaN."""
    source = "summary inputs"
    roles = ["model"] * len(metrics_paths) if roles is None else roles
    member_of = [""] * len(metrics_paths) if member_of is None else member_of
    for name, given in (
        ("datasets", dataset_paths),
        ("runs", runs),
        ("kinds", kinds),
        ("roles", roles),
        ("member_of", member_of),
        ("parameter counts", metrics_paths if parameters_paths is None else parameters_paths),
    ):
        require(
            len(given) == len(metrics_paths),
            source,
            name,
            f"{len(given)} {name} for {len(metrics_paths)} metrics files",
        )
    rows = []
    for i, (metrics_path, dataset_path, run, kind) in enumerate(
        zip(metrics_paths, dataset_paths, runs, kinds, strict=True)
    ):
        require(len(run) == 2, source, f"runs[{i}]", f"expected [dataset, model], found {run!r}")
        task, targets = _task_and_targets(dataset_path)
        metrics, where = read_metrics(metrics_path), Path(metrics_path)
        row: dict[str, object] = {
            "dataset": run[0],
            "model": run[1],
            "kind": kind,
            "role": roles[i],
            "member_of": member_of[i],
            "task": task,
            "n_test": int(metric_row(metrics, "n", ALL, where)[0]),
        }
        if parameters_paths is not None:
            count = read_parameters(parameters_paths[i])
            row.update(parameters=count.total, trainable_parameters=count.trainable)
        for metric, target in headline_keys(task, targets):
            row[metric], *bounds = metric_row(metrics, metric, target, where)
            row.update(zip(ci_columns(metric), bounds, strict=True))
        row["n_targets"] = len(targets)
        if task in MICRO_TASKS:
            for column, metric in MICRO_COLUMNS.items():
                row[column] = metric_row(metrics, metric, MICRO, where)[0]
        rows.append(row)
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return frame.astype(
        {c: "float64" for c in [*HEADLINE_COLUMNS, *MICRO_COLUMNS]}
        | {"n_test": "int64", "n_targets": "int64"}
        | {c: "Int64" for c in PARAMETER_COLUMNS}
    )


def _task_and_targets(dataset_path: str | PathLike[str]) -> tuple[str, tuple[str, ...]]:
    manifest, raw = read_manifest(dataset_path)
    targets = raw.get("targets")
    if not (isinstance(targets, list) and targets and all(isinstance(t, str) for t in targets)):
        raise InputError(manifest, "targets", f"expected a non-empty list of names, found {targets!r}")
    return raw["task"], tuple(targets)


def write_summary(summary: pd.DataFrame, path: str | PathLike[str]) -> None:
    """``summary.tsv``: empty where a metric does not apply to the task, ``NaN`` where undefined."""
    text = summary.astype({c: object for c in [*HEADLINE_COLUMNS, *MICRO_COLUMNS]})
    for metric in SUMMARY_METRICS:
        tasks = [task for task, headline in HEADLINE_METRICS.items() if metric in headline]
        applies = summary["task"].isin(tasks).to_numpy(dtype=bool)
        for column in (metric, *ci_columns(metric)):
            text.loc[applies & summary[column].isna().to_numpy(), column] = "NaN"
            text.loc[~applies, column] = ""
    micro = summary["task"].isin(MICRO_TASKS).to_numpy(dtype=bool)
    for column in MICRO_COLUMNS:
        text.loc[micro & summary[column].isna().to_numpy(), column] = "NaN"
        text.loc[~micro, column] = ""
    write_tsv(text, path)
    logger.info("summarised %d runs into %s", len(summary), path)
