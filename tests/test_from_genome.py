"""biodl.data.dna.from_genome: windows of regions on a genome, hold-outs, GC-matched or shuffled negatives."""

from collections import Counter

import numpy as np
import pyfaidx
import pytest
from dna_fixtures import genome_dataset, load_split, run, write_genome

from biodl.core.errors import InputError
from biodl.data.dna import encode


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Config paths are relative to the working directory, as in a Snakemake run."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def genome(tmp_path):
    return write_genome(tmp_path)


def test_genome_windows_match_the_genome_on_both_strands(genome):
    out, description, metadata = run(genome, genome_dataset(shard_size=16))
    fasta = pyfaidx.Fasta(str(genome / "genome.fa"), sequence_always_upper=True)
    assert description["task"] == "binary" and description["classes"] == ["background", "peak"]
    assert "edge" not in set(metadata["name"])  # dropped at the chromosome start
    for split in ("train", "validation", "test"):
        x, y = load_split(out, description, split)
        rows = metadata[metadata["split"] == split]
        assert len(x) == len(rows) == description["splits"][split]["n"]
        assert x.dtype == np.uint8 and x.shape[1:] == (200, 4)
        assert len(description["splits"][split]["shards"]) > 1  # written shard by shard
        for one_hot, row, label in zip(x, rows.itertuples(), y[:, 0], strict=True):
            region = fasta[row.chrom][row.start : row.end]
            expected = region.reverse.complement.seq if row.strand == "-" else region.seq
            assert encode.decode(one_hot.argmax(-1)) == expected
            assert label == (row.label == "peak")


def test_chromosome_holdouts_do_not_leak_and_negatives_avoid_positives(genome):
    _, description, metadata = run(genome, genome_dataset())
    assert set(metadata.loc[metadata["split"] == "validation", "chrom"]) == {"chr2"}
    assert set(metadata.loc[metadata["split"] == "test", "chrom"]) == {"chr3"}
    assert set(metadata.loc[metadata["split"] == "train", "chrom"]) == {"chr1"}
    for counts in description["counts"].values():
        assert counts["background"] == 2 * counts["peak"]
    peaks = metadata[metadata["label"] == "peak"]
    background = metadata[metadata["label"] == "background"]
    for row in background.itertuples():
        same = peaks[peaks["chrom"] == row.chrom]
        assert not ((same["start"] < row.end) & (same["end"] > row.start)).any()


def test_gc_matched_negatives_avoid_the_blacklist(genome):
    (genome / "blacklist.bed").write_text("chr1\t0\t12000\n")
    _, _, metadata = run(
        genome, genome_dataset(negatives={"method": "gc_matched", "blacklist": "blacklist.bed"})
    )
    background = metadata[(metadata["label"] == "background") & (metadata["chrom"] == "chr1")]
    assert len(background) and (background["start"] >= 12000).all()


def test_shuffled_negatives_follow_their_window_and_keep_its_dinucleotides(genome):
    out, description, metadata = run(genome, genome_dataset(negatives={"method": "shuffle", "ratio": 2}))
    x, _ = load_split(out, description, "train")
    train = metadata[metadata["split"] == "train"].reset_index(drop=True)
    windows = train[train["label"] == "peak"]
    shuffles = train[train["source"] == "dinucleotide_shuffle"]
    assert len(shuffles) == 2 * len(windows) and set(shuffles["label"]) == {"background"}
    by_name = {name: i for i, name in enumerate(train["name"])}
    for row in shuffles.itertuples():
        original = x[by_name[row.name.split("_shuffle")[0]]].argmax(-1)
        shuffled = x[row.Index].argmax(-1)
        assert row.split == "train" and row.chrom == train["chrom"][by_name[row.name.split("_shuffle")[0]]]
        assert Counter(zip(original[:-1], original[1:], strict=True)) == Counter(
            zip(shuffled[:-1], shuffled[1:], strict=True)
        )


def test_conflicting_labels_leave_an_empty_dataset_error(genome):
    with pytest.raises(InputError, match="every region was filtered out"):
        run(
            genome,
            genome_dataset(negatives={"method": "none"}, regions={"peak": "peaks.bed", "other": "peaks.bed"}),
        )


def test_a_bed_without_regions_is_named(genome):
    (genome / "empty.bed").write_text("# nothing here\n")
    with pytest.raises(InputError) as caught:
        run(genome, genome_dataset(regions={"peak": "empty.bed"}))
    assert caught.value.source == "empty.bed" and "no regions found" in caught.value.problem


def test_edge_padding(genome):
    out, description, metadata = run(genome, genome_dataset(edge="pad"))
    row = metadata[metadata["name"] == "edge"].iloc[0]
    x, _ = load_split(out, description, row["split"])
    one_hot = x[metadata.index[metadata["split"] == row["split"]].get_loc(row.name)]
    assert row["start"] == -65 and one_hot[:65].sum() == 0 and (one_hot[65:].sum(-1) == 1).all()
