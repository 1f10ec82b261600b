"""biodl.data.dna.from_tracks: a regression dataset from coverage tracks and peak strengths."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import pyfaidx
import pytest
from dna_fixtures import load_split, run, write_genome

from biodl.core.errors import InputError
from biodl.data.dna import encode

SIZE = 20000  # each of chr1..chr3 in the fixture genome


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Config paths are relative to the working directory, as in a Snakemake run."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def genome(tmp_path):
    """The fixture genome (3 x 20 kb) with a bigWig (random values, a gap every 1 kb), a
    bedGraph of 100 bp steps and the fixture peaks as a narrowPeak with a signalValue each."""
    folder = write_genome(tmp_path)
    rng = np.random.default_rng(4)
    chroms = ("chr1", "chr2", "chr3")
    bigwig = pyBigWig.open(str(folder / "cov.bw"), "w")
    bigwig.addHeader([(c, SIZE) for c in chroms])
    for chrom in chroms:
        for start in range(0, SIZE, 1000):
            bigwig.addEntries(chrom, start, values=rng.gamma(2.0, 2.0, 900).tolist(), span=1, step=1)
    bigwig.close()
    steps = [(c, s, s + 100, round(float(rng.uniform(0, 9)), 3)) for c in chroms for s in range(0, SIZE, 100)]
    (folder / "steps.bedGraph").write_text("".join(f"{c}\t{s}\t{e}\t{v}\n" for c, s, e, v in steps))
    peaks = pd.read_csv(folder / "peaks.bed", sep="\t", header=None).iloc[:-1]
    peaks[6] = np.round(rng.uniform(1, 30, len(peaks)), 2)
    peaks[7], peaks[8], peaks[9] = 1.0, 1.0, -1
    peaks[4] = 0
    peaks.to_csv(folder / "peaks.narrowPeak", sep="\t", header=False, index=False)
    return folder


def tracks_dataset(**overrides):
    spec = {
        "modality": "dna",
        "genome": "genome.fa",
        "tracks": {
            "coverage": {"path": "cov.bw", "statistic": "mean", "uncovered": "skip"},
            "steps": {"path": "steps.bedGraph", "statistic": "log1p_sum"},
            "strength": {"path": "peaks.narrowPeak", "statistic": "max"},
        },
        "windows": {"regions": "peaks.narrowPeak"},
        "length": 200,
        "split": {"validation": ["chr2"], "test": ["chr3"]},
    }
    spec.update(overrides)
    return spec


def reference(folder, row):
    """The three targets of one window, recomputed from the files."""
    bigwig = pyBigWig.open(str(folder / "cov.bw"))
    coverage = bigwig.stats(row.chrom, row.start, row.end, type="mean", exact=True)[0]
    steps = pd.read_csv(folder / "steps.bedGraph", sep="\t", header=None)
    on = steps[steps[0] == row.chrom]
    inside = np.maximum(np.minimum(on[2], row.end) - np.maximum(on[1], row.start), 0)
    peaks = pd.read_csv(folder / "peaks.narrowPeak", sep="\t", header=None)
    near = peaks[(peaks[0] == row.chrom) & (peaks[1] < row.end) & (peaks[2] > row.start)]
    return [coverage, np.log1p((inside * on[3]).sum()), near[6].max() if len(near) else 0.0]


def test_every_window_gets_one_target_per_track(genome):
    out, description, metadata = run(genome, tracks_dataset(shard_size=16))
    assert description["task"] == "regression" and description["classes"] == []
    assert description["targets"] == ["coverage", "steps", "strength"]
    assert set(metadata["source"]) == {"regions"}
    fasta = pyfaidx.Fasta(str(genome / "genome.fa"))
    for split, chrom in (("train", "chr1"), ("validation", "chr2"), ("test", "chr3")):
        x, y = load_split(out, description, split)
        rows = metadata[metadata["split"] == split]
        assert set(rows["chrom"]) == {chrom} and len(rows) == len(y) > 10
        for k, row in enumerate(rows.itertuples()):
            np.testing.assert_allclose(y[k], reference(genome, row), rtol=1e-5)
            sequence = fasta[row.chrom][row.start : row.end]
            expected = (sequence.reverse.complement if row.strand == "-" else sequence).seq.upper()
            assert encode.decode(x[k].argmax(-1)) == expected
            assert row.label == ";".join(f"{v:.6g}" for v in y[k])


def test_bins_tile_every_chromosome_with_the_stride_and_leave_out_n_bins(genome):
    fasta = (genome / "genome.fa").read_text().split("\n")
    fasta[1] = "N" * len(fasta[1])  # chr1's first 60 bases
    (genome / "genome.fa").write_text("\n".join(fasta))
    spec = tracks_dataset(windows={"stride": 500, "max_ambiguous": 0.2})
    out, description, metadata = run(genome, spec)
    assert set(metadata["source"]) == {"bins"}
    starts = {c: sorted(metadata.loc[metadata["chrom"] == c, "start"]) for c in ("chr1", "chr2", "chr3")}
    assert starts["chr2"] == list(range(0, SIZE - 200 + 1, 500))
    assert starts["chr1"] == list(range(500, SIZE - 200 + 1, 500))  # 60 of 200 bases N: left out
    _, y = load_split(out, description, "validation")
    assert y.shape == (len(starts["chr2"]), 3) and np.isfinite(y).all()


def test_bins_inside_regions_are_tiled_from_each_merged_region_and_end_inside_it(genome):
    # chr1: [1000, 1700) and [1500, 2300) overlap (one region [1000, 2300)), [5000, 5150) is
    # shorter than a bin; chr2: [19500, 20000) ends at the chromosome end; chr3 two bins.
    regions = [
        ("chr1", 1500, 2300),
        ("chr1", 1000, 1700),
        ("chr1", 5000, 5150),
        ("chr2", 19500, SIZE),
        ("chr3", 300, 700),
        ("chr3", 0, 60),
    ]
    (genome / "tiles.bed").write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in regions))
    fasta = (genome / "genome.fa").read_text().split("\n")
    fasta[1] = "N" * len(fasta[1])  # chr1's first 60 bases: no bin there
    (genome / "genome.fa").write_text("\n".join(fasta))
    spec = tracks_dataset(
        tracks={"steps": {"path": "steps.bedGraph"}}, windows={"regions": "tiles.bed", "stride": 150}
    )
    out, description, metadata = run(genome, spec)
    assert set(metadata["source"]) == {"bins"}
    starts = {c: sorted(metadata.loc[metadata["chrom"] == c, "start"]) for c in ("chr1", "chr2", "chr3")}
    assert starts["chr1"] == list(range(1000, 2300 - 200 + 1, 150))  # each bin once, none past 2300
    assert starts["chr2"] == [19500, 19650, 19800]  # the last ends exactly at the chromosome end
    assert starts["chr3"] == [300, 450]
    assert (metadata["end"] - metadata["start"] == 200).all()
    _, y = load_split(out, description, "validation")
    steps = pd.read_csv(genome / "steps.bedGraph", sep="\t", header=None)
    on = steps[steps[0] == "chr2"]
    for k, start in enumerate(starts["chr2"]):
        inside = np.maximum(np.minimum(on[2], start + 200) - np.maximum(on[1], start), 0)
        np.testing.assert_allclose(y[k, 0], (inside * on[3]).sum() / 200, rtol=1e-5)


def test_bins_inside_regions_leave_out_n_bins(genome):
    fasta = (genome / "genome.fa").read_text().split("\n")
    fasta[1] = "N" * len(fasta[1])  # chr1's first 60 bases
    (genome / "genome.fa").write_text("\n".join(fasta))
    (genome / "tiles.bed").write_text("chr1\t0\t1000\nchr2\t0\t1000\nchr3\t0\t1000\n")
    windows = {"regions": "tiles.bed", "stride": 100, "max_ambiguous": 0.3}
    _, _, metadata = run(genome, tracks_dataset(windows=windows))
    assert sorted(metadata.loc[metadata["chrom"] == "chr1", "start"]) == list(range(0, 801, 100))  # 60/200 N
    windows["max_ambiguous"] = 0.2
    _, _, metadata = run(genome, tracks_dataset(windows=windows))
    assert sorted(metadata.loc[metadata["chrom"] == "chr1", "start"]) == list(range(100, 801, 100))


def test_windows_without_a_value_are_dropped_and_counted(genome, caplog):
    spec = tracks_dataset(
        tracks={"coverage": {"path": "cov.bw", "uncovered": "missing"}}, windows={"stride": 250}
    )
    with caplog.at_level("INFO"):
        _, _, metadata = run(genome, spec)
    assert "track coverage:" in caplog.text and "window(s) without a value dropped" in caplog.text
    # Every bin reaching into a 100-base gap (900..1000 of each kb) is gone.
    assert ((metadata["end"] - 1) % 1000 < 900).all() and (metadata["start"] % 1000 < 900).all()


def test_a_split_without_windows_is_named(genome):
    spec = tracks_dataset(split={"validation": ["chr2"], "test": ["chr3:1-300"]})
    with pytest.raises(InputError, match=r"split 'test': 0 window\(s\) with values; expected at least 2"):
        run(genome, spec)


def test_an_unknown_file_name_needs_a_format(genome):
    (genome / "cov.data").write_bytes((genome / "cov.bw").read_bytes())
    with pytest.raises(
        InputError, match=r"datasets\.d\.tracks\.c\.format: cannot tell the format of cov\.data"
    ):
        run(genome, tracks_dataset(tracks={"c": {"path": "cov.data"}}))
    _, description, _ = run(genome, tracks_dataset(tracks={"c": {"path": "cov.data", "format": "bigwig"}}))
    assert description["targets"] == ["c"]


def test_a_bigwig_of_another_assembly_is_refused(genome):
    bigwig = pyBigWig.open(str(genome / "other.bw"), "w")
    bigwig.addHeader([("chr1", SIZE + 5)])
    bigwig.addEntries("chr1", 0, values=[1.0] * 10, span=1, step=1)
    bigwig.close()
    with pytest.raises(InputError, match=r"other\.bw, chromosome 'chr1': is 20,005 bases long in the bigWig"):
        run(genome, tracks_dataset(tracks={"c": {"path": "other.bw"}}))


def test_a_bigwig_named_without_chr_is_refused_with_the_hint(genome):
    bigwig = pyBigWig.open(str(genome / "bare.bw"), "w")
    bigwig.addHeader([(c, SIZE) for c in ("1", "2", "3")])
    bigwig.addEntries("1", 0, values=[1.0] * 10, span=1, step=1)
    bigwig.close()
    with pytest.raises(InputError, match=r"bare\.bw: chromosome 'chr1' .* the bigWig calls it '1'"):
        run(genome, tracks_dataset(tracks={"c": {"path": "bare.bw"}}))


@pytest.mark.parametrize(
    "overrides, key, message",
    [
        ({"windows": {}}, r"datasets\.d\.windows", "give windows.regions .* windows.stride .* or both"),
        (
            {"windows": {"regions": "peaks.bed", "stride": 10}, "edge": "pad"},
            r"datasets\.d\.edge",
            "does not apply .*tiled bins",
        ),
        ({"negatives": {"method": "gc_matched"}}, r"datasets\.d\.negatives\.method", "no negative class"),
        ({"classes": ["a", "b"]}, r"datasets\.d\.classes", "not regression"),
        (
            {"windows": {"regions": "peaks.bed", "max_ambiguous": 0.5}},
            r"datasets\.d\.windows\.max_ambiguous",
            "does not apply",
        ),
        ({"windows": {"stride": 100}, "anchor": "centre"}, r"datasets\.d\.anchor", "does not apply"),
    ],
)
def test_settings_that_cannot_apply_are_refused(genome, overrides, key, message):
    with pytest.raises(InputError, match=f"config, {key}: .*{message}"):
        run(genome, tracks_dataset(**overrides))


def test_windows_keys_without_tracks_are_refused(genome):
    spec = {
        "modality": "dna",
        "genome": "genome.fa",
        "regions": {"peak": "peaks.bed"},
        "negatives": {"method": "gc_matched"},
        "windows": {"stride": 100},
        "length": 200,
        "split": {"validation": ["chr2"], "test": ["chr3"]},
    }
    with pytest.raises(
        InputError, match=r"datasets\.d\.windows\.stride: does not apply .*genome with tracks or tasks"
    ):
        run(genome, spec)


def test_the_shipped_blood_demo_prepares_every_region_with_its_six_values(tmp_path):
    """config/tracks.yaml on resources/blood: real values over real chr20 sequence."""
    import yaml

    from biodl.config.checks import validate_config
    from biodl.config.datasets import dataset_settings
    from biodl.data.dna.prepare import prepare_dna
    from biodl.data.shards import PreparedFiles

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "config" / "tracks.yaml").read_text())
    config = validate_config(config, base_dir=root, workflow_dir=root)
    spec = dataset_settings("blood_cells", config["datasets"]["blood_cells"])
    spec = dataclasses.replace(
        spec,
        genome=str(root / spec.genome),
        windows=dataclasses.replace(spec.windows, regions=str(root / spec.windows.regions)),
        tracks={k: dataclasses.replace(t, path=str(root / t.path)) for k, t in spec.tracks.items()},
    )
    description = prepare_dna(spec, 42, PreparedFiles.in_folder(tmp_path / "out"))
    assert description["task"] == "regression"
    assert description["targets"] == ["Mono", "CD4", "CD8", "Nkcell", "Bcell", "Ery"]
    metadata = pd.read_csv(tmp_path / "out" / "metadata.tsv", sep="\t")
    assert metadata["split"].value_counts().to_dict() == {"train": 204, "validation": 44, "test": 44}
    # Each window is one region, and its targets are the region's values in the six bedGraphs.
    for t, name in enumerate(description["targets"]):
        graph = pd.read_csv(
            root / "resources" / "blood" / f"{name}.bedGraph", sep="\t", skiprows=1, header=None
        )
        values = dict(zip(graph[1], graph[3], strict=True))
        for split in ("train", "validation", "test"):
            _, y = load_split(tmp_path / "out", description, split)
            starts = metadata.loc[metadata["split"] == split, "start"]
            np.testing.assert_allclose(y[:, t], [values[s] for s in starts], rtol=1e-6)
