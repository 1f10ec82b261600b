"""biodl.data.dataset: reading prepared datasets back, fold views, normalising ambiguous bases."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from biodl.core.errors import InputError
from biodl.core.files import load_npy, save_npy
from biodl.data.dataset import (
    ShardRows,
    assign_folds,
    load_labels,
    load_metadata,
    open_dataset,
    to_inputs,
    train_subset,
)
from biodl.data.manifest import read_prepared


def test_open_dataset_is_the_checked_manifest_without_a_fold(binary_dataset: Path) -> None:
    dataset = open_dataset(binary_dataset)
    assert dataset == read_prepared(binary_dataset) and dataset.fold is None
    assert [dataset.n(s) for s in ("train", "validation", "test")] == [160, 48, 40]


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


def test_zeros_mode_keeps_unknown_bases_empty() -> None:
    stored = np.array([[[1, 0, 0, 0], [0, 0, 0, 0]]], dtype=np.uint8)
    np.testing.assert_array_equal(to_inputs(stored, "zeros"), stored.astype(np.float32))
    assert to_inputs(np.array([[[1, 1, 1, 1]]], dtype=np.uint8), "uniform").tolist() == [[[0.25] * 4]]


def test_fold_views_cut_the_training_split_into_disjoint_stratified_folds(
    make_dataset: Callable[..., Path],
) -> None:
    root = make_dataset(task="multiclass", sizes=(61, 20, 15), shard_size=16)
    whole = open_dataset(root)
    train_labels, train_names = load_labels(whole, "train"), load_metadata(whole, "train")["name"].tolist()
    views = [open_dataset(root, fold=(i, 3)) for i in (1, 2, 3)]
    held_out = [load_metadata(view, "validation")["name"].tolist() for view in views]
    assert sorted(sum(held_out, [])) == sorted(train_names)  # the folds cover the training split once
    assert sorted(len(names) for names in held_out) == [20, 20, 21]
    for view, names in zip(views, held_out, strict=False):
        trained = load_metadata(view, "train")["name"].tolist()
        assert sorted(trained + names) == sorted(train_names) and not set(trained) & set(names)
        assert [view.n("train"), view.n("validation")] == [len(trained), len(names)]
        # Stratified: each class's share in a fold is within one example of its share overall.
        counts = load_labels(view, "validation").sum(axis=0)
        assert np.all(np.abs(counts - train_labels.sum(axis=0) / 3) <= 1)
        # The stored validation and test splits are untouched by the view.
        for split in ("test",):
            assert view.n(split) == whole.n(split)
            np.testing.assert_array_equal(load_labels(view, split), load_labels(whole, split))
    again = open_dataset(root, fold=(2, 3))
    assert load_metadata(again, "validation")["name"].tolist() == held_out[1]  # same seed, same folds


def test_a_training_subset_keeps_the_validation_and_test_splits(make_dataset: Callable[..., Path]) -> None:
    root = make_dataset(task="binary", sizes=(40, 12, 10), shard_size=16)
    whole = open_dataset(root)
    rows = np.array([0, 3, 17, 39])
    view = train_subset(whole, rows)
    assert view.n("train") == 4
    names = load_metadata(whole, "train")["name"].to_numpy()
    assert load_metadata(view, "train")["name"].tolist() == names[rows].tolist()
    np.testing.assert_array_equal(load_labels(view, "train"), load_labels(whole, "train")[rows])
    for split in ("validation", "test"):
        assert load_metadata(view, split)["name"].tolist() == load_metadata(whole, split)["name"].tolist()
    # Of a fold view: rows of the view's own training split.
    fold = open_dataset(root, fold=(1, 2))
    nested = train_subset(fold, np.array([1, 2]))
    fold_names = load_metadata(fold, "train")["name"].tolist()
    assert load_metadata(nested, "train")["name"].tolist() == fold_names[1:3]
    assert (
        load_metadata(nested, "validation")["name"].tolist()
        == load_metadata(fold, "validation")["name"].tolist()
    )


@pytest.mark.parametrize("rows", [[], [3, 1], [0, 0], [-1, 2], [5, 40]])
def test_bad_training_subsets_are_refused(make_dataset: Callable[..., Path], rows: list[int]) -> None:
    whole = open_dataset(make_dataset(task="binary", sizes=(40, 12, 10), shard_size=16))
    with pytest.raises(InputError, match="splits.train"):
        train_subset(whole, np.array(rows, dtype=np.int64))


def test_folds_are_dealt_evenly_per_stratum() -> None:
    strata = np.array([0] * 7 + [1] * 5)
    folds = assign_folds(strata, 3, seed=4)
    assert np.bincount(folds).tolist() == [4, 4, 4]
    assert all(
        np.bincount(folds[strata == s], minlength=3).max()
        - np.bincount(folds[strata == s], minlength=3).min()
        <= 1
        for s in (0, 1)
    )
    np.testing.assert_array_equal(folds, assign_folds(strata, 3, seed=4))
    assert not np.array_equal(folds, assign_folds(strata, 3, seed=5))


@pytest.mark.parametrize("fold", [(0, 3), (4, 3), (1, 1), ("1", 3), (1,)])
def test_bad_fold_is_refused(binary_dataset: Path, fold: tuple) -> None:
    with pytest.raises(InputError, match="expected \\(member i, folds k\\)"):
        open_dataset(binary_dataset, fold=fold)


def test_more_folds_than_training_examples_is_refused(make_dataset: Callable[..., Path]) -> None:
    with pytest.raises(InputError, match="4 training examples cannot be cut into 5 folds"):
        open_dataset(make_dataset(sizes=(4, 4, 4)), fold=(1, 5))


def _shard_rows(
    tmp_path: Path, sizes: list[int], row_shape: tuple[int, ...] = (3, 4)
) -> tuple[ShardRows, np.ndarray]:
    """Shards of ``sizes`` rows written as .npy files, their reader and their rows concatenated."""
    rows = np.arange(sum(sizes) * int(np.prod(row_shape)), dtype=np.float32).reshape(sum(sizes), *row_shape)
    bounds = np.cumsum([0, *sizes])
    for k, (first, last) in enumerate(zip(bounds[:-1], bounds[1:], strict=False)):
        save_npy(rows[first:last], tmp_path / f"s{k}.npy")
    return ShardRows([load_npy(tmp_path / f"s{k}.npy", mmap=True) for k in range(len(sizes))]), rows


def test_shard_rows_reads_any_rows_in_the_order_asked(tmp_path: Path) -> None:
    reader, rows = _shard_rows(tmp_path, [5, 0, 7, 3])
    wanted_sets = [
        np.arange(15),
        np.array([14, 0, 5, 6, 7, 4, 4, 12]),
        np.array([11]),
        np.array([], dtype=np.int64),
        np.random.default_rng(1).permutation(15),
    ]
    for wanted in wanted_sets:
        np.testing.assert_array_equal(reader.read(wanted), rows[wanted])
    with pytest.raises(IndexError):
        reader.read(np.array([3, 15]))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RssFile from Linux's /proc")
def test_shard_rows_keep_streamed_data_out_of_resident_memory(tmp_path: Path) -> None:
    """Pages read through a memory map count in the process's RSS; positioned reads do not."""
    reader, _ = _shard_rows(tmp_path, [2048], row_shape=(4096,))  # 32 MiB
    mapped = load_npy(tmp_path / "s0.npy", mmap=True)
    order = np.random.default_rng(0).permutation(2048)
    before = _rss_file_mib()
    for first in range(0, 2048, 64):
        reader.read(order[first : first + 64])
    after_reads = _rss_file_mib()
    for first in range(0, 2048, 64):
        np.asarray(mapped[np.sort(order[first : first + 64])])
    after_map = _rss_file_mib()
    assert after_reads - before < 4
    assert after_map - after_reads > 24  # the check can tell the two apart


def _rss_file_mib() -> float:
    line = next(
        line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("RssFile:")
    )
    return int(line.split()[1]) / 1024


def test_truncated_shard_is_reported(tmp_path: Path) -> None:
    reader, _ = _shard_rows(tmp_path, [4, 4])
    with open(tmp_path / "s1.npy", "r+b") as handle:
        handle.truncate(handle.seek(0, 2) - 10)
    np.testing.assert_array_equal(reader.read(np.array([0, 1, 2, 3])).shape, (4, 3, 4))
    with pytest.raises(InputError, match="s1.npy.*truncated"):
        reader.read(np.array([7]))
