"""biodl.models.parameter_count: what a run's parameter count counts, summed for ensembles, on file."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest

from biodl.core.errors import InputError
from biodl.models.parameter_count import (
    KERAS_COUNTED,
    ParameterCount,
    ensemble_count,
    network_count,
    read_parameters,
    write_parameters,
)


def _network() -> keras.Model:
    inputs = keras.Input((10, 4))
    x = keras.layers.Conv1D(6, 3, name="conv")(inputs)  # 3 * 4 * 6 + 6 = 78
    x = keras.layers.BatchNormalization(name="norm")(x)  # 4 * 6 = 24, half of them moving statistics
    x = keras.layers.GlobalMaxPooling1D()(x)
    outputs = keras.layers.Dense(1, name="output")(x)  # 6 + 1 = 7
    return keras.Model(inputs, outputs)


def test_a_network_counts_every_weight_and_its_trainable_ones() -> None:
    model = _network()
    assert network_count(model) == ParameterCount(78 + 24 + 7, 78 + 12 + 7, KERAS_COUNTED)
    model.get_layer("conv").trainable = False  # a frozen layer (freeze_layers)
    assert network_count(model) == ParameterCount(78 + 24 + 7, 12 + 7, KERAS_COUNTED)


def test_an_ensemble_sums_its_members_and_has_no_count_where_a_member_has_none() -> None:
    members = [ParameterCount(100, 90, "keras"), ParameterCount(100, 90, "keras")]
    assert ensemble_count(members) == ParameterCount(200, 180, "sum over 2 members: keras")
    trees = ParameterCount(None, None, "trees")
    assert ensemble_count([*members, trees]).total is None
    assert ensemble_count([]).total is None


@pytest.mark.parametrize(
    "count",
    [ParameterCount(19073, 19073, KERAS_COUNTED), ParameterCount(None, None, "gradient boosting: trees")],
)
def test_counts_are_written_and_read_back(tmp_path: Path, count: ParameterCount) -> None:
    write_parameters(count, tmp_path / "run" / "parameters.tsv")
    assert read_parameters(tmp_path / "run" / "parameters.tsv") == count
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["parameters.tsv"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("parameters\tcounted\n5\tx\n", "trainable_parameters: expected the columns"),
        ("parameters\ttrainable_parameters\tcounted\n-5\t3\tx\n", "parameters: expected a whole number"),
        ("parameters\ttrainable_parameters\tcounted\n5\t3\tx\n6\t3\tx\n", "expected one row, found 2"),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "parameters.tsv"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as error:
        read_parameters(path)
    assert str(path) in str(error.value)
    with pytest.raises(InputError, match="parameter count"):
        read_parameters(tmp_path / "missing.tsv")
