"""biodl.dataset: reading prepared datasets back, streaming batches, normalising ambiguous bases."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from biodl.dataset import ShardBatches, load_labels, load_metadata, open_dataset, to_inputs
from biodl.validate import InputError


def test_open_reads_the_manifest_and_split_sizes(binary_dataset: Path) -> None:
    dataset = open_dataset(binary_dataset / "dataset.json")
    assert dataset.task == "binary"
    assert dataset.targets == ("bound",)
    assert dataset.input_shape == (50, 4)
    assert [dataset.n(s) for s in ("train", "validation", "test")] == [160, 48, 40]
    assert open_dataset(binary_dataset) == dataset


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
        ({"splits": {"train": {"n": 1, "shards": []}}}, "splits.train.shards"),
    ],
)
def test_bad_manifest_raises_input_error_naming_the_field(binary_dataset: Path, change: dict, where: str) -> None:
    manifest = binary_dataset / "dataset.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), **change}))
    with pytest.raises(InputError) as error:
        open_dataset(binary_dataset)
    assert error.value.where == where
    assert "dataset.json" in error.value.source


def test_missing_manifest_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        open_dataset(tmp_path)


def test_shard_count_disagreeing_with_manifest_is_reported(binary_dataset: Path) -> None:
    manifest = binary_dataset / "dataset.json"
    content = json.loads(manifest.read_text())
    content["splits"]["test"]["n"] = 41
    manifest.write_text(json.dumps(content))
    with pytest.raises(InputError, match="41 examples but the shards hold 40"):
        load_labels(open_dataset(binary_dataset), "test")


def test_labels_and_metadata_follow_the_shards(make_dataset: Callable[..., Path]) -> None:
    dataset = open_dataset(make_dataset(task="multiclass", shard_size=16))
    labels = load_labels(dataset, "test")
    metadata = load_metadata(dataset, "test")
    assert labels.shape == (40, 3) and labels.dtype == np.float32
    assert list(metadata["name"]) == [f"test_{i}" for i in range(40)]
    assert list(metadata["label"]) == [dataset.classes[i] for i in labels.argmax(axis=1)]
    assert metadata["offset"].tolist() == [i % 16 for i in range(40)]


def test_metadata_out_of_shard_order_is_reported(binary_dataset: Path) -> None:
    path = binary_dataset / "metadata.tsv"
    lines = path.read_text().splitlines()
    header, rows = lines[0], lines[1:]
    test_rows = [i for i, row in enumerate(rows) if row.startswith("test\t")]
    first, second = test_rows[:2]
    rows[first], rows[second] = rows[second], rows[first]
    path.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(InputError, match="expected shard shards/test-00000 offset 0"):
        load_metadata(open_dataset(binary_dataset), "test")


def _epoch(batches: ShardBatches, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and labels streamed during ``epoch`` of an endless (shuffled) stream."""
    parts = [batches[epoch * len(batches) + i] for i in range(len(batches))]
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])


def test_training_stream_covers_every_example_once_per_epoch(make_dataset: Callable[..., Path]) -> None:
    dataset = open_dataset(make_dataset(shard_size=48))  # batches of 32 straddle shards of 48
    stored_x = np.concatenate([np.load(dataset.root / f"{shard}.x.npy") for shard in dataset.split("train").shards])
    stored_y = load_labels(dataset, "train")
    batches = ShardBatches(dataset, "train", 32, shuffle=True, seed=3)
    assert batches.num_batches is None and len(batches) == 5  # endless; fit gets steps_per_epoch
    for epoch in range(3):
        x, y = _epoch(batches, epoch)
        order = batches.order(epoch)
        assert sorted(order) == list(range(dataset.n("train")))
        np.testing.assert_array_equal(x, stored_x[order].astype(np.float32))
        np.testing.assert_array_equal(y, stored_y[order])
    assert max(len(batches[i][0]) for i in range(len(batches))) == 32


def test_shuffle_differs_per_epoch_and_repeats_for_the_same_seed(binary_dataset: Path) -> None:
    dataset = open_dataset(binary_dataset)
    first = ShardBatches(dataset, "train", 32, shuffle=True, seed=5)
    again = ShardBatches(dataset, "train", 32, shuffle=True, seed=5)
    other = ShardBatches(dataset, "train", 32, shuffle=True, seed=6)
    assert not np.array_equal(first.order(0), first.order(1))
    assert not np.array_equal(first.order(0), other.order(0))
    expected = [_epoch(again, epoch) for epoch in range(3)]
    # Reading epochs out of sequence (as prefetching may) gives the same batches.
    for epoch in (2, 0, 1):
        x, y = _epoch(first, epoch)
        np.testing.assert_array_equal(x, expected[epoch][0])
        np.testing.assert_array_equal(y, expected[epoch][1])
    assert not np.array_equal(_epoch(first, 0)[0], _epoch(other, 0)[0])


def test_evaluation_stream_is_in_stored_order(make_dataset: Callable[..., Path]) -> None:
    dataset = open_dataset(make_dataset(shard_size=16))
    batches = ShardBatches(dataset, "test", 7, labels=False)
    streamed = np.concatenate([batches[i][0] for i in range(len(batches))])
    stored = np.concatenate([np.load(dataset.root / f"{shard}.x.npy") for shard in dataset.split("test").shards])
    np.testing.assert_array_equal(streamed, stored.astype(np.float32))
    assert all(len(batches[i]) == 1 for i in range(len(batches)))
    with pytest.raises(IndexError):
        batches[len(batches)]  # one pass only


def test_ambiguous_bases_are_spread_to_sum_one(make_dataset: Callable[..., Path]) -> None:
    dataset = open_dataset(make_dataset(ambiguous="iupac"))
    x, _ = ShardBatches(dataset, "test", 8)[0]
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x[:, -1], np.full((8, 4), 0.25))  # N
    np.testing.assert_array_equal(x[:, -2], np.tile([0.5, 0.0, 0.5, 0.0], (8, 1)))  # R
    np.testing.assert_allclose(x.sum(axis=-1), 1.0)


def test_zeros_mode_keeps_unknown_bases_empty() -> None:
    stored = np.array([[[1, 0, 0, 0], [0, 0, 0, 0]]], dtype=np.uint8)
    np.testing.assert_array_equal(to_inputs(stored, "zeros"), stored.astype(np.float32))
    assert to_inputs(np.array([[[1, 1, 1, 1]]], dtype=np.uint8), "uniform").tolist() == [[[0.25] * 4]]


def test_batches_read_from_memory_maps(binary_dataset: Path) -> None:
    batches = ShardBatches(open_dataset(binary_dataset), "train", 16)
    assert all(isinstance(x, np.memmap) for x in batches._inputs)
