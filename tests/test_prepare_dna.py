"""biodl.data.dna.prepare: one DNA dataset's settings → shards, metadata.tsv and dataset.json."""

import json

import numpy as np
import pandas as pd
import pytest
from dna_fixtures import genome_dataset, run, write_genome, write_sequence_files

from biodl.config.datasets import check_dataset
from biodl.core import files
from biodl.core.errors import InputError
from biodl.data.dna.prepare import prepare_dna
from biodl.data.shards import PreparedFiles


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Config paths are relative to the working directory, as in a Snakemake run."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def genome(tmp_path):
    return write_genome(tmp_path)


def test_the_description_is_returned_and_written_last(tmp_path):
    write_sequence_files(tmp_path)
    spec = check_dataset(
        "ctcf_like",
        {
            "modality": "dna",
            "sequences": {"bound": "pos.fa"},
            "length": 80,
            "negatives": {"method": "shuffle"},
        },
    )
    files_out = PreparedFiles(tmp_path / "d.json", tmp_path / "m.tsv", tmp_path / "shards")
    description = prepare_dna(spec, 11, files_out)
    assert json.loads(files_out.dataset.read_text()) == description
    assert {k: description[k] for k in ("name", "modality", "task", "classes", "targets", "seed")} == {
        "name": "ctcf_like",
        "modality": "dna",
        "task": "binary",
        "classes": ["background", "bound"],
        "targets": ["bound"],
        "seed": 11,
    }
    assert description["input_shape"] == [80, 4] and description["ambiguous"] == "zeros"
    metadata = pd.read_csv(files_out.metadata, sep="\t")
    assert len(metadata) == sum(description["splits"][s]["n"] for s in ("train", "validation", "test"))
    assert sorted(p.name for p in files_out.shards.iterdir()) == sorted(
        f"{s.split('/')[1]}.{kind}.npy"
        for split in description["splits"].values()
        for s in split["shards"]
        for kind in ("x", "y")
    )


def test_same_seed_same_dataset_other_seed_other_negatives(genome):
    out, _, first = run(genome, genome_dataset())
    x1 = files.load_npy(out / "shards/train-00000.x.npy")
    _, _, again = run(genome, genome_dataset())
    np.testing.assert_array_equal(x1, files.load_npy(out / "shards/train-00000.x.npy"))
    pd.testing.assert_frame_equal(first, again)
    _, _, other = run(genome, genome_dataset(), seed=4)
    assert not first["start"].equals(other["start"])


def test_regions_of_three_classes_make_a_multiclass_task(genome):
    (genome / "other.bed").write_text(
        "".join(f"{c}\t{s}\t{s + 50}\n" for c in ("chr1", "chr2", "chr3") for s in (800, 2600, 4400))
    )
    _, description, _ = run(genome, genome_dataset(regions={"peak": "peaks.bed", "other": "other.bed"}))
    assert description["task"] == "multiclass"
    assert description["classes"] == ["background", "peak", "other"] == description["targets"]


def test_a_negative_label_that_is_also_a_class_is_refused(genome):
    with pytest.raises(InputError, match="negative label 'peak' is also a configured class"):
        run(genome, genome_dataset(negatives={"method": "gc_matched", "label": "peak"}))


def test_a_split_with_one_class_is_an_error_and_leaves_no_output(genome):
    (genome / "other.bed").write_text("chr1\t5000\t5100\nchr3\t5000\t5100\n")  # nothing on chr2
    with pytest.raises(InputError, match="split 'validation'.*holds only the class 'peak'"):
        run(
            genome,
            genome_dataset(negatives={"method": "none"}, regions={"peak": "peaks.bed", "other": "other.bed"}),
        )
    out = genome / "out"
    assert not (out / "dataset.json").exists() and not (out / "metadata.tsv").exists()
    assert not (out / "shards").exists()
