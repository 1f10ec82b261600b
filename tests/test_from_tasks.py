"""biodl.data.dna.from_tasks: a multi-label dataset from one interval file per task."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyfaidx
import pytest
from dna_fixtures import load_split, run, write_genome

from biodl.core.errors import InputError
from biodl.data.dna import encode
from biodl.data.dna.from_tasks import label_texts, union_regions
from biodl.data.dna.overlap import TaskIntervals


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Config paths are relative to the working directory, as in a Snakemake run."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def genome(tmp_path):
    """The fixture genome (3 x 20 kb); task a: its peaks (without the one whose window runs off
    chr1), b: every other one shifted by 120 bp, c: two 300 bp regions per chromosome."""
    folder = write_genome(tmp_path)
    peaks = pd.read_csv(folder / "peaks.bed", sep="\t", header=None).iloc[:-1, :3]
    peaks.to_csv(folder / "peaks_a.bed", sep="\t", header=False, index=False)
    shifted = peaks.iloc[::2].copy()
    shifted[[1, 2]] += 120
    shifted.to_csv(folder / "b.bed", sep="\t", header=False, index=False)
    wide = "".join(f"{c}\t{s}\t{s + 300}\n" for c in ("chr1", "chr2", "chr3") for s in (2000, 9000))
    (folder / "c.bed").write_text(wide)
    return folder


def tasks_dataset(**overrides):
    spec = {
        "modality": "dna",
        "genome": "genome.fa",
        "tasks": {"a": "peaks_a.bed", "b": "b.bed", "c": "c.bed"},
        "length": 200,
        "negatives": {"method": "gc_matched", "ratio": 1},
        "split": {"validation": ["chr2"], "test": ["chr3"]},
    }
    spec.update(overrides)
    return spec


def reference_labels(metadata, folder, measure, min_fraction):
    """Labels recomputed base by base (ambiguous: missing)."""
    files = {"a": "peaks_a.bed", "b": "b.bed", "c": "c.bed"}
    expected = np.zeros((len(metadata), 3), np.float32)
    for t, name in enumerate(files):
        regions = pd.read_csv(folder / files[name], sep="\t", header=None)
        for i, row in enumerate(metadata.itertuples()):
            same = regions[regions[0] == row.chrom]
            inside = np.minimum(same[2], row.end) - np.maximum(same[1], row.start)
            mask = np.zeros(row.end - row.start, bool)
            for s, e in same[[1, 2]].itertuples(index=False):
                mask[max(s, row.start) - row.start : max(min(e, row.end) - row.start, 0)] = True
            best = (np.maximum(inside, 0) / (same[2] - same[1])).max() if len(same) else 0.0
            covered = mask.sum()
            by_window = measure != "peak" and covered >= min_fraction * len(mask)
            if by_window or (measure != "window" and best >= min_fraction):
                expected[i, t] = 1
            elif covered:
                expected[i, t] = np.nan
    return expected


@pytest.mark.parametrize("measure, min_fraction", [("either", 0.5), ("window", 0.4), ("peak", 0.5)])
def test_every_window_is_labelled_by_overlap_for_every_task_and_splits_hold_out_chromosomes(
    genome, measure, min_fraction
):
    overlap = {"measure": measure, "min_fraction": min_fraction}
    out, description, metadata = run(genome, tasks_dataset(shard_size=32, overlap=dict(overlap)))
    assert description["task"] == "multilabel" and description["targets"] == ["a", "b", "c"]
    assert set(metadata["source"]) == {"tasks", "gc_matched"}
    fasta = pyfaidx.Fasta(str(genome / "genome.fa"), sequence_always_upper=True)
    for split, chrom in (("train", "chr1"), ("validation", "chr2"), ("test", "chr3")):
        rows = metadata[metadata["split"] == split]
        assert set(rows["chrom"]) == {chrom}  # whole chromosomes: nothing leaks
        x, y = load_split(out, description, split)
        assert y.shape == (len(rows), 3) and y.dtype == np.float32
        np.testing.assert_array_equal(y, reference_labels(rows, genome, **overlap))
        # Positives of every task; the windows of peaks of a and of b touch 20-30 bp of each other's
        # peaks: below the threshold, such a label is missing, not negative.
        assert (y == 1).any(axis=0).all() and np.isnan(y[:, :2]).any()
        for one_hot, row in zip(x[:5], rows.itertuples(), strict=False):
            assert encode.decode(one_hot.argmax(-1)) == fasta[row.chrom][row.start : row.end].seq
        texts = [";".join(t for t, v in zip("abc", labels, strict=True) if v == 1) for labels in y]
        assert rows["label"].fillna("").tolist() == texts


def test_windows_are_centred_on_the_merged_union_of_the_tasks(genome):
    _, _, metadata = run(genome, tasks_dataset(negatives={"method": "none"}, overlap={"merge_distance": 100}))
    union = metadata.loc[metadata["source"] == "tasks"]
    # Peak a at [500, 600) and its shifted copy b at [620, 720) merge into [500, 720): centre 610.
    assert ((union["chrom"] == "chr1") & (union["start"] == 610 - 100)).any()
    assert not ((union["chrom"] == "chr1") & (union["start"] == 550 - 100)).any()


@pytest.mark.parametrize("measure, min_fraction", [("either", 0.5), ("window", 0.3), ("peak", 0.6)])
def test_bins_over_the_genome_are_labelled_by_overlap_for_every_task(genome, measure, min_fraction):
    overlap = {"measure": measure, "min_fraction": min_fraction}
    spec = tasks_dataset(negatives={"method": "none"}, overlap=dict(overlap), windows={"stride": 150})
    out, description, metadata = run(genome, spec)
    assert set(metadata["source"]) == {"bins"}
    for split, chrom in (("train", "chr1"), ("validation", "chr2"), ("test", "chr3")):
        rows = metadata[metadata["split"] == split]
        assert sorted(rows["start"]) == list(range(0, 20000 - 200 + 1, 150))
        assert set(rows["chrom"]) == {chrom}
        _, y = load_split(out, description, split)
        np.testing.assert_array_equal(y, reference_labels(rows, genome, **overlap))
        assert (y == 1).any(axis=0).all() and (y == 0).any(axis=0).all()


def test_bins_inside_given_regions_are_labelled_by_overlap_beside_gc_matched_background(genome):
    regions = "".join(f"{c}\t{s}\t{s + 1500}\n" for c in ("chr1", "chr2", "chr3") for s in (0, 1000, 8500))
    (genome / "tiles.bed").write_text(regions)  # [0, 1000) and [1000, 2500) touch: one region
    spec = tasks_dataset(windows={"regions": "tiles.bed", "stride": 100})
    out, description, metadata = run(genome, spec)
    assert set(metadata["source"]) == {"bins", "gc_matched"}
    bins = metadata[metadata["source"] == "bins"]
    expected = list(range(0, 2500 - 200 + 1, 100)) + list(range(8500, 10000 - 200 + 1, 100))
    assert sorted(bins.loc[bins["chrom"] == "chr2", "start"]) == expected
    for split in ("train", "validation", "test"):
        rows = metadata[metadata["split"] == split]
        _, y = load_split(out, description, split)
        np.testing.assert_array_equal(y, reference_labels(rows, genome, "either", 0.5))


def test_one_window_per_given_region_is_labelled_by_overlap(genome):
    peaks = pd.concat(
        [pd.read_csv(genome / name, sep="\t", header=None)[[0, 1, 2]] for name in ("b.bed", "c.bed")]
    )
    peaks.to_csv(genome / "given.bed", sep="\t", header=False, index=False)
    spec = tasks_dataset(windows={"regions": "given.bed"}, anchor="centre")
    out, description, metadata = run(genome, spec)
    assert set(metadata["source"]) == {"regions", "gc_matched"}
    on_chr2 = peaks[peaks[0] == "chr2"]
    centred = sorted(((on_chr2[1] + on_chr2[2]) // 2 - 100).tolist())
    regions = metadata[(metadata["source"] == "regions") & (metadata["chrom"] == "chr2")]
    assert sorted(regions["start"]) == centred
    for split in ("train", "validation", "test"):
        rows = metadata[metadata["split"] == split]
        _, y = load_split(out, description, split)
        np.testing.assert_array_equal(y, reference_labels(rows, genome, "either", 0.5))


def test_genome_wide_bins_of_tasks_take_no_background_nor_merge_distance(genome):
    with pytest.raises(InputError, match=r"datasets\.d\.negatives\.method: bins tiled over the whole genome"):
        run(genome, tasks_dataset(windows={"stride": 150}))
    spec = tasks_dataset(
        negatives={"method": "none"}, windows={"stride": 150}, overlap={"merge_distance": 10}
    )
    with pytest.raises(InputError, match=r"datasets\.d\.overlap\.merge_distance: does not apply"):
        run(genome, spec)


def test_a_task_without_positives_in_a_split_is_named(genome):
    (genome / "c.bed").write_text("chr1\t2000\t2700\nchr2\t2000\t2700\n")  # nothing on chr3
    with pytest.raises(InputError, match=r"task 'c', split 'test': 0 positive"):
        run(genome, tasks_dataset())


def test_a_task_on_chromosomes_the_genome_lacks_suggests_the_prefix(genome):
    (genome / "c.bed").write_text("chr1\t2000\t2700\n2\t2000\t2700\n")
    with pytest.raises(
        InputError, match=r"c\.bed, line 2: chromosome '2' is not in the genome.*calls it 'chr2'"
    ):
        run(genome, tasks_dataset())


@pytest.mark.parametrize(
    "overrides, key, message",
    [
        ({"negatives": {"method": "shuffle"}}, "negatives.method", "gc_matched background"),
        ({"classes": ["a", "b", "c"]}, "classes", "tasks are labels of their own"),
        ({"anchor": "centre"}, "anchor", "centred on the merged regions"),
        ({"regions": {"p": "peaks.bed"}}, "", "regions .* or tasks"),
    ],
)
def test_settings_that_cannot_apply_to_tasks_are_refused(genome, overrides, key, message):
    with pytest.raises(InputError, match=rf"datasets\.d{'.' + key if key else ''}.*{message}"):
        run(genome, tasks_dataset(**overrides))


def test_overlap_settings_are_refused_without_tasks(genome):
    spec = tasks_dataset(regions={"p": "peaks.bed"}, overlap={"min_fraction": 0.2})
    del spec["tasks"]
    with pytest.raises(InputError, match=r"datasets\.d\.overlap\.min_fraction: does not apply"):
        run(genome, spec)


def test_union_regions_merges_across_tasks_within_the_distance():
    a = TaskIntervals.build("a", pd.DataFrame({"chrom": ["x", "x"], "start": [0, 100], "end": [10, 110]}))
    b = TaskIntervals.build("b", pd.DataFrame({"chrom": ["x", "y"], "start": [15, 5], "end": [20, 6]}))
    assert union_regions([a, b], 0)[["chrom", "start", "end"]].values.tolist() == [
        ["x", 0, 10],
        ["x", 15, 20],
        ["x", 100, 110],
        ["y", 5, 6],
    ]
    assert union_regions([a, b], 5)[["start", "end"]].values.tolist() == [[0, 20], [100, 110], [5, 6]]


def test_label_texts_name_the_positive_tasks():
    y = np.array([[1, 0, np.nan], [0, 0, 0], [1, 1, 1]], np.float32)
    assert label_texts(y, ["a", "b", "c"]) == ["a", "", "a;b;c"]


def test_the_shipped_insulator_demo_prepares_with_both_labels_of_every_task_in_every_split(tmp_path):
    """config/insulators.yaml on resources/fly: real peaks over real dm3 sequence."""
    import yaml

    from biodl.config.checks import validate_config
    from biodl.config.datasets import dataset_settings
    from biodl.data.dna.prepare import prepare_dna
    from biodl.data.shards import PreparedFiles

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "config" / "insulators.yaml").read_text())
    for key, path in config["datasets"]["fly_insulators"]["tasks"].items():
        config["datasets"]["fly_insulators"]["tasks"][key] = str(root / path)
    config["datasets"]["fly_insulators"]["genome"] = str(
        root / config["datasets"]["fly_insulators"]["genome"]
    )
    config = validate_config(config, base_dir=root, workflow_dir=root)
    spec = dataset_settings("fly_insulators", config["datasets"]["fly_insulators"])
    description = prepare_dna(spec, 42, PreparedFiles.in_folder(tmp_path / "out"))
    assert description["targets"] == list(spec.tasks)
    metadata = pd.read_csv(tmp_path / "out" / "metadata.tsv", sep="\t")
    for split, chroms in (("validation", {"chrX"}), ("test", {"chr2L"})):
        _, y = load_split(tmp_path / "out", description, split)
        assert set(metadata.loc[metadata["split"] == split, "chrom"]) == chroms
        assert ((y == 1).sum(axis=0) >= 10).all() and ((y == 0).sum(axis=0) >= 10).all()
