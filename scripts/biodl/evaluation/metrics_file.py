"""``metrics.tsv``: the metrics table written, read back, and looked up (no TensorFlow).

Contract:
- ``write_metrics(metrics, path)`` writes the table of ``biodl.evaluation.metrics.compute_metrics``
  (columns ``METRIC_COLUMNS``: metric, target, value, ci_low, ci_high) atomically; a missing
  number (undefined value, interval not computed) is spelled ``NaN`` (``nan_as_text``), never an
  empty cell. ``read_metrics(path)`` reads it back (the same frame) and raises ``InputError``
  naming the file for a missing column or a column that is not numbers.
- ``metric_row(metrics, metric, target, source)``: (value, ci_low, ci_high) of one row;
  ``InputError`` naming ``source`` unless there is exactly one.
- ``headline_text(metrics, task, targets)``: the headline metrics
  (``biodl.evaluation.metrics.headline_keys``) on one line for a log,
  ``auroc 0.912 [0.871, 0.948], ...`` (no brackets without an interval).
"""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from biodl.core.errors import require, require_file
from biodl.core.files import write_tsv
from biodl.evaluation.metrics import METRIC_COLUMNS, headline_keys


def nan_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with missing numbers spelled ``NaN`` (an empty cell would read as "absent")."""
    numeric = frame.select_dtypes("number").columns
    return frame.astype({c: object for c in numeric}).fillna({c: "NaN" for c in numeric})


def write_metrics(metrics: pd.DataFrame, path: str | PathLike[str]) -> None:
    write_tsv(nan_as_text(metrics[METRIC_COLUMNS]), path)


def read_metrics(path: str | PathLike[str]) -> pd.DataFrame:
    """A ``metrics.tsv`` as written by ``write_metrics``."""
    path = require_file(path, "metrics file")
    numbers = METRIC_COLUMNS[2:]
    frame = pd.read_csv(
        path,
        sep="\t",
        dtype={"metric": str, "target": str},
        keep_default_na=False,
        na_values={c: ["NaN", "nan"] for c in numbers},
    )
    missing = [c for c in METRIC_COLUMNS if c not in frame.columns]
    require(not missing, path, "header", f"missing column(s) {', '.join(missing)}")
    for column in numbers:
        require(
            pd.api.types.is_numeric_dtype(frame[column]),
            path,
            f"column {column}",
            "expected numbers (or NaN) in every row",
        )
    return frame


def metric_row(
    metrics: pd.DataFrame, metric: str, target: str, source: str | PathLike[str]
) -> tuple[float, float, float]:
    """(value, ci_low, ci_high) of one metric and target; ``InputError`` unless exactly one row."""
    found = metrics[(metrics["metric"] == metric) & (metrics["target"] == target)]
    require(
        len(found) == 1, source, None, f"expected one {metric} row for target {target}, found {len(found)}"
    )
    row = found.iloc[0]
    return float(row["value"]), float(row["ci_low"]), float(row["ci_high"])


def headline_text(metrics: pd.DataFrame, task: str, targets: tuple[str, ...]) -> str:
    """The headline metrics as one line: ``auroc 0.912 [0.871, 0.948], ...``."""
    parts = []
    for metric, target in headline_keys(task, targets):
        value, low, high = metric_row(metrics, metric, target, "metrics")
        interval = "" if np.isnan(low) else f" [{low:.3f}, {high:.3f}]"
        parts.append(f"{metric} {value:.3f}{interval}")
    return ", ".join(parts)
