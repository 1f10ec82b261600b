"""biodl.models.zoo.deepsea: DeepSEA's published shape and parameter count at 200 and 1000 bp,
width scaling, too-short sequences refused, a few training steps saved and reloaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from zoo_fixtures import built, conv, dense, trains_saves_and_reloads

from biodl.core.errors import InputError


def deepsea_parameters(length: int, width: float = 1.0, head: int = 925, n: int = 1) -> int:
    """Counted from the layer shapes of Zhou & Troyanskaya (2015)."""
    f1, f2, f3 = (max(1, round(f * width)) for f in (320, 480, 960))
    positions = ((length - 7) // 4 - 7) // 4 - 7
    return conv(8, 4, f1) + conv(8, f1, f2) + conv(8, f2, f3) + dense(positions * f3, head) + dense(head, n)


@pytest.mark.parametrize("length", [200, 1000])
def test_the_published_shape_and_its_parameter_count(length: int) -> None:
    model = built({"kind": "deepsea"}, length)
    assert model.count_params() == deepsea_parameters(length)
    assert [model.get_layer(f"conv{i}").filters for i in (1, 2, 3)] == [320, 480, 960]
    assert [model.get_layer(f"conv{i}_dropout").rate for i in (1, 2, 3)] == [0.2, 0.2, 0.5]
    if length == 1000:
        # 53 positions of 960 filters, as published.
        assert model.get_layer("flatten").output.shape[-1] == 53 * 960


def test_the_published_outputs_give_the_published_size() -> None:
    # DeepSEA's 919 chromatin features: about 52.8 million parameters.
    assert built({"kind": "deepsea"}, 1000, n_outputs=919).count_params() == deepsea_parameters(1000, n=919)
    assert deepsea_parameters(1000, n=919) == 52_843_119


def test_width_scales_the_filters() -> None:
    model = built({"kind": "deepsea", "width": 0.05, "dense_layers": [{"units": 10}]}, 200, n_outputs=2)
    assert model.count_params() == deepsea_parameters(200, 0.05, 10, 2)


def test_sequences_too_short_for_the_convolutions_are_refused() -> None:
    built({"kind": "deepsea", "width": 0.01}, 163)
    with pytest.raises(InputError, match="the 162-base sequences are too short for deepsea's convolution 3"):
        built({"kind": "deepsea", "width": 0.01}, 162)


def test_trains_a_few_steps_and_reloads(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    trains_saves_and_reloads(
        make_dataset, {"kind": "deepsea", "width": 0.03, "dense_layers": [{"units": 8}]}, tmp_path
    )
