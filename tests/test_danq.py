"""biodl.models.zoo.danq: DanQ's published shape (convolution, bidirectional LSTM) and parameter
count at 200 and 1000 bp, the GRU option, a few training steps saved and reloaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from zoo_fixtures import built, conv, dense, trains_saves_and_reloads

from biodl.core.errors import InputError


def danq_parameters(
    length: int, width: float = 1.0, recurrent: str = "lstm", head: int = 925, n: int = 1
) -> int:
    """Counted from the layer shapes of Quang & Xie (2016); Keras's GRU has two biases per gate."""
    f = r = max(1, round(320 * width))
    positions = (length - 25) // 13
    per_direction = 4 * (r * (f + r) + r) if recurrent == "lstm" else 3 * r * (f + r) + 6 * r
    return conv(26, 4, f) + 2 * per_direction + dense(positions * 2 * r, head) + dense(head, n)


@pytest.mark.parametrize("length", [200, 1000])
@pytest.mark.parametrize("recurrent", ["lstm", "gru"])
def test_the_published_shape_and_its_parameter_count(length: int, recurrent: str) -> None:
    model = built({"kind": "danq", "recurrent": recurrent}, length)
    assert model.count_params() == danq_parameters(length, recurrent=recurrent)
    layer = model.get_layer("recurrent")
    assert type(layer.forward_layer).__name__ == recurrent.upper() and layer.forward_layer.units == 320
    assert model.get_layer("conv1_max_pool").pool_size == (13,)
    if length == 1000:
        # 75 pooled positions, 640 recurrent outputs each, as published.
        assert model.get_layer("flatten").output.shape[-1] == 75 * 640


def test_width_scales_filters_and_units() -> None:
    model = built({"kind": "danq", "width": 0.05, "dense_layers": []}, 200, n_outputs=2)
    f = r = 16
    expected = conv(26, 4, f) + 2 * 4 * (r * (f + r) + r) + dense(13 * 2 * r, 2)
    assert model.count_params() == expected


def test_sequences_too_short_for_the_convolution_are_refused() -> None:
    built({"kind": "danq", "width": 0.01}, 38)
    with pytest.raises(InputError, match="the 37-base sequences are too short for danq's convolution 1"):
        built({"kind": "danq", "width": 0.01}, 37)


def test_trains_a_few_steps_and_reloads(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    trains_saves_and_reloads(
        make_dataset, {"kind": "danq", "width": 0.03, "dense_layers": [{"units": 8}]}, tmp_path
    )
