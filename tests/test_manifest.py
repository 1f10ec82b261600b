"""biodl.data.manifest: dataset.json read into a PreparedDataset, every field checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biodl.core.errors import InputError
from biodl.data.manifest import SplitInfo, read_prepared


def test_the_manifest_and_split_sizes_are_read(binary_dataset: Path) -> None:
    dataset = read_prepared(binary_dataset / "dataset.json")
    assert dataset.task == "binary" and dataset.modality == "dna"
    assert dataset.targets == ("bound",) and dataset.classes == ("background", "bound")
    assert dataset.input_shape == (50, 4)
    assert [dataset.n(s) for s in ("train", "validation", "test")] == [160, 48, 40]
    assert isinstance(dataset.split("test"), SplitInfo) and dataset.split("test").n == 40
    assert dataset.root == binary_dataset and dataset.manifest == binary_dataset / "dataset.json"
    assert read_prepared(binary_dataset) == dataset


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"task": "survival"}, "task"),
        ({"task": "regression"}, "classes"),
        ({"modality": "audio"}, "modality"),
        ({"modality": "image"}, "input_shape"),
        ({"modality": "table", "input_shape": [3]}, "feature_names"),
        ({"targets": ["background"]}, "targets"),
        ({"input_shape": [50, 5]}, "input_shape"),
        ({"ambiguous": "drop"}, "ambiguous"),
        ({"seed": True}, "seed"),
        ({"classes": ["background", "back\tground"]}, "classes"),
        ({"classes": ["bound", "bound"]}, "classes"),
        ({"splits": {"train": {"n": 1, "shards": []}}}, "splits.train.shards"),
        ({"splits": {"train": {"n": -1, "shards": []}}}, "splits.train.n"),
        ({"splits": {"train": []}}, "splits.train"),
        ({"task": "regression", "classes": [], "targets": ["y"]}, "target_mean"),
        (
            {
                "task": "regression",
                "classes": [],
                "targets": ["y"],
                "target_mean": [1.0],
                "target_std": [0.0],
            },
            "target_std",
        ),
        ({"modality": "image", "input_shape": [8, 8, 3], "channel_mean": [1, 2]}, "channel_mean"),
    ],
)
def test_bad_manifest_raises_input_error_naming_the_field(
    binary_dataset: Path, change: dict, where: str
) -> None:
    manifest = binary_dataset / "dataset.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), **change}))
    with pytest.raises(InputError) as error:
        read_prepared(binary_dataset)
    assert error.value.where == where
    assert "dataset.json" in error.value.source


def test_regression_and_image_statistics_are_read(binary_dataset: Path) -> None:
    manifest = binary_dataset / "dataset.json"
    content = json.loads(manifest.read_text())
    regression = {
        "task": "regression",
        "classes": [],
        "targets": ["y"],
        "target_mean": [2],
        "target_std": [0.5],
    }
    manifest.write_text(json.dumps({**content, **regression}))
    dataset = read_prepared(binary_dataset)
    assert dataset.target_mean == (2.0,) and dataset.target_std == (0.5,)
    image = {"modality": "image", "input_shape": [8, 8, 1], "channel_mean": [100.5], "channel_std": [20]}
    manifest.write_text(json.dumps({**content, **image}))
    assert read_prepared(binary_dataset).channel_std == (20.0,)


def test_missing_manifest_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_prepared(tmp_path)
