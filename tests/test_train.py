"""biodl.train: reproducible training, early stopping, the files and log lines it writes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from biodl.dataset import ShardBatches, open_dataset
from biodl.io import load_npy, save_npy
from biodl.train import train_model
from biodl.validate import InputError


def _train(dataset: Path, out: Path, config: dict, seed: int = 1) -> pd.DataFrame:
    return train_model(dataset, "tiny", config, seed, out / "model.keras", out / "history.tsv", threads=1)


def test_same_config_and_seed_give_identical_history_and_weights(binary_dataset: Path, tiny_config: dict, tmp_path: Path) -> None:
    _train(binary_dataset, tmp_path / "a", tiny_config)
    _train(binary_dataset, tmp_path / "b", tiny_config)
    _train(binary_dataset, tmp_path / "c", tiny_config, seed=2)
    histories = {run: (tmp_path / run / "history.tsv").read_bytes() for run in "abc"}
    weights = {run: keras.models.load_model(tmp_path / run / "model.keras").get_weights() for run in "abc"}
    assert histories["a"] == histories["b"]
    assert all(np.array_equal(x, y) for x, y in zip(weights["a"], weights["b"]))
    assert histories["a"] != histories["c"]
    assert not all(np.array_equal(x, y) for x, y in zip(weights["a"], weights["c"]))


def test_history_and_model_files(binary_dataset: Path, tiny_config: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "run"
    with caplog.at_level(logging.INFO, logger="biodl.train"):
        frame = _train(binary_dataset, out, tiny_config)
    history = pd.read_csv(out / "history.tsv", sep="\t")
    assert list(history.columns) == ["epoch", "loss", "val_loss", "auroc", "val_auroc", "auprc", "val_auprc", "accuracy", "val_accuracy", "best"]
    assert history["epoch"].tolist() == [1, 2, 3]
    assert history["best"].sum() == 1
    pd.testing.assert_frame_equal(history, frame, check_exact=False)
    assert sorted(p.name for p in out.iterdir()) == ["history.tsv", "model.keras"]  # no temporary files left
    model = keras.models.load_model(out / "model.keras", safe_mode=True)
    assert model.output_shape == (None, 1)
    epoch_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch ")]
    assert len(epoch_lines) == 3
    assert epoch_lines[0].startswith("epoch 1/3: loss ") and "val_loss" in epoch_lines[0] and "val_auroc" in epoch_lines[0]
    assert " s; at most " in epoch_lines[0]


def test_early_stopping_keeps_the_best_weights(binary_dataset: Path, tiny_config: dict, tmp_path: Path) -> None:
    # Flipped validation labels: the better the model learns, the worse val_loss gets.
    dataset = open_dataset(binary_dataset)
    for shard in dataset.split("validation").shards:
        path = binary_dataset / f"{shard}.y.npy"
        save_npy(1.0 - load_npy(path), path)
    config = {**tiny_config, "training": {**tiny_config["training"], "epochs": 12, "patience": 2, "learning_rate": 0.02}}
    history = _train(binary_dataset, tmp_path, config)

    best = int(history["val_loss"].idxmin())
    assert len(history) < 12, "training should have stopped early"
    assert len(history) == best + 1 + 2  # patience epochs without improvement after the best
    assert history["best"].tolist() == [i == best for i in range(len(history))]
    model = keras.models.load_model(tmp_path / "model.keras")
    loss = model.evaluate(ShardBatches(dataset, "validation", 32), verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(history["val_loss"][best], rel=1e-5)
    assert loss != pytest.approx(history["val_loss"].iloc[-1], rel=1e-3)


def test_bad_inputs_are_refused_before_training(make_dataset: Callable[..., Path], tiny_config: dict, tmp_path: Path) -> None:
    empty_validation = make_dataset(sizes=(40, 0, 10))
    with pytest.raises(InputError, match="at least one example"):
        _train(empty_validation, tmp_path, tiny_config)
    with pytest.raises(InputError, match="seed"):
        _train(make_dataset(), tmp_path, tiny_config, seed=-1)
    assert not (tmp_path / "model.keras").exists()


def test_missing_multilabel_labels_leave_training_finite(make_dataset: Callable[..., Path], tiny_config: dict, tmp_path: Path) -> None:
    root = make_dataset(task="multilabel")
    for split in ("train", "validation"):
        for shard in open_dataset(root).split(split).shards:
            y = load_npy(root / f"{shard}.y.npy").copy()
            y[::3, 0] = np.nan  # a third of the first label unknown
            save_npy(y, root / f"{shard}.y.npy")
    history = _train(root, tmp_path, tiny_config)
    assert np.isfinite(history.drop(columns=["epoch", "best"]).to_numpy(dtype=float)).all()
    model = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    assert model.output_shape == (None, 2)
