"""biodl.models.optimization: optimisers, schedules, clipping, class weights and the gradient norm
reach training."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from biodl.config.models import Training, check_model
from biodl.core.errors import InputError
from biodl.core.files import RunFolder, load_npy, save_npy
from biodl.data.dataset import load_labels, open_dataset
from biodl.models.optimization import LearningRateController, class_weights, schedule_rates
from biodl.training.batches import ShardBatches
from biodl.training.loop import TrainingRun, compile_network, configure_tensorflow, train_model

# Per optimiser: settings given, and what its Keras config must then hold.
OPTIMIZERS = {
    "sgd": ({"momentum": 0.9, "nesterov": True}, keras.optimizers.SGD, {"momentum": 0.9, "nesterov": True}),
    "rmsprop": (
        {"rho": 0.8, "momentum": 0.5, "epsilon": 1e-6},
        keras.optimizers.RMSprop,
        {"rho": 0.8, "momentum": 0.5, "epsilon": 1e-6},
    ),
    "adam": (
        {"beta_1": 0.85, "beta_2": 0.99, "epsilon": 1e-5},
        keras.optimizers.Adam,
        {"beta_1": 0.85, "beta_2": 0.99, "epsilon": 1e-5},
    ),
    "adamw": (
        {"weight_decay": 0.01, "beta_1": 0.8},
        keras.optimizers.AdamW,
        {"weight_decay": 0.01, "beta_1": 0.8},
    ),
    "adagrad": ({"epsilon": 1e-4}, keras.optimizers.Adagrad, {"epsilon": 1e-4}),
    "adadelta": ({"rho": 0.9}, keras.optimizers.Adadelta, {"rho": 0.9}),
    "adamax": (
        {"beta_2": 0.95, "weight_decay": 0.001},
        keras.optimizers.Adamax,
        {"beta_2": 0.95, "weight_decay": 0.001},
    ),
    "nadam": ({"beta_1": 0.95}, keras.optimizers.Nadam, {"beta_1": 0.95}),
}


def _with_training(config: dict, **training: object) -> dict:
    return {**config, "training": {**config["training"], **training}}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimiser_and_its_parameters_reach_the_compiled_model(
    name: str, binary_dataset: Path, tiny_config: dict
) -> None:
    settings, cls, expected = OPTIMIZERS[name]
    config = check_model(
        "tiny",
        _with_training(tiny_config, optimizer=name, learning_rate=0.02, global_clip_norm=2.0, **settings),
    )
    configure_tensorflow(1, 1)
    _, trainer = compile_network(config, open_dataset(binary_dataset))
    optimizer = trainer.optimizer
    assert type(optimizer) is cls
    got = optimizer.get_config()
    assert got["learning_rate"] == pytest.approx(0.02)
    assert got["global_clipnorm"] == 2.0 and got["clipnorm"] is None and got["clipvalue"] is None
    for key, value in expected.items():
        assert got[key] == pytest.approx(value), key


def test_defaults_keep_keras_defaults(binary_dataset: Path, tiny_config: dict) -> None:
    configure_tensorflow(1, 1)
    _, trainer = compile_network(check_model("tiny", tiny_config), open_dataset(binary_dataset))
    assert trainer.optimizer.get_config() == keras.optimizers.Adam(learning_rate=0.01).get_config() | {
        "name": trainer.optimizer.name
    }


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"optimizer": "adam", "momentum": 0.9}, "training.momentum: the adam optimiser takes no momentum"),
        (
            {"optimizer": "adagrad", "nesterov": True},
            "training.nesterov: the adagrad optimiser takes no nesterov",
        ),
        (
            {"clip_norm": 1.0, "clip_value": 0.5},
            "set at most one of clip_norm, clip_value and global_clip_norm, found clip_norm, clip_value",
        ),
    ],
)
def test_settings_an_optimiser_cannot_use_are_refused(
    settings: dict, message: str, binary_dataset: Path, tiny_config: dict
) -> None:
    config = check_model("tiny", _with_training(tiny_config, **settings))
    with pytest.raises(InputError, match=message):
        compile_network(config, open_dataset(binary_dataset))


def _training(**settings: object) -> Training:
    return check_model("m", {"kind": "mlp", "training": settings}).training


def test_epoch_schedules_give_the_expected_rates() -> None:
    assert schedule_rates(_training(), 3, 0.1) == [0.1, 0.1, 0.1]
    step = schedule_rates(_training(schedule={"kind": "step", "step_epochs": 2, "factor": 0.5}), 5, 0.1)
    assert step == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    exponential = schedule_rates(_training(schedule={"kind": "exponential", "factor": 0.9}), 4, 1.0)
    assert exponential == pytest.approx([1.0, 0.9, 0.81, 0.729])
    cosine = schedule_rates(_training(schedule={"kind": "cosine", "min_learning_rate": 0.01}), 4, 0.11)
    assert cosine == pytest.approx(
        [0.11, 0.01 + 0.05 * (1 + math.cos(math.pi / 4)), 0.06, 0.01 + 0.05 * (1 - math.cos(math.pi / 4))]
    )
    short = schedule_rates(_training(schedule={"kind": "cosine", "decay_epochs": 2}), 4, 0.1)
    assert short == pytest.approx([0.1, 0.05, 0.0, 0.0])  # the minimum after decay_epochs
    warm = schedule_rates(
        _training(warmup_epochs=3, schedule={"kind": "step", "step_epochs": 1, "factor": 0.5}), 6, 0.3
    )
    assert warm == pytest.approx([0.1, 0.2, 0.3, 0.3, 0.15, 0.075])  # the schedule starts after the warm-up


def test_plateau_lowers_the_rate_after_patience_epochs_without_improvement() -> None:
    training = _training(
        learning_rate=0.1,
        schedule={"kind": "plateau", "patience": 2, "factor": 0.5, "min_learning_rate": 0.03},
    )
    controller = LearningRateController(training, 8, 0.1, "val_loss")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    controller.set_model(model)
    rates = []
    for epoch, val_loss in enumerate([1.0, 0.9, 0.95, 0.92, 0.91, 0.85, 0.9, 0.9]):
        controller.on_epoch_begin(epoch)
        logs = {"val_loss": val_loss}
        controller.on_epoch_end(epoch, logs)
        rates.append(logs["learning_rate"])
    # Two epochs above the best 0.9 → halved; 0.85 improves; two more without → halved, floored at 0.03.
    assert rates == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05])
    assert controller.state() == {"current": pytest.approx(0.03), "best": 0.85, "wait": 0}


def test_history_records_the_rates_used_and_the_gradient_norm(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path
) -> None:
    config = _with_training(
        tiny_config, epochs=4, patience=10, warmup_epochs=2, schedule={"kind": "exponential", "factor": 0.5}
    )
    history = train_model(
        TrainingRun(
            binary_dataset,
            check_model("tiny", config),
            1,
            tmp_path / "model.keras",
            tmp_path / "history.tsv",
            tensorboard=RunFolder(tmp_path, "d", "tensorboard"),
        )
    )
    assert history["learning_rate"].tolist() == pytest.approx([0.005, 0.01, 0.01, 0.005], rel=1e-6)
    assert (history["gradient_norm"] > 0).all() and np.isfinite(history["gradient_norm"]).all()
    assert pd.read_csv(tmp_path / "history.tsv", sep="\t")["learning_rate"].tolist() == pytest.approx(
        history["learning_rate"].tolist()
    )
    scalars = _tensorboard_scalars(tmp_path / "d/tensorboard")
    assert scalars[("train", "epoch_learning_rate")] == pytest.approx(history["learning_rate"].tolist())
    assert scalars[("validation", "epoch_loss")] == pytest.approx(history["val_loss"].tolist())


def _tensorboard_scalars(folder: Path) -> dict[tuple[str, str], list[float]]:
    import tensorflow as tf

    found: dict[tuple[str, str], list[float]] = {}
    for run in ("train", "validation"):
        for events in sorted((folder / run).glob("events.out.tfevents.*")):
            for event in tf.compat.v1.train.summary_iterator(str(events)):
                for value in event.summary.value:
                    assert value.metadata.plugin_data.plugin_name == "scalars"
                    found.setdefault((run, value.tag), []).append(float(tf.make_ndarray(value.tensor)))
    return found


def test_global_clipping_bounds_each_step(binary_dataset: Path, tiny_config: dict, tmp_path: Path) -> None:
    def weight_change(**settings: object) -> tuple[float, float]:
        config = _with_training(tiny_config, optimizer="sgd", learning_rate=1.0, epochs=1, **settings)
        configure_tensorflow(1, 1)
        start = [
            w.copy()
            for w in compile_network(check_model("tiny", config), open_dataset(binary_dataset))[
                0
            ].get_weights()
        ]
        history = train_model(
            TrainingRun(
                binary_dataset,
                check_model("tiny", config),
                1,
                tmp_path / "model.keras",
                tmp_path / "history.tsv",
            )
        )
        end = keras.models.load_model(tmp_path / "model.keras").get_weights()
        return float(np.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(start, end, strict=True)))), float(
            history["gradient_norm"][0]
        )

    steps = 5  # 160 training examples in batches of 32
    clipped, norm = weight_change(global_clip_norm=1e-3)
    free, _ = weight_change()
    assert norm > 1e-2  # the recorded norm is taken before clipping
    assert clipped <= steps * 1e-3 * (1 + 1e-4)
    assert free > 10 * clipped


def _unbalanced(make_dataset: Callable[..., Path]) -> Path:
    """A binary dataset whose training split has one positive for every three negatives."""
    root = make_dataset(task="binary")
    for shard in open_dataset(root).split("train").shards:
        y = load_npy(root / f"{shard}.y.npy").copy()
        positives = np.flatnonzero(y[:, 0] == 1)
        y[np.setdiff1d(positives, positives[::3])] = 0.0
        save_npy(y, root / f"{shard}.y.npy")
    return root


def test_balanced_class_weights_follow_the_training_counts(make_dataset: Callable[..., Path]) -> None:
    dataset = open_dataset(_unbalanced(make_dataset))
    positives = int(load_labels(dataset, "train").sum())
    n = dataset.n("train")
    weights = class_weights(dataset, _training(class_weight="balanced"), "m")
    assert weights == pytest.approx({0: n / (2 * (n - positives)), 1: n / (2 * positives)})
    assert class_weights(dataset, _training(class_weight={"bound": 3.0}), "m") == {0: 1.0, 1: 3.0}
    assert class_weights(dataset, _training(), "m") is None
    with pytest.raises(InputError, match="training.class_weight: unknown class"):
        class_weights(dataset, _training(class_weight={"bond": 3.0}), "m")


def test_class_weights_reach_training(binary_dataset: Path, tiny_config: dict, tmp_path: Path) -> None:
    # Positives weighted 0: the network only ever learns to call examples negative.
    config = _with_training(tiny_config, epochs=3, class_weight={"bound": 0.0, "background": 1.0})
    train_model(
        TrainingRun(
            binary_dataset, check_model("tiny", config), 1, tmp_path / "model.keras", tmp_path / "history.tsv"
        )
    )
    scores = keras.models.load_model(tmp_path / "model.keras").predict(
        ShardBatches(open_dataset(binary_dataset), "validation", 64, labels=False), verbose=0
    )
    assert scores.max() < 0.2
    train_model(
        TrainingRun(
            binary_dataset,
            check_model("tiny", _with_training(tiny_config, epochs=3)),
            1,
            tmp_path / "model.keras",
            tmp_path / "history.tsv",
        )
    )
    scores = keras.models.load_model(tmp_path / "model.keras").predict(
        ShardBatches(open_dataset(binary_dataset), "validation", 64, labels=False), verbose=0
    )
    assert scores.max() > 0.4


def test_class_weights_of_a_multilabel_task_are_refused(
    make_dataset: Callable[..., Path], tiny_config: dict, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="class weights apply to binary and multiclass tasks"):
        train_model(
            TrainingRun(
                make_dataset(task="multilabel"),
                check_model("tiny", _with_training(tiny_config, class_weight="balanced")),
                1,
                tmp_path / "model.keras",
                tmp_path / "history.tsv",
            )
        )
