"""Collecting the results of many runs into one table.

Contract: ``summarize(metrics_paths, runs, tasks)`` reads ``metrics.tsv`` files (written by
``biodl.evaluate``) into one frame with columns dataset, model, task, n_test, auroc, auprc, f1,
accuracy: the positive-class row for binary runs, the ``macro`` row otherwise.
``write_summary`` writes it (undefined values as ``NaN``). This module needs no TensorFlow.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import pandas as pd

from biodl.io import TASKS, write_tsv
from biodl.validate import require, require_file

logger = logging.getLogger(__name__)

HEADLINE_METRICS = ("auroc", "auprc", "f1", "accuracy")
SUMMARY_COLUMNS = ["dataset", "model", "task", "n_test", *HEADLINE_METRICS]


def nan_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with missing numbers spelled ``NaN`` (an empty cell reads as "not computed")."""
    numeric = frame.select_dtypes("number").columns
    return frame.astype({c: object for c in numeric}).fillna({c: "NaN" for c in numeric})


def read_metrics(path: str | PathLike[str]) -> pd.DataFrame:
    """A ``metrics.tsv`` as written by ``evaluate_model`` (NaN for undefined values)."""
    path = require_file(path, "metrics file")
    frame = pd.read_csv(path, sep="\t", dtype={"metric": str, "target": str}, keep_default_na=False, na_values={"value": ["", "NaN", "nan"]})
    missing = [c for c in ("metric", "target", "value") if c not in frame.columns]
    require(not missing, path, "header", f"missing column(s) {', '.join(missing)}")
    require(pd.api.types.is_numeric_dtype(frame["value"]), path, "column value", "expected numbers")
    return frame


def headline(metrics: pd.DataFrame, task: str, source: str | PathLike[str]) -> dict[str, float]:
    """n_test and the headline metrics: the target row for binary, the macro row otherwise."""
    if task == "binary":
        targets = sorted(set(metrics["target"]))
        require(len(targets) == 1, source, None, f"a binary run has one target, found {targets}")
        target = targets[0]
    else:
        target = "macro"
    row: dict[str, float] = {}
    for name in HEADLINE_METRICS:
        found = metrics.loc[(metrics["metric"] == name) & (metrics["target"] == target), "value"]
        require(len(found) == 1, source, None, f"expected one {name} row for target {target}, found {len(found)}")
        row[name] = float(found.iloc[0])
    n = metrics.loc[metrics["metric"] == "n", "value"]
    require(len(n) == 1, source, None, f"expected one n row, found {len(n)}")
    row["n_test"] = int(n.iloc[0])
    return row


def summarize(metrics_paths: Sequence[str | PathLike[str]], runs: Sequence[Sequence[str]], tasks: Sequence[str]) -> pd.DataFrame:
    """One headline row per run; ``runs[i]`` = (dataset, model) and ``tasks[i]`` describe ``metrics_paths[i]``."""
    source = "summary parameters"
    require(len(runs) == len(metrics_paths), source, "runs", f"{len(runs)} runs for {len(metrics_paths)} metrics files")
    require(len(tasks) == len(metrics_paths), source, "tasks", f"{len(tasks)} tasks for {len(metrics_paths)} metrics files")
    rows = []
    for i, (path, run, task) in enumerate(zip(metrics_paths, runs, tasks)):
        require(len(run) == 2, source, f"runs[{i}]", f"expected [dataset, model], found {run!r}")
        require(task in TASKS, source, f"tasks[{i}]", f"expected one of {', '.join(TASKS)}, found {task!r}")
        rows.append({"dataset": run[0], "model": run[1], "task": task, **headline(read_metrics(path), task, Path(path))})
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return frame.astype({"n_test": "int64"})


def write_summary(
    metrics_paths: Sequence[str | PathLike[str]],
    runs: Sequence[Sequence[str]],
    tasks: Sequence[str],
    summary_path: str | PathLike[str],
) -> pd.DataFrame:
    frame = summarize(metrics_paths, runs, tasks)
    write_tsv(nan_as_text(frame), summary_path)
    logger.info("summarised %d runs into %s", len(frame), summary_path)
    return frame
