"""biodl.data.dna.examples: classes and targets, shuffled copies, examples handed to the writer by split."""

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biodl.config.datasets import DnaDataset, check_dataset
from biodl.core.errors import InputError
from biodl.data.dna import encode
from biodl.data.dna.examples import DnaJob, Labelling, chunks, input_files, labelling
from biodl.data.shards import writer_for


def spec(**settings: object) -> DnaDataset:
    dataset = check_dataset(
        "d", {"modality": "dna", "sequences": {"a": "a.fa", "b": "b.fa"}, "length": 6, **settings}
    )
    assert isinstance(dataset, DnaDataset)
    return dataset


def job(tmp_path: Path, dataset: DnaDataset, seed: int = 1) -> DnaJob:
    (tmp_path / "shards").mkdir(exist_ok=True)
    writer = writer_for("dna", tmp_path / "shards", dataset.shard_size)
    return DnaJob(dataset, seed, np.random.default_rng(seed), writer, tmp_path)


def rows(names: list[str], split: list[str]) -> pd.DataFrame:
    n = len(names)
    return pd.DataFrame(
        {
            "source": "a.fa",
            "name": names,
            "chrom": ".",
            "start": -1,
            "end": -1,
            "strand": "+",
            "label": ["a"] * n,
            "split": split,
        }
    )


def test_classes_put_generated_negatives_first():
    assert labelling(spec(), ["a", "b"]) == Labelling(["a", "b"], "binary")
    with_negatives = labelling(spec(negatives={"method": "shuffle", "label": "bg"}), ["a", "b"])
    assert with_negatives == Labelling(["bg", "a", "b"], "multiclass")


def test_a_single_class_needs_negatives_and_a_negative_label_must_be_new():
    with pytest.raises(InputError, match="a single class needs negatives"):
        labelling(spec(), ["a"])
    with pytest.raises(InputError, match="negative label 'a' is also a configured class"):
        labelling(spec(negatives={"method": "shuffle", "label": "a"}), ["a"])


def test_targets_of_binary_and_multiclass_labels():
    labels = np.array(["b", "a", "b"], dtype=object)
    np.testing.assert_array_equal(Labelling(["a", "b"], "binary").targets(labels), [[1], [0], [1]])
    multiclass = Labelling(["c", "a", "b"], "multiclass").targets(labels)
    assert multiclass.dtype == np.float32
    np.testing.assert_array_equal(multiclass, [[0, 0, 1], [0, 1, 0], [0, 0, 1]])


def test_shuffles_are_named_copies_with_the_same_dinucleotides_and_seeded(tmp_path):
    dataset = spec(negatives={"method": "shuffle", "ratio": 3})
    codes = encode.to_codes("ACGTTGCAAC" * 3, "x", "r").reshape(3, 10)
    frame = rows(["s0", "s1", "s2"], ["train", "test", "train"])
    copies, shuffled = job(tmp_path, dataset).shuffled(frame, codes, "bg")
    assert copies["name"].tolist() == [f"s{i}_shuffle{k}" for i in range(3) for k in range(3)]
    assert copies["split"].tolist() == ["train"] * 3 + ["test"] * 3 + ["train"] * 3
    assert set(copies["label"]) == {"bg"} and set(copies["source"]) == {"dinucleotide_shuffle"}
    for i, copy in enumerate(shuffled):
        original = codes[i // 3]
        pairs = Counter(zip(original[:-1], original[1:], strict=True))
        assert Counter(zip(copy[:-1], copy[1:], strict=True)) == pairs
    _, again = job(tmp_path, dataset).shuffled(frame, codes, "bg")
    np.testing.assert_array_equal(shuffled, again)


def test_emit_hands_each_split_its_rows_in_order(tmp_path):
    run = job(tmp_path, spec())
    frame = rows(["r0", "r1", "r2", "r3"], ["test", "train", "test", "validation"])
    x = encode.one_hot(np.arange(24, dtype=np.uint8).reshape(4, 6) % 4)
    run.emit(frame, x, Labelling(["a", "b"], "binary"))
    run.writer.close()
    for split, expected in (("train", [1]), ("validation", [3]), ("test", [0, 2])):
        stored = np.load(tmp_path / "shards" / f"{split}-00000.x.npy")
        np.testing.assert_array_equal(stored, x[expected])
        labels = np.load(tmp_path / "shards" / f"{split}-00000.y.npy")
        np.testing.assert_array_equal(labels, np.zeros((len(expected), 1)))  # every row is class 'a'


def test_chunks_cover_the_range_once():
    assert [(s.start, s.stop) for s in chunks(10, 4)] == [(0, 4), (4, 8), (8, 10)]
    assert list(chunks(0, 4)) == []


def test_input_files_as_written_in_the_config():
    assert input_files(spec()) == "a.fa, b.fa"
    table = {"path": "t.tsv", "sequence_column": "s", "label_columns": ["y"]}
    assert input_files(check_dataset("t", {"modality": "dna", "table": table, "length": 5})) == "t.tsv"
