"""biodl.summary: one headline row per run, from the runs' metrics files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biodl.evaluate import compute_metrics
from biodl.predictions import Scores
from biodl.io import write_tsv
from biodl.summary import summarize, write_summary
from biodl.validate import InputError
from test_evaluate import _value


def test_summary_takes_the_binary_target_row_or_the_macro_row(tmp_path: Path) -> None:
    binary = compute_metrics(Scores("binary", ("bound",), np.array([[0.0], [1.0], [1.0], [0.0]]), np.array([[0.2], [0.7], [0.4], [0.1]])))
    onehot = np.eye(3)[[0, 1, 2, 1]]
    multiclass = compute_metrics(Scores("multiclass", ("a", "b", "c"), onehot, 0.2 + 0.4 * onehot))
    write_tsv(binary, tmp_path / "binary.tsv")
    write_tsv(multiclass, tmp_path / "multiclass.tsv")
    paths = [tmp_path / "binary.tsv", tmp_path / "multiclass.tsv"]
    summary = write_summary(paths, [["peaks", "cnn"], ["classes", "deep"]], ["binary", "multiclass"], tmp_path / "summary.tsv")
    assert list(summary.columns) == ["dataset", "model", "task", "n_test", "auroc", "auprc", "f1", "accuracy"]
    assert summary["n_test"].tolist() == [4, 4]
    assert summary.loc[0, "auroc"] == pytest.approx(_value(binary, "auroc", "bound"))
    assert summary.loc[0, "accuracy"] == pytest.approx(0.75)
    assert summary.loc[1, "f1"] == pytest.approx(_value(multiclass, "f1", "macro"))
    assert summary.loc[1, "accuracy"] == 1.0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "summary.tsv", sep="\t"), summary)
    with pytest.raises(InputError, match="1 runs for 2 metrics files"):
        summarize(paths, [["peaks", "cnn"]], ["binary", "multiclass"])
    with pytest.raises(InputError, match="expected one auroc row for target macro"):
        summarize(paths[:1], [["peaks", "cnn"]], ["multiclass"])
