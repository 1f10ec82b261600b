"""biodl.training.batches: streaming a prepared dataset (or a fold view of it) to Keras in batches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from biodl.data.dataset import input_shards, load_labels, open_dataset
from biodl.training.batches import ShardBatches


def _epoch(batches: ShardBatches, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and labels streamed during ``epoch`` of an endless (shuffled) stream."""
    parts = [batches[epoch * len(batches) + i] for i in range(len(batches))]
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])


def test_training_stream_covers_every_example_once_per_epoch(make_dataset: Callable[..., Path]) -> None:
    dataset = open_dataset(make_dataset(shard_size=48))  # batches of 32 straddle shards of 48
    stored_x = np.concatenate(
        [np.load(dataset.root / f"{shard}.x.npy") for shard in dataset.split("train").shards]
    )
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
    stored = np.concatenate(
        [np.load(dataset.root / f"{shard}.x.npy") for shard in dataset.split("test").shards]
    )
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


def _stream(dataset: tf.data.Dataset, batches: int) -> list[tuple[np.ndarray, ...]]:
    return [tuple(part.numpy() for part in batch) for batch in dataset.take(batches)]


def test_tf_stream_repeats_the_batches_in_order(make_dataset: Callable[..., Path]) -> None:
    dataset = open_dataset(make_dataset(shard_size=48, sizes=(150, 48, 40)))
    batches = ShardBatches(dataset, "train", 32, shuffle=True, seed=3)  # 4 batches of 32, then 22
    # Reads of 3 batches: an epoch is two reads, the second short; 2 reads run at once.
    streamed = _stream(batches.tf_dataset(first_epoch=1, threads=2, batches_per_read=3), 3 * len(batches))
    expected = [batches[len(batches) + i] for i in range(3 * len(batches))]
    assert [len(x) for x, _ in streamed] == [32, 32, 32, 32, 22] * 3
    for (x, y), (x_expected, y_expected) in zip(streamed, expected, strict=True):
        np.testing.assert_array_equal(x, x_expected)
        np.testing.assert_array_equal(y, y_expected)
    validation = ShardBatches(dataset, "validation", 20)
    streamed = _stream(validation.tf_dataset(threads=2, batches_per_read=2), 10)
    assert len(streamed) == len(validation) == 3  # one pass, then the stream ends
    for (x, y), (x_expected, y_expected) in zip(streamed, [validation[i] for i in range(3)], strict=True):
        np.testing.assert_array_equal(x, x_expected)
        np.testing.assert_array_equal(y, y_expected)


def test_fold_view_streams_and_reads_its_own_rows(make_dataset: Callable[..., Path]) -> None:
    root = make_dataset(shard_size=48)
    whole, view = open_dataset(root), open_dataset(root, fold=(2, 4))
    stored_x = np.concatenate(
        [np.load(whole.root / f"{shard}.x.npy") for shard in whole.split("train").shards]
    )
    rows = view.stored("validation")[1]
    assert view.stored("validation")[0] == "train" and len(rows) == 40
    streamed = ShardBatches(view, "validation", 7)
    x = np.concatenate([streamed[i][0] for i in range(len(streamed))])
    np.testing.assert_array_equal(x, stored_x[rows].astype(np.float32))
    np.testing.assert_array_equal(input_shards(view, "validation")[0], stored_x[rows])
    training = ShardBatches(view, "train", 32, shuffle=True, seed=1)
    x, y = _epoch(training, 0)
    train_rows = view.stored("train")[1]
    np.testing.assert_array_equal(x, stored_x[train_rows][training.order(0)].astype(np.float32))
    np.testing.assert_array_equal(y, load_labels(whole, "train")[train_rows][training.order(0)])
