"""biodl.core.files: atomic writes, TSV and npy round trips, deletions confined to a run's folder."""

import os

import numpy as np
import pandas as pd
import pytest

from biodl.core import files


def test_a_killed_writers_leftovers_go_at_the_next_write(tmp_path):
    (tmp_path / ".x.tsv.abc123.tmp.tsv").write_text("half")
    (tmp_path / ".shards.def456.tmp").mkdir()
    (tmp_path / ".shards.def456.tmp" / "train-00000.x.npy").write_text("half")
    (tmp_path / ".other.tsv.abc.tmp.tsv").write_text("another target's")
    files.write_tsv(pd.DataFrame({"a": [1]}), tmp_path / "x.tsv")
    with files.atomic_dir(tmp_path / "shards") as folder:
        (folder / "done").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tsv.abc.tmp.tsv", "shards", "x.tsv"]


def test_atomic_path_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out" / "x.tsv"
    with pytest.raises(RuntimeError):
        with files.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists() and list(target.parent.iterdir()) == []
    with files.atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"


def test_atomic_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "shards"
    with files.atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError):
        with files.atomic_dir(target) as tmp:
            (tmp / "b").write_text("2")
            raise RuntimeError
    assert [p.name for p in tmp_path.iterdir()] == ["shards"]
    assert [p.name for p in target.iterdir()] == ["a"]


@pytest.mark.parametrize(
    "array",
    [
        np.random.default_rng(0).integers(
            0, 2, (300, 1000, 4), dtype=np.uint8
        ),  # 1.2 MB: more than one write
        np.ones((5, 1), np.float32),
        np.zeros((0, 7, 4), np.uint8),
        np.array(3.5),
        np.array(["ab", "c"]),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.arange(10)[::2],
        np.zeros(2, [("a", "<i4"), ("b", "<f8")]),
    ],
    ids=["shard", "labels", "empty", "scalar", "text", "fortran", "strided", "fields"],
)
def test_saved_arrays_are_byte_for_byte_what_numpy_saves(array, tmp_path):
    files.save_npy(array, tmp_path / "ours.npy")
    np.save(tmp_path / "numpy.npy", array)
    assert (tmp_path / "ours.npy").read_bytes() == (tmp_path / "numpy.npy").read_bytes()


def test_npy_round_trip_refuses_pickles(tmp_path):
    files.save_npy(np.arange(6, dtype=np.uint8).reshape(2, 3), tmp_path / "a.npy")
    assert files.load_npy(tmp_path / "a.npy", mmap=True).tolist() == [[0, 1, 2], [3, 4, 5]]
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        files.load_npy(tmp_path / "obj.npy")


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"id": ["a", "b"], "n": [1, -2], "ok": [True, False], "u": np.array([3, 4], np.uint8)}),
        pd.DataFrame({"text": ['say "hi"', "tab\there"], "n": [1, 2]}),  # quoted by pandas
        pd.DataFrame({"text": ["line\nbreak", ""], "n": [1, 2]}),
        pd.DataFrame({"x": [0.1, None], "n": [1, 2]}),  # floats and missing values
        pd.DataFrame({"x": np.array(["a", 3], dtype=object), "n": [1, 2]}),
        pd.DataFrame({"only": ["", "y"]}),  # a lone empty field is quoted
        pd.DataFrame(columns=["a", "b"]),
    ],
    ids=["plain", "quotes", "line-break", "floats", "mixed", "one-column", "empty"],
)
def test_tsv_text_is_what_pandas_writes(frame, tmp_path):
    for header in (True, False):
        assert files.tsv_text(frame, header) == frame.to_csv(sep="\t", index=False, header=header)
    files.write_tsv(frame, tmp_path / "t.tsv")
    frame.to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    assert (tmp_path / "t.tsv").read_bytes() == (tmp_path / "p.tsv").read_bytes()


def test_remove_tree_deletes_inside_its_root_only(tmp_path):
    root = tmp_path / "results" / "checkpoints"
    run = root / "ds" / "m"
    (run / "sub").mkdir(parents=True)
    (run / "sub" / "f").write_text("x")
    files.remove_tree(run, within=root)
    assert not run.exists() and root.is_dir()


@pytest.mark.parametrize(
    "dataset, model",
    [
        ("..", ".."),
        ("ds", ".."),
        ("..", "m"),
        ("ds", "../.."),
        (".", "."),
        ("ds", "."),
        ("ds", "/etc"),
        (".hidden", "m"),
        ("", "m"),
    ],
)
def test_a_run_folder_refuses_every_escape_by_name(tmp_path, dataset, model):
    root = tmp_path / "results" / "checkpoints"
    (root / "ds" / "m").mkdir(parents=True)
    (tmp_path / "results" / "m").mkdir()
    keep = tmp_path / "config.yaml"
    keep.write_text("precious")
    with pytest.raises(files.UnsafeDeletion, match="not one plain path component"):
        files.RunFolder(root, dataset, model).remove()
    # The lower-level guard on its own: the same paths, unnormalised, resolve outside the run's folder.
    with pytest.raises(files.UnsafeDeletion, match="refusing to delete"):
        files.remove_tree(os.path.join(root, dataset, model), within=root / "ds" / "m")
    assert (
        keep.read_text() == "precious"
        and (root / "ds" / "m").is_dir()
        and (tmp_path / "results" / "m").is_dir()
    )


def test_a_run_folder_removes_its_own_folder_only(tmp_path):
    root = tmp_path / "logs" / "tensorboard"
    for model in ("m", "m2"):
        (root / "ds" / model / "train").mkdir(parents=True)
    files.RunFolder(root, "ds", "m").remove()
    assert not (root / "ds" / "m").exists() and (root / "ds" / "m2" / "train").is_dir()


def test_remove_tree_refuses_a_link_out_of_its_root(tmp_path):
    outside = tmp_path / "home"
    outside.mkdir()
    (outside / "data.txt").write_text("precious")
    root = tmp_path / "logs" / "tensorboard"
    (root / "ds").mkdir(parents=True)
    (root / "ds" / "m").symlink_to(outside)
    with pytest.raises(files.UnsafeDeletion):
        files.remove_tree(root / "ds" / "m", within=root)
    assert (outside / "data.txt").read_text() == "precious"
