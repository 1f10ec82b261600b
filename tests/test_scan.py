"""biodl.apply.scan: windows slid over genome regions, scores equal to direct predictions, bigWigs
with the genome's chromosome sizes and values at window centres."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import pytest
from apply_fixtures import centre_model

from biodl.apply import scan as scan_module
from biodl.apply.scan import (
    TrackLayout,
    _bins,
    above_threshold,
    gather_parts,
    scan_centres,
    scan_parts,
    scan_regions,
    summarise_scan,
    track_file,
    write_part,
    write_tracks,
)
from biodl.apply.trained import TrainedModel, load_trained
from biodl.core.errors import InputError
from biodl.data.dna import encode

LENGTH = 40
SIZES = {"chr1": 400, "chr2": 150, "chrM": 30}


@pytest.fixture
def genome(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    rng = np.random.default_rng(6)
    chroms = {name: "".join(rng.choice(list("ACGT"), size)) for name, size in SIZES.items()}
    chroms["chr2"] = chroms["chr2"][:60] + "N" * 50 + chroms["chr2"][110:]  # a gap of 50 N
    text = "".join(
        f">{name}\n" + "\n".join(s[i : i + 60] for i in range(0, len(s), 60)) + "\n"
        for name, s in chroms.items()
    )
    (tmp_path / "genome.fa").write_text(text)
    return tmp_path / "genome.fa", chroms


@pytest.fixture
def model(make_dataset: Callable[..., Path], tmp_path: Path) -> TrainedModel:
    return load_trained(make_dataset(length=LENGTH), [centre_model(LENGTH, tmp_path / "m.keras")], True)


def test_centres_step_through_regions_and_stay_inside_chromosomes(caplog: pytest.LogCaptureFixture) -> None:
    regions = pd.DataFrame({"chrom": ["chr1", "chr1", "chr2"], "start": [0, 50, 100], "end": [100, 130, 150]})
    centres = scan_centres(regions, SIZES, LENGTH, 25)
    assert "1 window centre(s) dropped: within 20 bases" in caplog.text  # chr1:0
    # chr1: 0 and (within 20 bases of the start) dropped, 25 too; 50 and 75 from both regions, once.
    assert centres.values.tolist() == [
        ["chr1", 25], ["chr1", 50], ["chr1", 75], ["chr1", 100], ["chr1", 125], ["chr2", 100], ["chr2", 125],
    ]  # fmt: skip


@pytest.mark.parametrize("chunk", [8192, 2])  # one chunk per chromosome, or many (encoded ahead)
def test_scan_values_equal_direct_predictions_and_tracks_have_the_genome_sizes(
    model: TrainedModel,
    genome: tuple[Path, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
) -> None:
    monkeypatch.setattr(scan_module, "SCAN_CHUNK", chunk)
    path, chroms = genome
    (tmp_path / "scan.bed").write_text("chr1\t0\t400\nchr2\t20\t150\n")
    stride = 7
    scan, sizes = scan_regions(model, tmp_path / "scan.bed", path, tmp_path / "index", stride)
    assert sizes == SIZES
    # Sampled positions: a direct prediction of the window centred there is the scan's value.
    rng = np.random.default_rng(0)
    for row in scan.iloc[rng.choice(len(scan), 12, replace=False)].itertuples():
        window = chroms[row.chrom][row.centre - LENGTH // 2 : row.centre - LENGTH // 2 + LENGTH]
        direct = model.predict(encode.to_codes(window, "test", row.chrom)[None])[0, 0]
        assert row.bound == pytest.approx(direct, rel=1e-6)
    # Windows of N only (inside chr2's gap: centres 80 to 90, here 83 and 90) are skipped, not others with Ns.
    chr2 = scan.loc[scan["chrom"] == "chr2", "centre"].tolist()
    assert not any(80 <= c <= 90 for c in chr2) and {76, 97} <= set(chr2)
    assert len(chr2) == len(range(20, 130, stride)) - 2

    listing = write_tracks(
        scan, sizes, model.targets, TrackLayout(stride, LENGTH, 0.5, True), tmp_path / "tracks"
    )
    assert listing.values.tolist() == [
        ["bound", "bound.bw", "bound.above.bed", 0.5, (scan["bound"] >= 0.5).sum()]
    ]
    assert pd.read_csv(tmp_path / "tracks/tracks.tsv", sep="\t").equals(listing)
    track = pyBigWig.open(str(tmp_path / "tracks/bound.bw"))
    try:
        assert track.chroms() == SIZES
        for row in scan.iloc[rng.choice(len(scan), 12, replace=False)].itertuples():
            assert track.values(row.chrom, row.centre, row.centre + 1)[0] == pytest.approx(
                row.bound, rel=1e-6
            )
        assert np.isnan(track.values("chr2", 85, 86)[0])  # the gap has no value
        assert track.intervals("chrM") is None
    finally:
        track.close()


def test_an_absent_chromosome_is_refused_with_its_line(
    model: TrainedModel, genome: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    (tmp_path / "scan.bed").write_text("chr1\t0\t100\n2\t0\t100\n")
    with pytest.raises(
        InputError,
        match=r"scan\.bed, line 2: chromosome '2' is not in the genome; the genome calls it 'chr2'",
    ):
        scan_regions(model, tmp_path / "scan.bed", genome[0], tmp_path / "index", 10)


def test_bins_tile_the_centres_without_overlap() -> None:
    starts, ends = _bins(np.array([20, 30, 33, 90]), 10, 95)
    assert starts.tolist() == [15, 25, 28, 85]
    assert ends.tolist() == [25, 28, 38, 95]
    assert track_file("site a/b") == "site_a_b.bw"


def test_the_summary_names_the_top_window() -> None:
    scan = pd.DataFrame({"chrom": ["chr1", "chr1", "chr2"], "centre": [20, 30, 25], "a": [0.1, 0.9, 0.5]})
    summary = summarise_scan(scan, ("a",)).iloc[0]
    assert (summary["windows"], summary["max"], summary["max_chrom"], summary["max_centre"]) == (
        3,
        0.9,
        "chr1",
        30,
    )
    assert summary["mean"] == pytest.approx(0.5) and summary["median"] == pytest.approx(0.5)
    assert summary["q90"] == pytest.approx(0.82)


def test_parts_are_whole_chromosomes_small_ones_grouped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan_module, "PART_BASES", 100)
    regions = pd.DataFrame(
        {
            "chrom": ["chr1", "chr2", "chr1", "u1", "u2", "u3", "chrX"],
            "start": [0, 0, 500, 0, 0, 0, 0],
            "end": [60, 150, 560, 30, 30, 30, 10],
        }
    )
    # chr1: 120 bases (its two regions), chr2: 150, u1-u3: 90 together, then chrX closes them.
    assert scan_parts(regions) == [("chr1",), ("chr2",), ("u1", "u2", "u3", "chrX")]


def test_scan_in_parts_gathered_equals_direct_predictions(
    model: TrainedModel, genome: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    path, chroms = genome
    (tmp_path / "scan.bed").write_text("chr2\t20\t150\nchr1\t0\t400\n")
    stride, parts = 5, []
    for k, chromosomes in enumerate([("chr2",), ("chr1",)]):
        scan, sizes = scan_regions(
            model, tmp_path / "scan.bed", path, tmp_path / "index", stride, chromosomes
        )
        assert set(scan["chrom"]) == set(chromosomes)
        write_part(scan, tmp_path / f"part{k}.tsv")
        parts.append(tmp_path / f"part{k}.tsv")
    gathered = gather_parts(parts, model.targets)
    whole, _ = scan_regions(model, tmp_path / "scan.bed", path, tmp_path / "index", stride)
    assert len(gathered) == len(whole)
    layout = TrackLayout(stride, LENGTH, 0.5, True)
    write_tracks(gathered, sizes, model.targets, layout, tmp_path / "tracks")
    track = pyBigWig.open(str(tmp_path / "tracks/bound.bw"))
    try:
        rng = np.random.default_rng(1)
        for row in gathered.iloc[rng.choice(len(gathered), 15, replace=False)].itertuples():
            window = chroms[row.chrom][row.centre - LENGTH // 2 : row.centre - LENGTH // 2 + LENGTH]
            direct = model.predict(encode.to_codes(window, "test", row.chrom)[None])[0, 0]
            assert track.values(row.chrom, row.centre, row.centre + 1)[0] == pytest.approx(direct, rel=1e-6)
    finally:
        track.close()
    bed = pd.read_csv(tmp_path / "tracks/bound.above.bed", sep="\t", header=None)
    expected = whole[whole["bound"] >= 0.5]
    assert len(bed) == len(expected) > 0
    assert bed[0].tolist() == sorted(bed[0].tolist(), key=list(SIZES).index)  # genome order: chr1 first
    first = bed.iloc[0]
    assert first[2] - first[1] == LENGTH and first[3] == f"bound:{first[0]}:{first[1] + LENGTH // 2}"


def test_windows_above_threshold_are_bed_with_scaled_scores() -> None:
    scan = pd.DataFrame({"chrom": ["c", "c", "c"], "centre": [50, 60, 70], "a": [0.2, 0.5, 0.9]})
    bed = above_threshold(scan, "a", TrackLayout(10, 20, 0.5, True))
    assert bed.values.tolist() == [
        ["c", 50, 70, "a:c:60", 500, ".", 0.5],
        ["c", 60, 80, "a:c:70", 900, ".", 0.9],
    ]
    values = above_threshold(scan.assign(a=[2.0, 5.0, 9.0]), "a", TrackLayout(10, 20, 4.0, False))
    assert values["score"].tolist() == [0, 0] and values["value"].tolist() == [5.0, 9.0]
