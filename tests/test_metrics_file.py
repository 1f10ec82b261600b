"""biodl.evaluation.metrics_file: metrics.tsv round trip (NaN kept as text), checked reading,
row lookups and the headline line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_metrics import S, Y, binary, evaluate

from biodl.core.errors import InputError
from biodl.evaluation.metrics_file import headline_text, metric_row, read_metrics, write_metrics


def test_metrics_file_round_trip_keeps_nan(tmp_path: Path) -> None:
    metrics = evaluate(binary(np.zeros(4), [0.1, 0.7, 0.2, 0.3]), validation=binary(Y, S), bootstrap=10)
    write_metrics(metrics, tmp_path / "metrics.tsv")
    text = (tmp_path / "metrics.tsv").read_text()
    assert text.splitlines()[0] == "metric\ttarget\tvalue\tci_low\tci_high"
    assert "auroc\tbound\tNaN\tNaN\tNaN\n" in text
    pd.testing.assert_frame_equal(read_metrics(tmp_path / "metrics.tsv"), metrics)
    (tmp_path / "bad.tsv").write_text("metric\ttarget\tvalue\nauroc\tbound\t0.5\n")
    with pytest.raises(InputError, match="missing column"):
        read_metrics(tmp_path / "bad.tsv")


def test_a_column_of_words_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.tsv"
    path.write_text("metric\ttarget\tvalue\tci_low\tci_high\nauroc\tbound\thigh\tNaN\tNaN\n")
    with pytest.raises(InputError, match=r"metrics.tsv, column value: expected numbers"):
        read_metrics(path)


def test_metric_row_reads_one_row_and_refuses_none_or_several() -> None:
    metrics = evaluate(binary(Y, S), bootstrap=50, seed=2)
    auroc, low, high = metric_row(metrics, "auroc", "bound", "run")
    row = metrics[(metrics["metric"] == "auroc") & (metrics["target"] == "bound")].iloc[0]
    assert (auroc, low, high) == (row["value"], row["ci_low"], row["ci_high"])
    with pytest.raises(InputError, match="run: expected one mse row for target bound, found 0"):
        metric_row(metrics, "mse", "bound", "run")
    doubled = pd.concat([metrics, metrics])
    with pytest.raises(InputError, match="expected one auroc row for target bound, found 2"):
        metric_row(doubled, "auroc", "bound", "run")


def test_headline_text_shows_intervals_only_where_computed() -> None:
    without = evaluate(binary(Y, S))
    text = headline_text(without, "binary", ("bound",))
    assert text.startswith(f"auroc {metric_row(without, 'auroc', 'bound', 'm')[0]:.3f}, auprc ")
    assert "[" not in text and text.count(",") == 3
    with_intervals = headline_text(evaluate(binary(Y, S), bootstrap=50, seed=1), "binary", ("bound",))
    assert with_intervals.count("[") == 4 and not np.isnan(float(with_intervals.split("[")[1].split(",")[0]))
