"""Tests of biodl.interpret.inputs: which rows give filter sites per group, which tasks are
explained, and reading chosen rows of several splits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from biodl.data.dataset import open_dataset
from biodl.interpret.inputs import Pool, explained_tasks, site_groups, split_arrays


def test_groups_and_tasks_of_a_multilabel_dataset(make_dataset: Callable[..., Path]) -> None:
    dataset = open_dataset(make_dataset(task="multilabel"))
    _, y = split_arrays(dataset, "train")
    y[0, 1] = np.nan  # a missing label: neither positive for site_b nor in "none"
    names, groups = site_groups(dataset, y)
    assert names == ["site_a", "site_b", "none"]
    np.testing.assert_array_equal(groups[:, 0], y[:, 0] == 1)
    assert not groups[0, 1] and not groups[0, 2]
    tasks = explained_tasks(dataset, y, top=1)
    counts = [(np.nan_to_num(y[:, j]) == 1).sum() for j in range(2)]
    assert len(tasks) == 1 and tasks[0].unit == int(np.argmax(counts))
    assert len(tasks[0].rows) == max(counts)


def test_groups_and_tasks_of_binary_and_multiclass_datasets(make_dataset: Callable[..., Path]) -> None:
    binary = open_dataset(make_dataset(task="binary"))
    _, y = split_arrays(binary, "test")
    names, groups = site_groups(binary, y)
    assert names == ["background", "bound"] and (groups.sum(axis=1) == 1).all()
    multiclass = open_dataset(make_dataset(task="multiclass"))
    _, y = split_arrays(multiclass, "test")
    names, groups = site_groups(multiclass, y)
    assert names == ["alpha", "beta", "gamma"] and (groups.sum(axis=1) == 1).all()
    tasks = explained_tasks(multiclass, y, top=3)
    assert sorted(t.name for t in tasks) == names
    assert sum(len(t.rows) for t in tasks) == len(y)


def test_a_pool_reads_the_rows_asked_for_across_splits(make_dataset: Callable[..., Path]) -> None:
    dataset = open_dataset(make_dataset(task="binary", shard_size=16))
    pool = Pool(dataset, ("train", "validation", "test"))
    train, _ = split_arrays(dataset, "train")
    test, _ = split_arrays(dataset, "test")
    n_train, n_validation = dataset.n("train"), dataset.n("validation")
    rows = np.array([n_train + n_validation + 3, 5, 0])
    x = pool.inputs(rows)
    np.testing.assert_array_equal(x[0], test[3])
    np.testing.assert_array_equal(x[1], train[5])
    meta = pool.metadata(rows)
    assert meta["name"].tolist() == ["test_3", "train_5", "train_0"]
    assert len(pool.y) == n_train + n_validation + dataset.n("test")
