"""Helpers of the model-zoo tests (tests/test_basset.py, test_deepsea.py, test_danq.py,
test_dilated_resnet.py): build at a length, count parameters, train a few steps, reload."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from biodl.config.models import check_model
from biodl.evaluation.inference import predict_model
from biodl.models.networks import build_model
from biodl.training.device import configure_tensorflow
from biodl.training.loop import TrainingRun, train_model


def built(config: dict[str, Any], length: int, n_outputs: int = 1) -> keras.Model:
    """The network of ``config`` for sequences of ``length`` bases and a binary (or multilabel) task."""
    return build_model(
        check_model("zoo", config), (length, 4), "binary" if n_outputs == 1 else "multilabel", n_outputs
    )


def conv(kernel: int, channels: int, filters: int) -> int:
    """Parameters of a 1-D convolution with bias."""
    return kernel * channels * filters + filters


def dense(inputs: int, units: int) -> int:
    """Parameters of a dense layer with bias."""
    return inputs * units + units


def trains_saves_and_reloads(
    make_dataset: Callable[..., Path], config: dict[str, Any], tmp_path: Path
) -> None:
    """A few training steps on 200 bp fixtures move the weights; the saved model reloads with plain
    Keras and predicts what the workflow's inference writes."""
    dataset = make_dataset(length=200, sizes=(64, 32, 32), shard_size=32)
    settings = check_model(
        "zoo", {**config, "training": {"batch_size": 16, "epochs": 2, "learning_rate": 0.01}}
    )
    configure_tensorflow(1, 1)  # as the training loop does before it builds: the same initial weights
    initial = build_model(settings, (200, 4), "binary", 1)
    history = train_model(
        TrainingRun(dataset, settings, 1, tmp_path / "model.keras", tmp_path / "h.tsv", threads=1)
    )
    assert len(history) >= 1 and np.isfinite(history["loss"]).all()
    model = keras.models.load_model(tmp_path / "model.keras")
    assert model.count_params() == initial.count_params()
    moved = [
        layer.name
        for layer in model.layers
        if layer.weights
        and not all(
            np.array_equal(a, b)
            for a, b in zip(layer.get_weights(), initial.get_layer(layer.name).get_weights(), strict=True)
        )
    ]
    assert "output" in moved and any(name.startswith("conv") for name in moved), moved
    predictions = predict_model(dataset, tmp_path / "model.keras", tmp_path / "p.tsv")
    assert predictions["y_score"].between(0, 1).all()
