"""biodl.evaluation.inference: a trained network's validation and test predictions, in the target's units."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from biodl.config.checks import validate_config
from biodl.config.datasets import dataset_settings
from biodl.config.models import check_model
from biodl.core.errors import InputError
from biodl.data.shards import TableFiles
from biodl.data.table.prepare import prepare_table
from biodl.evaluation.inference import predict_model
from biodl.training.loop import TrainingRun, train_model


def test_binary_predictions_cover_validation_then_test(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path
) -> None:
    train_model(
        TrainingRun(
            binary_dataset,
            check_model("tiny", tiny_config),
            1,
            tmp_path / "model.keras",
            tmp_path / "history.tsv",
        )
    )
    predictions = predict_model(binary_dataset, tmp_path / "model.keras", tmp_path / "predictions.tsv")
    assert predictions["split"].tolist() == ["validation"] * 48 + ["test"] * 40
    assert predictions["y_score"].between(0, 1).all()
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "predictions.tsv", sep="\t"), predictions, check_dtype=False
    )


def test_regression_predictions_are_in_the_target_units(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"dose": rng.uniform(0, 10, 300), "weight": rng.normal(70, 10, 300)})
    frame["response"] = 500 + 40 * frame["dose"] + rng.normal(0, 10, 300)  # far from 0 and 1: units matter
    frame.to_csv(tmp_path / "t.csv", index=False)
    spec = {
        "modality": "table",
        "path": str(tmp_path / "t.csv"),
        "label_columns": ["response"],
        "task": "regression",
    }
    spec = validate_config({"datasets": {"t": spec}, "models": {"m": {"kind": "mlp"}}})["datasets"]["t"]
    data = tmp_path / "prepared"
    prepare_table(dataset_settings("t", spec), 1, TableFiles.in_folder(data))
    model = {
        "kind": "mlp",
        "dense_layers": [{"units": 16}],
        "training": {"epochs": 60, "learning_rate": 0.01, "batch_size": 32, "patience": 10},
    }
    train_model(
        TrainingRun(data, check_model("m", model), 1, tmp_path / "model.keras", tmp_path / "history.tsv")
    )
    predictions = predict_model(data, tmp_path / "model.keras", tmp_path / "predictions.tsv")
    test = predictions[predictions["split"] == "test"]
    assert r2_score(test["true_response"], test["pred_response"]) > 0.9
    assert test["pred_response"].mean() == pytest.approx(test["true_response"].mean(), rel=0.05)


def test_a_model_for_other_data_is_refused(
    make_dataset: Callable[..., Path], tiny_config: dict, tmp_path: Path
) -> None:
    train_model(
        TrainingRun(
            make_dataset(task="binary"),
            check_model("tiny", tiny_config),
            1,
            tmp_path / "model.keras",
            tmp_path / "history.tsv",
        )
    )
    with pytest.raises(InputError, match="outputs of shape"):
        predict_model(make_dataset(task="multiclass"), tmp_path / "model.keras", tmp_path / "predictions.tsv")
    assert not (tmp_path / "predictions.tsv").exists()


def test_strand_averaging_is_the_mean_of_both_strands(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path
) -> None:
    import keras

    from biodl.data.dataset import open_dataset
    from biodl.training.batches import ShardBatches

    train_model(
        TrainingRun(
            binary_dataset,
            check_model("tiny", tiny_config),
            1,
            tmp_path / "model.keras",
            tmp_path / "history.tsv",
        )
    )
    single = predict_model(binary_dataset, tmp_path / "model.keras", tmp_path / "single.tsv")
    both = predict_model(
        binary_dataset, tmp_path / "model.keras", tmp_path / "both.tsv", average_strands=True
    )
    model = keras.models.load_model(tmp_path / "model.keras")
    x = ShardBatches(open_dataset(binary_dataset), "validation", 1000, labels=False)[0][0]
    expected = (model.predict(x, verbose=0) + model.predict(x[:, ::-1, ::-1], verbose=0))[:, 0] / 2
    np.testing.assert_allclose(both["y_score"][:48], expected, rtol=1e-5)
    assert not np.allclose(both["y_score"], single["y_score"])
    assert (
        both.drop(columns=["y_score", "y_pred"], errors="ignore").columns.tolist()
        == single.drop(columns=["y_score", "y_pred"], errors="ignore").columns.tolist()
    )
