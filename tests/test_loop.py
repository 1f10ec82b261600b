"""biodl.training.loop: reproducible training, early stopping, the files and log lines it writes."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import yaml

from biodl.config.models import check_model
from biodl.core.errors import InputError
from biodl.core.files import load_npy, save_npy
from biodl.data.dataset import open_dataset
from biodl.evaluation.inference import predict_model
from biodl.models.parameter_count import read_parameters
from biodl.training.batches import ShardBatches
from biodl.training.initial_loss import read_initial_loss
from biodl.training.loop import TrainingRun, train_model


def _train(dataset: Path, out: Path, config: dict, seed: int = 1) -> pd.DataFrame:
    return train_model(
        TrainingRun(
            dataset, check_model("tiny", config), seed, out / "model.keras", out / "history.tsv", threads=1
        )
    )


def test_same_config_and_seed_give_identical_history_and_weights(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path
) -> None:
    _train(binary_dataset, tmp_path / "a", tiny_config)
    _train(binary_dataset, tmp_path / "b", tiny_config)
    _train(binary_dataset, tmp_path / "c", tiny_config, seed=2)
    histories = {run: (tmp_path / run / "history.tsv").read_bytes() for run in "abc"}
    weights = {run: keras.models.load_model(tmp_path / run / "model.keras").get_weights() for run in "abc"}
    assert histories["a"] == histories["b"]
    assert all(np.array_equal(x, y) for x, y in zip(weights["a"], weights["b"], strict=True))
    for run in "ab":
        predict_model(binary_dataset, tmp_path / run / "model.keras", tmp_path / run / "predictions.tsv")
    assert (tmp_path / "a/predictions.tsv").read_bytes() == (tmp_path / "b/predictions.tsv").read_bytes()
    assert histories["a"] != histories["c"]
    assert not all(np.array_equal(x, y) for x, y in zip(weights["a"], weights["c"], strict=True))


def test_history_and_model_files(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "run"
    run = TrainingRun(
        binary_dataset,
        check_model("tiny", tiny_config),
        1,
        out / "model.keras",
        out / "history.tsv",
        initial_loss_path=out / "initial_loss.tsv",
        parameters_path=out / "parameters.tsv",
    )
    with caplog.at_level(logging.INFO, logger="biodl.training"):
        frame = train_model(run)
    history = pd.read_csv(out / "history.tsv", sep="\t")
    assert list(history.columns) == [
        "epoch",
        "loss",
        "val_loss",
        "auroc",
        "val_auroc",
        "auprc",
        "val_auprc",
        "accuracy",
        "val_accuracy",
        "learning_rate",
        "gradient_norm",
        "update_ratio/conv1",
        "update_ratio/dense1",
        "update_ratio/output",
        "best",
    ]
    assert history["epoch"].tolist() == [1, 2, 3]
    ratios = history.filter(like="update_ratio/")
    assert ((ratios > 1e-6) & (ratios < 1)).all().all()
    assert history["best"].sum() == 1
    pd.testing.assert_frame_equal(history, frame, check_exact=False)
    # no temporary files left
    assert sorted(p.name for p in out.iterdir()) == [
        "history.tsv",
        "initial_loss.tsv",
        "model.keras",
        "parameters.tsv",
    ]
    initial = read_initial_loss(out / "initial_loss.tsv")
    # The fixture's training split is balanced; the first 160 examples are all of it.
    assert initial.examples == 160 and initial.chance == pytest.approx(np.log(2), rel=1e-4)
    assert 0.5 < initial.ratio < 2 and initial.loss != initial.chance
    initial_lines = [r.getMessage() for r in caplog.records if "initial loss" in r.getMessage()]
    assert initial_lines == [
        f"[{open_dataset(binary_dataset).name}/tiny] initial loss {initial.loss:.4g} "
        "(chance 0.6931, 160 training examples)"
    ]
    model = keras.models.load_model(out / "model.keras", safe_mode=True)
    assert model.output_shape == (None, 1)
    # conv1 (8 filters of 8 x 4 bases, biases), dense1 (8 units), the output: all trainable.
    count = read_parameters(out / "parameters.tsv")
    assert count.total == count.trainable == model.count_params() > 8 * 8 * 4 + 8 + 8 + 1
    assert f"tiny: {count.total:,} parameters ({count.total:,} trainable)" in caplog.text
    epoch_lines = [r.getMessage() for r in caplog.records if "] epoch " in r.getMessage()]
    assert len(epoch_lines) == 3
    name = open_dataset(binary_dataset).name
    assert (
        epoch_lines[0].startswith(f"[{name}/tiny] epoch 1/3: loss ")
        and "val_loss" in epoch_lines[0]
        and "val_auroc" in epoch_lines[0]
    )
    assert " s; at most " in epoch_lines[0]
    assert ", update/weight " in epoch_lines[0] and "(median of 3 kernels, " in epoch_lines[0]
    assert "update_ratio/" not in epoch_lines[0]


def test_early_stopping_keeps_the_best_weights(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path
) -> None:
    # Flipped validation labels: the better the model learns, the worse val_loss gets.
    dataset = open_dataset(binary_dataset)
    for shard in dataset.split("validation").shards:
        path = binary_dataset / f"{shard}.y.npy"
        save_npy(1.0 - load_npy(path), path)
    config = {
        **tiny_config,
        "training": {**tiny_config["training"], "epochs": 12, "patience": 2, "learning_rate": 0.02},
    }
    history = _train(binary_dataset, tmp_path, config)

    best = int(history["val_loss"].idxmin())
    assert len(history) < 12, "training should have stopped early"
    assert len(history) == best + 1 + 2  # patience epochs without improvement after the best
    assert history["best"].tolist() == [i == best for i in range(len(history))]
    model = keras.models.load_model(tmp_path / "model.keras")  # saved uncompiled (biodl.models.export)
    model.compile(loss="binary_crossentropy")
    loss = model.evaluate(ShardBatches(dataset, "validation", 32), verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(history["val_loss"][best], rel=1e-5)
    assert loss != pytest.approx(history["val_loss"].iloc[-1], rel=1e-3)


def test_bad_inputs_are_refused_before_training(
    make_dataset: Callable[..., Path], tiny_config: dict, tmp_path: Path
) -> None:
    empty_validation = make_dataset(sizes=(40, 0, 10))
    with pytest.raises(InputError, match="at least one example"):
        _train(empty_validation, tmp_path, tiny_config)
    with pytest.raises(InputError, match="seed"):
        _train(make_dataset(), tmp_path, tiny_config, seed=-1)
    assert not (tmp_path / "model.keras").exists()


def test_missing_multilabel_labels_leave_training_finite(
    make_dataset: Callable[..., Path], tiny_config: dict, tmp_path: Path
) -> None:
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


def test_max_norm_bounds_every_unit_after_training(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path
) -> None:
    config = {**tiny_config, "max_norm": 0.3, "training": {**tiny_config["training"], "learning_rate": 0.1}}
    _train(binary_dataset, tmp_path, config)
    model = keras.models.load_model(tmp_path / "model.keras")
    conv, dense = model.get_layer("conv1").kernel.numpy(), model.get_layer("dense1").kernel.numpy()
    conv_norms, dense_norms = np.sqrt((conv**2).sum(axis=(0, 1))), np.sqrt((dense**2).sum(axis=0))
    assert conv_norms.shape == (8,) and dense_norms.shape == (8,)
    assert conv_norms.max() <= 0.3 + 1e-5 and dense_norms.max() <= 0.3 + 1e-5
    assert conv_norms.max() > 0.29  # the constraint was active, not merely satisfied


def test_early_stopping_follows_the_monitored_metric(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path
) -> None:
    config = {
        **tiny_config,
        "training": {**tiny_config["training"], "epochs": 4, "monitor": "val_auroc", "patience": 4},
    }
    history = _train(binary_dataset, tmp_path, config)
    assert history["best"].tolist() == [i == int(history["val_auroc"].idxmax()) for i in range(4)]
    with pytest.raises(
        InputError, match="training.monitor: fixture_binary is a binary task; expected one of"
    ):
        _train(
            binary_dataset,
            tmp_path,
            {**tiny_config, "training": {**tiny_config["training"], "monitor": "val_mae"}},
        )


def test_fine_tuning_keeps_frozen_layers_and_trains_the_rest(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _train(binary_dataset, tmp_path / "source", tiny_config)
    source = keras.models.load_model(tmp_path / "source/model.keras")
    config = {
        **tiny_config,
        "init_from": {"dataset": "fixture_binary", "model": "source"},
        "freeze_layers": 1,
        "fine_tune_learning_rate": 0.05,
        "training": {**tiny_config["training"], "epochs": 2},
    }
    with caplog.at_level(logging.INFO, logger="biodl.training"):
        history = train_model(
            TrainingRun(
                binary_dataset,
                check_model("tuned", config),
                9,
                tmp_path / "tuned/model.keras",
                tmp_path / "tuned/history.tsv",
                init_model=tmp_path / "source/model.keras",
                parameters_path=tmp_path / "tuned/parameters.tsv",
            )
        )
    tuned = keras.models.load_model(tmp_path / "tuned/model.keras")
    for weight, before in zip(
        tuned.get_layer("conv1").get_weights(), source.get_layer("conv1").get_weights(), strict=True
    ):
        np.testing.assert_array_equal(weight, before)  # frozen
    for name in ("dense1", "output"):
        assert not np.array_equal(
            tuned.get_layer(name).get_weights()[0], source.get_layer(name).get_weights()[0]
        )  # fine-tuned
    assert history["learning_rate"].tolist() == pytest.approx([0.05, 0.05])
    assert "frozen: conv1" in caplog.text and "copied conv1, dense1, output" in caplog.text
    # The frozen layer's weights count, but not as trainable.
    count = read_parameters(tmp_path / "tuned/parameters.tsv")
    assert (count.total, count.trainable) == (tuned.count_params(), tuned.count_params() - (8 * 8 * 4 + 8))


def test_incompatible_start_weights_and_transfer_keys_without_a_source_are_refused(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path
) -> None:
    _train(binary_dataset, tmp_path / "source", tiny_config)
    wider = {**tiny_config, "conv_layers": [{"filters": 16, "kernel_size": 8, "pool_size": 4}]}
    with pytest.raises(
        InputError, match=r"layer conv1: weights of shapes .* cannot start model tiny's layer conv1"
    ):
        _train_from(binary_dataset, tmp_path, wider, tmp_path / "source/model.keras")
    with pytest.raises(
        InputError, match="freeze_layers: applies to a model started from another run's weights"
    ):
        _train(binary_dataset, tmp_path, {**tiny_config, "freeze_layers": 1})
    with pytest.raises(
        InputError, match="init_from: a model started from another run's weights names that run"
    ):
        _train(binary_dataset, tmp_path, {**tiny_config, "init_from": {"dataset": "d", "model": "m"}})


def _train_from(dataset: Path, out: Path, config: dict, source: Path) -> pd.DataFrame:
    config = {**config, "init_from": {"dataset": "fixture_binary", "model": "source"}}
    return train_model(
        TrainingRun(
            dataset,
            check_model("tiny", config),
            1,
            out / "model.keras",
            out / "history.tsv",
            init_model=source,
        )
    )


def test_mixed_precision_and_distribution_switches_train_on_the_cpu(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = {
        **tiny_config,
        "training": {**tiny_config["training"], "epochs": 1, "mixed_precision": True, "distribute": True},
    }
    with caplog.at_level(logging.INFO, logger="biodl.training"):
        history = _train(binary_dataset, tmp_path, config)
    assert np.isfinite(history[["loss", "val_loss", "gradient_norm"]].to_numpy()).all()
    assert "tiny: training on the CPU, mixed precision on" in caplog.text
    # Convolution (8 filters of 8 x 4 + biases), dense 8, one output: 264 + 72 + 9 = 345 parameters.
    assert "tiny: 345 parameters (345 trainable)" in caplog.text
    assert keras.config.dtype_policy().name == "float32"  # restored for whatever runs next
    model = keras.models.load_model(tmp_path / "model.keras")
    assert model.get_layer("conv1").compute_dtype == "float32"  # saved for full-precision prediction anywhere


def test_init_from_links_the_two_runs_in_the_workflow(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "config/config.yaml").read_text())
    config["models"]["tuned"] = {
        **config["models"]["cnn_motif"],
        "init_from": {"dataset": "ctcf", "model": "cnn_motif"},
        "freeze_layers": 1,
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))

    def dry_run(*target: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                str(Path(sys.executable).parent / "snakemake"),
                *target,
                "-n",
                "--forceall",
                "--configfile",
                str(tmp_path / "config.yaml"),
            ],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
        )

    run = dry_run("results/models/yeast_promoters/tuned/model.keras")
    assert run.returncode == 0, run.stderr[-2000:]
    assert (
        "results/models/ctcf/cnn_motif/model.keras" in run.stdout
        and "results/models/yeast_promoters/tuned/model.keras" in run.stdout
    )
    config["models"]["tuned"]["init_from"]["dataset"] = "ctfc"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    run = dry_run("results/models/yeast_promoters/tuned/model.keras")
    assert (
        run.returncode != 0
        and "models.tuned.init_from.dataset: unknown dataset 'ctfc'" in run.stdout + run.stderr
    )


def test_a_run_that_asks_for_a_gpu_fails_before_training_without_one(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path
) -> None:
    # The test machines have no GPU (and tensorflow-cpu): device gpu must stop at once, not train on the CPU.
    config = {**tiny_config, "training": {**tiny_config["training"], "device": "gpu"}}
    with pytest.raises(InputError, match="model tiny, training.device: gpu asked, but"):
        _train(binary_dataset, tmp_path, config)
    assert not (tmp_path / "model.keras").exists() and not (tmp_path / "history.tsv").exists()


def test_mirroring_over_gpus_that_device_cpu_hides_is_refused(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path
) -> None:
    config = {**tiny_config, "training": {**tiny_config["training"], "device": "cpu", "distribute": True}}
    with pytest.raises(InputError, match="model tiny, training.distribute: mirrors the model over GPUs"):
        _train(binary_dataset, tmp_path, config)
