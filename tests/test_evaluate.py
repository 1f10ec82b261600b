"""biodl.evaluation.evaluate: the evaluate step from a prepared dataset and its predictions file."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from test_metrics import value

from biodl.config.settings import EvaluationSettings
from biodl.core.errors import InputError
from biodl.core.files import write_json, write_tsv
from biodl.data.dataset import load_labels, load_metadata, open_dataset
from biodl.evaluation.evaluate import evaluate_predictions, write_evaluation
from biodl.evaluation.metrics_file import read_metrics
from biodl.evaluation.predictions import Scores, predictions_frame

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLASSIFICATION_OUTPUTS = ("metrics", "confusion_table", "roc", "pr", "calibration", "confusion")
SETTINGS = EvaluationSettings(bootstrap=200, confidence=0.9, calibration_bins=5)


def _predict(dataset_dir: Path, seed: int = 0) -> Path:
    """predictions.tsv as the predict step writes it, with noisy scores that follow the labels."""
    dataset = open_dataset(dataset_dir)
    rng = np.random.default_rng(seed)
    frames = []
    for split in ("validation", "test"):
        y = load_labels(dataset, split).astype(np.float64)
        outputs = np.clip(0.4 * np.nan_to_num(y) + 0.6 * rng.random(y.shape), 0, 1)
        if dataset.task == "multiclass":
            outputs /= outputs.sum(axis=1, keepdims=True)
        frames.append(
            predictions_frame(
                load_metadata(dataset, split), Scores(dataset.task, dataset.targets, y, outputs)
            )
        )
    write_tsv(pd.concat(frames, ignore_index=True), dataset_dir / "predictions.tsv")
    return dataset_dir / "predictions.tsv"


def _outputs(folder: Path, names: tuple[str, ...]) -> dict[str, Path]:
    suffix = {"metrics": "metrics.tsv", "confusion_table": "confusion.tsv"}
    return {name: folder / suffix.get(name, f"{name}.png") for name in names}


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
def test_classification_runs_get_metrics_tables_and_figures(
    task: str, make_dataset: Callable[..., Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dataset_dir = make_dataset(task=task, sizes=(8, 40, 60))
    predictions = _predict(dataset_dir)
    with caplog.at_level(logging.INFO, logger="biodl.evaluation.evaluate"):
        evaluation = evaluate_predictions(dataset_dir, predictions, "cnn", SETTINGS, seed=5)
    outputs = _outputs(tmp_path / "out", CLASSIFICATION_OUTPUTS)
    write_evaluation(evaluation, outputs, SETTINGS)
    pd.testing.assert_frame_equal(read_metrics(outputs["metrics"]), evaluation.metrics)
    assert evaluation.test.n == 60 and evaluation.validation.n == 40
    assert f"cnn on fixture_{task}, 60 test examples (90% bootstrap interval): auroc " in caplog.text
    assert "[" in caplog.text.split("auroc ")[1].split(",")[0]  # the interval is logged
    confusion = pd.read_csv(outputs["confusion_table"], sep="\t")
    assert list(confusion.columns) == ["target", "true", "predicted", "count"]
    for name in CLASSIFICATION_OUTPUTS[2:]:
        assert outputs[name].read_bytes()[:8] == PNG_SIGNATURE, name


def test_the_threshold_is_chosen_on_the_validation_rows(make_dataset: Callable[..., Path]) -> None:
    dataset_dir = make_dataset(task="binary", sizes=(8, 40, 60))
    predictions = pd.read_csv(_predict(dataset_dir, seed=2), sep="\t")
    evaluation = evaluate_predictions(
        dataset_dir,
        dataset_dir / "predictions.tsv",
        "cnn",
        EvaluationSettings.from_config(bootstrap=0),
        seed=1,
    )
    validation = predictions[predictions["split"] == "validation"]
    precision, recall, thresholds = skm.precision_recall_curve(validation["y_true"], validation["y_score"])
    expected = thresholds[np.argmax((2 * precision * recall / (precision + recall))[:-1])]
    assert value(evaluation.metrics, "threshold_best", "bound") == pytest.approx(expected)


def _regression_dataset(root: Path, n_validation: int, n_test: int) -> Path:
    """A regression dataset.json (all the evaluate step reads of a prepared dataset)."""
    splits = {"train": {"n": 0, "shards": []}} | {
        s: {"n": n, "shards": [f"shards/{s}-00000"]}
        for s, n in (("validation", n_validation), ("test", n_test))
    }
    write_json(
        {
            "name": "expression",
            "modality": "table",
            "task": "regression",
            "classes": [],
            "targets": ["level", "stability"],
            "input_shape": [2],
            "feature_names": ["gc", "length"],
            "splits": splits,
            "seed": 3,
            "target_mean": [0.0, 0.0],
            "target_std": [1.0, 1.0],
        },
        root / "dataset.json",
    )
    return root


def test_regression_runs_get_metrics_and_a_scatter_plot(tmp_path: Path) -> None:
    dataset_dir = _regression_dataset(tmp_path / "expression", 10, 30)
    rng = np.random.default_rng(1)
    frames = []
    for split, n in (("validation", 10), ("test", 30)):
        observed = rng.normal(size=(n, 2))
        scores = Scores(
            "regression", ("level", "stability"), observed, observed + 0.3 * rng.normal(size=(n, 2))
        )
        frames.append(predictions_frame(pd.DataFrame({"split": [split] * n, "row": range(n)}), scores))
    write_tsv(pd.concat(frames), tmp_path / "predictions.tsv")
    evaluation = evaluate_predictions(dataset_dir, tmp_path / "predictions.tsv", "mlp", SETTINGS, seed=1)
    outputs = _outputs(tmp_path / "out", ("metrics", "scatter", "per_task"))
    write_evaluation(evaluation, outputs, SETTINGS)
    metrics = read_metrics(outputs["metrics"])
    assert {"mse", "mae", "pearson_r", "spearman_r", "r2"} <= set(metrics["metric"])
    assert (
        value(metrics, "r2", "macro", "ci_low")
        < value(metrics, "r2", "macro")
        < value(metrics, "r2", "macro", "ci_high")
    )
    assert outputs["scatter"].read_bytes()[:8] == PNG_SIGNATURE
    assert outputs["per_task"].read_bytes()[:8] == PNG_SIGNATURE
    with pytest.raises(
        InputError,
        match="evaluate outputs, roc: a regression task has no roc figure .its figures: scatter, per_task.",
    ):
        write_evaluation(evaluation, _outputs(tmp_path / "wrong", ("metrics", "roc")), SETTINGS)
    assert not (tmp_path / "wrong").exists()  # refused before anything was written


def test_a_single_class_test_split_is_evaluated_with_nan_written_out(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    dataset_dir = make_dataset(sizes=(8, 10, 1))
    evaluation = evaluate_predictions(dataset_dir, _predict(dataset_dir), "cnn", SETTINGS, seed=1)
    outputs = _outputs(tmp_path, CLASSIFICATION_OUTPUTS)
    write_evaluation(evaluation, outputs, SETTINGS)
    assert "auroc\tbound\tNaN\tNaN\tNaN\n" in outputs["metrics"].read_text()
    assert outputs["roc"].exists()


def test_unknown_outputs_and_bad_settings_are_refused(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    dataset_dir = make_dataset(sizes=(8, 10, 12))
    evaluation = evaluate_predictions(dataset_dir, _predict(dataset_dir), "cnn", SETTINGS, seed=1)
    with pytest.raises(InputError, match="evaluate outputs, training_curves: unknown output"):
        write_evaluation(
            evaluation, {"metrics": tmp_path / "m.tsv", "training_curves": tmp_path / "t.png"}, SETTINGS
        )
    with pytest.raises(InputError, match="evaluate outputs, scatter: a binary task has no scatter figure"):
        write_evaluation(evaluation, {"scatter": tmp_path / "s.png"}, SETTINGS)
    assert list(tmp_path.glob("*.png")) == [] and not (tmp_path / "m.tsv").exists()


def test_settings_default_and_are_checked() -> None:
    assert (
        EvaluationSettings.from_config(None)
        == EvaluationSettings.from_config({})
        == EvaluationSettings(1000, 0.95, 10)
    )
    assert EvaluationSettings.from_config({"bootstrap": 0, "confidence": 0.8}) == EvaluationSettings(
        0, 0.8, 10
    )
    for settings, message in (
        ({"bootstrap": -1}, "evaluation.bootstrap: -1 is less than the minimum of 0"),
        ({"bootstrap": 10.0}, "evaluation.bootstrap: expected an integer, found 10.0"),
        ({"confidence": 1.0}, "evaluation.confidence: 1.0 is greater than or equal to the maximum of 1"),
        ({"calibration_bins": 1}, "evaluation.calibration_bins: 1 is less than the minimum of 2"),
        ({"bins": 5}, "evaluation: unknown key 'bins'"),
    ):
        with pytest.raises(InputError, match=message):
            EvaluationSettings.from_config(settings)
