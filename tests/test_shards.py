import numpy as np
import pandas as pd
import pytest

from biodl.core import files
from biodl.core.errors import InputError
from biodl.data import format
from biodl.data.shards import ImageFiles, PreparedFiles, close_dataset, writer_for


def rows(labels, first):
    n = len(labels)
    return pd.DataFrame(
        {
            "source": "s.bed",
            "name": [f"r{first + i}" for i in range(n)],
            "chrom": "c",
            "start": np.arange(first, first + n),
            "end": np.arange(first, first + n) + 2,
            "strand": "+",
            "label": labels,
        }
    )


def add(writer, split, labels, first):
    n = len(labels)
    x = np.arange(first, first + n, dtype=np.uint8)[:, None, None].repeat(2, 1).repeat(4, 2)
    y = (np.array(labels) == "b").astype(np.float32)[:, None]
    writer.add(split, x, y, rows(labels, first))


def test_shards_fill_across_adds_and_metadata_follows_the_order_they_are_written(tmp_path):
    writer = writer_for("dna", tmp_path, 3)
    add(writer, "train", ["a", "b"], 0)
    add(writer, "test", ["a", "b", "a", "b"], 10)  # fills test-00000, one row left over
    add(writer, "train", ["b", "a", "b", "a"], 2)  # fills train-00000 then train-00001
    add(writer, "validation", ["a", "b"], 20)
    description = close_dataset(writer, {"task": "binary"}, "s.bed", tmp_path / "metadata.tsv")
    assert description["splits"] == {
        "train": {"n": 6, "shards": ["shards/train-00000", "shards/train-00001"]},
        "validation": {"n": 2, "shards": ["shards/validation-00000"]},
        "test": {"n": 4, "shards": ["shards/test-00000", "shards/test-00001"]},
    }
    assert description["counts"] == {
        "train": {"a": 3, "b": 3},
        "validation": {"a": 1, "b": 1},
        "test": {"a": 2, "b": 2},
    }
    metadata = pd.read_csv(tmp_path / "metadata.tsv", sep="\t")
    assert list(metadata.columns) == list(format.METADATA_COLUMNS["dna"])
    # Shards in the order they were written, each row where its example is.
    assert metadata["shard"].tolist() == ["shards/test-00000"] * 3 + ["shards/train-00000"] * 3 + [
        "shards/train-00001"
    ] * 3 + ["shards/validation-00000"] * 2 + ["shards/test-00001"]
    for shard, group in metadata.groupby("shard"):
        x = files.load_npy(tmp_path / f"{shard.split('/')[1]}.x.npy")
        assert x.shape == (len(group), 2, 4) and x[group["offset"], 0, 0].tolist() == group["start"].tolist()
        assert group["offset"].tolist() == list(range(len(group)))


def test_a_split_without_two_classes_is_refused_and_no_metadata_written(tmp_path):
    writer = writer_for("dna", tmp_path, 4)
    add(writer, "train", ["a", "b"], 0)
    add(writer, "validation", ["a", "a"], 2)
    add(writer, "test", ["b"], 4)
    with pytest.raises(InputError, match="split 'validation': holds only the class 'a'"):
        close_dataset(writer, {"task": "binary"}, "s.bed", tmp_path / "metadata.tsv")
    assert not (tmp_path / "metadata.tsv").exists()
    empty = writer_for("dna", tmp_path, 4)
    add(empty, "train", ["a", "b"], 0)
    with pytest.raises(InputError, match="split 'validation': no examples"):
        close_dataset(empty, {"task": "binary"}, "s.bed", tmp_path / "metadata.tsv")


def test_inputs_of_another_dtype_in_the_same_split_are_a_bug(tmp_path):
    writer = writer_for("dna", tmp_path, 4)
    add(writer, "train", ["a"], 0)
    with pytest.raises(TypeError):
        writer.add("train", np.zeros((1, 2, 4), np.float32), np.zeros((1, 1), np.float32), rows(["a"], 1))


def test_a_slot_filled_in_place_is_written_like_an_added_copy(tmp_path):
    writer = writer_for("dna", tmp_path, 3)
    add(writer, "train", ["a"], 0)
    assert writer.room("train") == 2
    with pytest.raises(ValueError, match="room for 2"):
        writer.slot("train", 3, (2, 4), np.uint8)
    slot = writer.slot("train", 2, (2, 4), np.uint8)
    slot[:] = np.arange(1, 3, dtype=np.uint8)[:, None, None]
    writer.add("train", slot, np.array([[1.0], [0.0]], np.float32), rows(["b", "a"], 1))  # fills train-00000
    assert writer.room("train") == 3
    # A slot of a split not yet seen makes its buffer.
    writer.slot("test", 1, (2, 4), np.uint8)[:] = 5
    writer.add(
        "test", writer.slot("test", 1, (2, 4), np.uint8), np.array([[1.0]], np.float32), rows(["b"], 5)
    )
    writer.close()
    np.testing.assert_array_equal(files.load_npy(tmp_path / "train-00000.x.npy")[:, 0, 0], [0, 1, 2])
    np.testing.assert_array_equal(
        files.load_npy(tmp_path / "test-00000.x.npy"), np.full((1, 2, 4), 5, np.uint8)
    )


def test_prepared_files_in_one_folder(tmp_path):
    files_in = PreparedFiles.in_folder(tmp_path / "d")
    assert (files_in.dataset, files_in.metadata, files_in.shards) == (
        tmp_path / "d" / "dataset.json",
        tmp_path / "d" / "metadata.tsv",
        tmp_path / "d" / "shards",
    )
    image = ImageFiles.in_folder(str(tmp_path / "d"))
    assert image.shards == files_in.shards and image.preview == tmp_path / "d" / "preview.png"
