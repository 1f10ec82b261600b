"""biodl.evaluation.summary: one headline row per run, whatever the task, from the runs' metrics files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_metrics import value

from biodl.core.errors import InputError
from biodl.core.files import write_json
from biodl.evaluation.metrics import compute_metrics
from biodl.evaluation.metrics_file import write_metrics
from biodl.evaluation.predictions import Scores
from biodl.evaluation.summary import SUMMARY_COLUMNS, summarize, write_summary
from biodl.models.parameter_count import ParameterCount, write_parameters


def _run(tmp_path: Path, name: str, scores: Scores, bootstrap: int = 100) -> tuple[Path, Path, pd.DataFrame]:
    metrics = compute_metrics(scores, scores, seed=1, bootstrap=bootstrap, confidence=0.9)
    write_metrics(metrics, tmp_path / f"{name}.metrics.tsv")
    write_json({"task": scores.task, "targets": list(scores.targets)}, tmp_path / name / "dataset.json")
    return tmp_path / f"{name}.metrics.tsv", tmp_path / name / "dataset.json", metrics


def _runs(tmp_path: Path) -> tuple[list[Path], list[Path], list[pd.DataFrame]]:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 30)
    onehot = np.eye(3)[labels]
    observed = rng.normal(size=(25, 1))
    runs = [
        _run(
            tmp_path,
            "binary",
            Scores(
                "binary",
                ("bound",),
                (labels == 1)[:, None].astype(float),
                0.3 * (labels == 1)[:, None] + 0.6 * rng.random((30, 1)),
            ),
        ),
        # Only one class among the labels: auroc undefined, written as NaN.
        _run(tmp_path, "single", Scores("binary", ("bound",), np.zeros((30, 1)), rng.random((30, 1)))),
        _run(
            tmp_path,
            "multiclass",
            Scores("multiclass", ("a", "b", "c"), onehot, 0.1 + 0.3 * onehot + 0.5 * rng.random((30, 3))),
        ),
        _run(
            tmp_path,
            "regression",
            Scores("regression", ("expr",), observed, observed + rng.normal(size=(25, 1))),
            bootstrap=0,
        ),
    ]
    return [r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs]


RUNS = [["peaks", "cnn"], ["rare", "cnn"], ["classes", "logistic"], ["expression", "mlp"]]
KINDS = ["cnn1d", "cnn1d", "baseline", "mlp"]
# The runs' parameter counts: the third not counted (as gradient boosting's).
COUNTS = [
    ParameterCount(3553, 3489, "keras"),
    ParameterCount(3553, 3553, "keras"),
    ParameterCount(None, None, "not counted: trees"),
    ParameterCount(881, 881, "keras"),
]


def _parameter_paths(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / f"run{i}" / "parameters.tsv" for i in range(len(COUNTS))]
    for count, path in zip(COUNTS, paths, strict=True):
        write_parameters(count, path)
    return paths


def test_summary_has_one_row_per_run_with_its_headline_metrics_and_intervals(tmp_path: Path) -> None:
    metrics_paths, dataset_paths, metrics = _runs(tmp_path)
    summary = summarize(metrics_paths, dataset_paths, RUNS, KINDS)
    assert (
        list(summary.columns)
        == SUMMARY_COLUMNS
        == [
            "dataset",
            "model",
            "kind",
            "role",
            "member_of",
            "task",
            "n_test",
            "parameters",
            "trainable_parameters",
            "auroc",
            "auroc_ci_low",
            "auroc_ci_high",
            "auprc",
            "auprc_ci_low",
            "auprc_ci_high",
            "f1",
            "f1_ci_low",
            "f1_ci_high",
            "accuracy",
            "accuracy_ci_low",
            "accuracy_ci_high",
            "mse",
            "mse_ci_low",
            "mse_ci_high",
            "mae",
            "mae_ci_low",
            "mae_ci_high",
            "pearson_r",
            "pearson_r_ci_low",
            "pearson_r_ci_high",
            "r2",
            "r2_ci_low",
            "r2_ci_high",
            "n_targets",
            "auroc_micro",
            "auprc_micro",
        ]
    )
    assert summary["role"].tolist() == ["model"] * 4 and summary["member_of"].tolist() == [""] * 4
    assert summary["kind"].tolist() == KINDS and summary["task"].tolist() == [
        "binary",
        "binary",
        "multiclass",
        "regression",
    ]
    assert summary["n_test"].tolist() == [30, 30, 30, 25]
    binary, _, multiclass, regression = metrics
    assert summary.loc[0, "auroc"] == value(binary, "auroc", "bound")
    assert summary.loc[0, "f1_ci_low"] == value(binary, "f1", "bound", "ci_low")
    assert summary.loc[2, "f1"] == value(multiclass, "f1", "macro")
    assert summary.loc[2, "accuracy"] == value(multiclass, "accuracy", "all")  # top-1
    assert summary.loc[2, "accuracy_ci_high"] == value(multiclass, "accuracy", "all", "ci_high")
    assert summary.loc[3, "r2"] == value(regression, "r2", "expr")
    # Several classes: the micro averages beside the macro headline; none for one target.
    assert summary["n_targets"].tolist() == [1, 1, 3, 1]
    assert summary.loc[2, "auroc_micro"] == value(multiclass, "auroc", "micro")
    assert summary.loc[2, "auprc_micro"] == value(multiclass, "auprc", "micro")
    assert summary.loc[2, "auroc_micro"] != summary.loc[2, "auroc"]
    assert summary[["auroc_micro", "auprc_micro"]].drop(index=2).isna().all().all()
    assert (
        np.isnan(summary.loc[1, "auroc"])
        and np.isnan(summary.loc[3, "auroc"])
        and np.isnan(summary.loc[0, "mse"])
    )


def test_each_run_has_its_parameter_count_and_none_where_not_counted(tmp_path: Path) -> None:
    metrics_paths, dataset_paths, _ = _runs(tmp_path)
    parameters = _parameter_paths(tmp_path)
    summary = summarize(metrics_paths, dataset_paths, RUNS, KINDS, parameters_paths=parameters)
    assert summary["parameters"].tolist() == [3553, 3553, pd.NA, 881]
    assert summary["trainable_parameters"].tolist() == [3489, 3553, pd.NA, 881]
    # Without parameter files (a summary of metrics alone) the columns are empty.
    alone = summarize(metrics_paths, dataset_paths, RUNS, KINDS)
    assert alone["parameters"].isna().all() and alone["trainable_parameters"].isna().all()
    with pytest.raises(InputError, match="3 parameter counts for 4 metrics files"):
        summarize(metrics_paths, dataset_paths, RUNS, KINDS, parameters_paths=parameters[:3])
    (tmp_path / "run0" / "parameters.tsv").write_text(
        "parameters\ttrainable_parameters\tcounted\n3.5\t3\tx\n"
    )
    with pytest.raises(InputError, match="parameters: expected a whole number >= 0"):
        summarize(metrics_paths, dataset_paths, RUNS, KINDS, parameters_paths=parameters)


def test_summary_file_tells_not_applicable_from_undefined(tmp_path: Path) -> None:
    metrics_paths, dataset_paths, _ = _runs(tmp_path)
    summary = summarize(
        metrics_paths, dataset_paths, RUNS, KINDS, parameters_paths=_parameter_paths(tmp_path)
    )
    write_summary(summary, tmp_path / "summary.tsv")
    text = pd.read_csv(tmp_path / "summary.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert text.loc[1, "auroc"] == "NaN"  # applies, undefined: one class only
    assert (
        text.loc[1, "mse"] == "" and text.loc[3, "auroc"] == "" and text.loc[3, "auroc_ci_low"] == ""
    )  # does not apply
    assert text.loc[3, "r2_ci_low"] == "NaN"  # applies, no interval: bootstrap 0
    assert text.loc[0, "auroc_micro"] == "" and float(text.loc[2, "auroc_micro"]) > 0.5
    assert float(text.loc[0, "auroc"]) == summary.loc[0, "auroc"]
    assert text["parameters"].tolist() == ["3553", "3553", "", "881"]  # empty: not counted
    pd.testing.assert_frame_equal(
        pd.read_csv(
            tmp_path / "summary.tsv",
            sep="\t",
            keep_default_na=False,
            na_values=["NaN", ""],
            dtype={"member_of": str, "parameters": "Int64", "trainable_parameters": "Int64"},
        ).fillna({"member_of": ""}),
        summary,
    )


def test_inconsistent_inputs_are_refused(tmp_path: Path) -> None:
    metrics_paths, dataset_paths, _ = _runs(tmp_path)
    with pytest.raises(InputError, match="summary inputs, kinds: 3 kinds for 4 metrics files"):
        summarize(metrics_paths, dataset_paths, RUNS, KINDS[:3])
    with pytest.raises(InputError, match="expected one auroc row for target bound, found 0"):
        summarize(metrics_paths[2:3], dataset_paths[:1], RUNS[:1], KINDS[:1])
    write_json({"task": "binary", "targets": "bound"}, tmp_path / "bad" / "dataset.json")
    with pytest.raises(InputError, match="targets: expected a non-empty list of names"):
        summarize(metrics_paths[:1], [tmp_path / "bad" / "dataset.json"], RUNS[:1], KINDS[:1])


def test_ensemble_members_are_listed_beside_their_ensemble(tmp_path: Path) -> None:
    metrics_paths, dataset_paths, _ = _runs(tmp_path)
    runs = [["peaks", "cnn.seed1"], ["peaks", "cnn.seed2"], ["peaks", "cnn"], ["expression", "mlp"]]
    paths = [metrics_paths[0], metrics_paths[0], metrics_paths[0], metrics_paths[3]]
    datasets = [dataset_paths[0], dataset_paths[0], dataset_paths[0], dataset_paths[3]]
    summary = summarize(
        paths,
        datasets,
        runs,
        ["cnn1d"] * 3 + ["mlp"],
        ["member", "member", "ensemble", "search"],
        ["cnn", "cnn", "", ""],
    )
    assert summary["role"].tolist() == ["member", "member", "ensemble", "search"]
    assert summary["member_of"].tolist() == ["cnn", "cnn", "", ""]
    write_summary(summary, tmp_path / "summary.tsv")
    text = pd.read_csv(tmp_path / "summary.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert text["member_of"].tolist() == ["cnn", "cnn", "", ""] and text["role"].tolist()[2] == "ensemble"
    with pytest.raises(InputError, match="3 roles for 4 metrics files"):
        summarize(paths, datasets, runs, ["cnn1d"] * 4, ["member"] * 3, [""] * 4)
