"""biodl.models.zoo.basset: Basset's published shape and parameter count at 200, 600 and 1000 bp,
width scaling, too-short sequences refused, a few training steps saved and reloaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from zoo_fixtures import built, conv, dense, trains_saves_and_reloads

from biodl.core.errors import InputError


def basset_parameters(
    length: int, width: float = 1.0, head: tuple[int, ...] = (1000, 1000), n: int = 1
) -> int:
    """Counted from the layer shapes of Kelley et al. (2016): conv + batch norm (4 per channel)."""
    f1, f2, f3 = (max(1, round(f * width)) for f in (300, 200, 200))
    positions = (((length - 18) // 3 - 10) // 4 - 6) // 4
    total = conv(19, 4, f1) + 4 * f1 + conv(11, f1, f2) + 4 * f2 + conv(7, f2, f3) + 4 * f3
    inputs = positions * f3
    for units in head:
        total += dense(inputs, units) + 4 * units
        inputs = units
    return total + dense(inputs, n)


@pytest.mark.parametrize("length", [200, 600, 1000])
def test_the_published_shape_and_its_parameter_count(length: int) -> None:
    model = built({"kind": "basset"}, length)
    assert model.count_params() == basset_parameters(length)
    assert [model.get_layer(f"conv{i}").filters for i in (1, 2, 3)] == [300, 200, 200]
    assert [model.get_layer(f"conv{i}").kernel_size for i in (1, 2, 3)] == [(19,), (11,), (7,)]
    # 600 bp (the published input) flattens 10 positions of 200 filters.
    if length == 600:
        assert model.get_layer("flatten").output.shape[-1] == 2000
        assert model.count_params() == 3_977_301


def test_width_and_head_scale_the_network() -> None:
    config = {"kind": "basset", "width": 0.1, "dense_layers": [{"units": 16}]}
    model = built(config, 1000, n_outputs=3)
    expected = basset_parameters(1000, 0.1, (16,), 3) - 4 * 16  # this head has no batch norm
    assert model.count_params() == expected


def test_sequences_too_short_for_the_convolutions_are_refused() -> None:
    built({"kind": "basset"}, 168)
    with pytest.raises(
        InputError, match=r"model zoo, kind: the 167-base sequences are too short for basset's convolution 3"
    ):
        built({"kind": "basset"}, 167)


def test_trains_a_few_steps_and_reloads(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    trains_saves_and_reloads(
        make_dataset, {"kind": "basset", "width": 0.05, "dense_layers": [{"units": 8}]}, tmp_path
    )
