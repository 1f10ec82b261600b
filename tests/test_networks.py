"""biodl.models.networks: the layers follow the settings, the shape check, outputs per task."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from biodl.config.models import check_model
from biodl.core.errors import InputError
from biodl.core.vocabulary import TASKS
from biodl.models.networks import TASK_OUTPUTS, build_model


@pytest.mark.parametrize(
    ("task", "n_outputs", "activation"),
    [
        ("binary", 1, "sigmoid"),
        ("multilabel", 3, "sigmoid"),
        ("multiclass", 4, "softmax"),
        ("regression", 2, "linear"),
    ],
)
@pytest.mark.parametrize(
    ("kind", "input_shape"),
    [("cnn1d", (50, 4)), ("mlp", (12,)), ("dilated_resnet", (50, 4)), ("danq", (50, 4))],
)
def test_output_layer_follows_the_task(
    task: str, n_outputs: int, activation: str, kind: str, input_shape: tuple[int, ...]
) -> None:
    model = build_model(check_model("m", {"kind": kind}), input_shape, task, n_outputs)
    output = model.layers[-1]
    assert output.activation.__name__ == activation
    assert model.output_shape == (None, n_outputs)
    scores = np.asarray(model(np.random.default_rng(0).random((5, *input_shape)).astype("float32")))
    if task == "multiclass":
        np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)
    if activation == "sigmoid":
        assert ((scores > 0) & (scores < 1)).all()


def test_mlp_layers_initialiser_and_penalties_follow_the_config() -> None:
    config = {
        "kind": "mlp",
        "input_dropout": 0.1,
        "initializer": "he_normal",
        "l1": 0.001,
        "l2": 0.01,
        "dense_layers": [{"units": 8, "batch_norm": True, "dropout": 0.2}, {"units": 4}],
        "activation": "tanh",
    }
    model = build_model(check_model("m", config), (6,), "binary", 1)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "InputLayer",
        "Dropout",
        "Dense",
        "BatchNormalization",
        "Activation",
        "Dropout",
        "Dense",
        "Dense",
    ]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert all(type(layer.kernel_initializer).__name__ == "HeNormal" for layer in dense)
    assert all(layer.kernel_regularizer.get_config() == {"l1": 0.001, "l2": 0.01} for layer in dense)
    assert model.get_layer("dense2").activation.__name__ == "tanh"
    # One penalty term per kernel, so the L1/L2 settings reach the loss.
    assert len(model.losses) == 3


def test_mlp_without_hidden_layers_is_logistic_regression() -> None:
    model = build_model(check_model("m", {"kind": "mlp", "dense_layers": []}), (5,), "binary", 1)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense"]
    assert model.count_params() == 6


@pytest.mark.parametrize(
    ("kind", "input_shape", "message"),
    [
        ("cnn1d", (20,), "a cnn1d model takes inputs of 2 dimension"),
        ("mlp", (20, 4), "a mlp model takes inputs of 1 dimension"),
        ("baseline", (20,), "'baseline' is not a network"),
    ],
)
def test_a_model_kind_that_does_not_fit_the_data_is_refused(
    kind: str, input_shape: tuple[int, ...], message: str
) -> None:
    config = {"kind": kind, "estimator": "linear"} if kind == "baseline" else {"kind": kind}
    with pytest.raises(InputError, match=message):
        build_model(check_model("m", config), input_shape, "binary", 1)


def test_layers_follow_the_config() -> None:
    config = {
        "kind": "cnn1d",
        "conv_layers": [
            {
                "filters": 6,
                "kernel_size": 5,
                "pool_size": 2,
                "batch_norm": True,
                "pool": "average",
                "dropout": 0.2,
            },
            {"filters": 3, "kernel_size": 3},
        ],
        "global_pool": "none",
        "dense_layers": [{"units": 7, "dropout": 0.5}],
        "activation": "gelu",
    }
    model = build_model(check_model("m", config), (40, 4), "binary", 1)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "InputLayer",
        "Conv1D",
        "BatchNormalization",
        "Activation",
        "AveragePooling1D",
        "Dropout",
        "Conv1D",
        "Flatten",
        "Dense",
        "Dropout",
        "Dense",
    ]
    # (40 - 5 + 1) // 2 = 18 positions, then 18 - 3 + 1 = 16 positions of 3 filters.
    assert model.get_layer("flatten").output.shape == (None, 48)
    assert model.get_layer("conv2").activation.__name__ == "gelu"


@pytest.mark.parametrize(
    ("conv_layers", "where", "message"),
    [
        (
            [{"filters": 4, "kernel_size": 60}],
            "conv_layers[0]",
            "kernel_size 60 is wider than the 50 positions",
        ),
        (
            [{"filters": 4, "kernel_size": 11, "pool_size": 8}, {"filters": 4, "kernel_size": 6}],
            "conv_layers[1]",
            "kernel_size 6 is wider than the 5 positions",
        ),
        (
            [{"filters": 4, "kernel_size": 41, "pool_size": 11}],
            "conv_layers[0]",
            "pool_size 11 exceeds the 10 positions",
        ),
    ],
)
def test_a_model_that_cannot_fit_its_input_is_refused_before_building(
    monkeypatch: pytest.MonkeyPatch, conv_layers: list[dict], where: str, message: str
) -> None:
    def no_graph(*args: object, **kwargs: object) -> None:
        raise AssertionError("a Keras graph was started before the shape check")

    monkeypatch.setattr(keras, "Input", no_graph)
    with pytest.raises(InputError) as error:
        build_model(
            check_model("deep_cnn", {"kind": "cnn1d", "conv_layers": conv_layers}), (50, 4), "binary", 1
        )
    assert error.value.source == "model deep_cnn"
    assert error.value.where == where
    assert message in error.value.problem


def test_a_model_that_exactly_fits_is_built() -> None:
    model = build_model(
        check_model(
            "m", {"kind": "cnn1d", "conv_layers": [{"filters": 2, "kernel_size": 41, "pool_size": 10}]}
        ),
        (50, 4),
        "binary",
        1,
    )
    assert model.get_layer("conv1_max_pool").output.shape == (None, 1, 2)


def test_weights_depend_only_on_the_seed() -> None:
    def weights(seed: int) -> list[np.ndarray]:
        keras.utils.set_random_seed(seed)
        return build_model(
            check_model(
                "m",
                {
                    "kind": "cnn1d",
                    "conv_layers": [{"filters": 2, "kernel_size": 3}],
                    "dense_layers": [{"units": 2}],
                },
            ),
            (10, 4),
            "binary",
            1,
        ).get_weights()

    first, again, other = weights(1), weights(1), weights(2)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_task_outputs_cover_every_dataset_task() -> None:
    assert set(TASK_OUTPUTS) == set(TASKS)


IMAGE_NORMALIZATION = ((120.0, 80.0, 160.0), (30.0, 20.0, 40.0))


def tile_model(augmentation: dict | None = None) -> keras.Model:
    config = {
        "kind": "cnn2d",
        "conv_layers": [{"filters": 4, "kernel_size": 3, "pool_size": 2}],
        "augmentation": augmentation or {},
    }
    return build_model(check_model("tiles", config), (8, 8, 3), "multiclass", 3, IMAGE_NORMALIZATION)


def test_cnn2d_normalises_with_the_training_statistics_and_is_deterministic_when_predicting() -> None:
    model = tile_model()
    normalise = model.get_layer("normalise")
    tiles = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    mean, std = (np.array(v, dtype="float32") for v in IMAGE_NORMALIZATION)
    np.testing.assert_allclose(np.asarray(normalise(tiles)), (tiles - mean) / std, rtol=1e-5, atol=1e-5)
    # Augmentation is for training only: two predictions of the same tiles agree exactly.
    np.testing.assert_array_equal(
        np.asarray(model(tiles, training=False)), np.asarray(model(tiles, training=False))
    )


def test_cnn2d_pooling_that_leaves_no_pixel_is_refused() -> None:
    config = {
        "kind": "cnn2d",
        "conv_layers": [
            {"filters": 4, "kernel_size": 3, "pool_size": 4},
            {"filters": 4, "kernel_size": 3, "pool_size": 4},
        ],
    }
    with pytest.raises(InputError, match="pool_size 4 exceeds the 2 pixels") as error:
        build_model(check_model("tiles", config), (8, 8, 3), "binary", 1, IMAGE_NORMALIZATION)
    assert error.value.where == "conv_layers[1]"


def test_max_norm_constrains_each_unit_over_its_whole_window() -> None:
    config = {
        "kind": "cnn1d",
        "conv_layers": [{"filters": 3, "kernel_size": 5}],
        "dense_layers": [{"units": 4}],
        "max_norm": 0.5,
    }
    model = build_model(check_model("m", config), (20, 4), "binary", 1)
    assert model.get_layer("conv1").kernel_constraint.axis == [0, 1]
    assert model.get_layer("dense1").kernel_constraint.axis == 0
    assert model.get_layer("output").kernel_constraint.max_value == 0.5
    assert (
        build_model(check_model("m", {**config, "max_norm": None}), (20, 4), "binary", 1)
        .get_layer("conv1")
        .kernel_constraint
        is None
    )


def test_output_layer_stays_float32_under_mixed_precision() -> None:
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = build_model(
            check_model("m", {"kind": "mlp", "dense_layers": [{"units": 4}]}), (6,), "binary", 1
        )
    finally:
        keras.config.set_dtype_policy("float32")
    assert model.get_layer("dense1").compute_dtype == "float16"
    assert model.get_layer("output").compute_dtype == "float32" and model.output.dtype == "float32"
