"""biodl.models.zoo.dilated_resnet: BPNet-style defaults and parameter count, the dilation schedule
capped by the input length, the skip path of every block, a few training steps saved and reloaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest
from zoo_fixtures import built, conv, dense, trains_saves_and_reloads

from biodl.config.models import check_model
from biodl.core.errors import InputError
from biodl.models.zoo.dilated_resnet import dilations


def resnet_parameters(
    filters: int = 64, first: int = 21, kernel: int = 3, layers: int = 9, n: int = 1
) -> int:
    return conv(first, 4, filters) + layers * conv(kernel, filters, filters) + dense(filters, n)


@pytest.mark.parametrize(
    ("length", "schedule"),
    [(200, (2, 4, 8, 16, 32, 64, 64, 64, 64)), (1000, (2, 4, 8, 16, 32, 64, 128, 256, 256))],
)
def test_the_default_shape_its_parameter_count_and_the_capped_dilations(length: int, schedule: tuple) -> None:
    model = built({"kind": "dilated_resnet"}, length)
    assert model.count_params() == resnet_parameters() == 116_673
    assert dilations(check_model("m", {"kind": "dilated_resnet"}), length) == schedule
    assert tuple(model.get_layer(f"residual{i}_conv").dilation_rate[0] for i in range(1, 10)) == schedule
    # Every block keeps the positions left by the first convolution.
    assert model.get_layer("residual9_add").output.shape[1] == length - 20


def test_chrombpnet_sizes() -> None:
    config = {"kind": "dilated_resnet", "filters": 512, "layers": 8, "dense_layers": [{"units": 4}]}
    model = built(config, 1000, n_outputs=2)
    expected = conv(21, 4, 512) + 8 * conv(3, 512, 512) + dense(512, 4) + dense(4, 2)
    assert model.count_params() == expected


def test_zeroed_branches_leave_the_skip_path() -> None:
    model = built({"kind": "dilated_resnet", "filters": 8, "layers": 3}, 60)
    x = np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, (2, 60))]
    first = keras.Model(model.input, model.get_layer("conv1").output)
    blocks = keras.Model(model.input, model.get_layer("residual3_add").output)
    assert not np.allclose(blocks(x), first(x))
    for i in (1, 2, 3):
        branch = model.get_layer(f"residual{i}_conv")
        branch.set_weights([np.zeros_like(w) for w in branch.get_weights()])
    # Only the identity skip paths remain: the blocks return the first convolution's features.
    np.testing.assert_allclose(blocks(x), first(x), rtol=0, atol=0)


def test_sequences_shorter_than_the_first_kernel_are_refused() -> None:
    built({"kind": "dilated_resnet", "filters": 4}, 21)
    with pytest.raises(
        InputError, match="the 20-base sequences are too short for dilated_resnet's convolution 1"
    ):
        built({"kind": "dilated_resnet", "filters": 4}, 20)


def test_trains_a_few_steps_and_reloads(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    config = {"kind": "dilated_resnet", "filters": 8, "layers": 4, "dropout": 0.1}
    trains_saves_and_reloads(make_dataset, config, tmp_path)
