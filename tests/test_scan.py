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

from biodl.apply.scan import _bins, scan_centres, scan_regions, summarise_scan, track_file, write_tracks
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


def test_scan_values_equal_direct_predictions_and_tracks_have_the_genome_sizes(
    model: TrainedModel, genome: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
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

    listing = write_tracks(scan, sizes, model.targets, stride, tmp_path / "tracks")
    assert listing.values.tolist() == [["bound", "bound.bw"]]
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
