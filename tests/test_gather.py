"""biodl.apply.gather: a scan's parts (written by the part step) gathered into bigWigs, BEDs of
windows above threshold and a summary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import pytest
from apply_fixtures import centre_model, hand_score

from biodl.apply.gather import ScanSettings, apply_scan
from biodl.apply.steps import ApplyJob, apply_scan_part
from biodl.core.errors import InputError
from biodl.evaluation.bootstrap import Resampling

LENGTH = 40


@pytest.fixture
def job(make_dataset: Callable[..., Path], tmp_path: Path) -> ApplyJob:
    return ApplyJob(make_dataset(length=LENGTH), (centre_model(LENGTH, tmp_path / "m.keras"),), False, 1, 1)


@pytest.fixture
def chromosome(tmp_path: Path) -> str:
    sequence = "".join(np.random.default_rng(2).choice(list("ACGT"), 150))
    (tmp_path / "g.fa").write_text(f">chr1\n{sequence}\n>chr2\n{sequence[::-1]}\n")
    return sequence


def test_parts_are_gathered_into_tracks_beds_and_summary(
    job: ApplyJob, tmp_path: Path, chromosome: str
) -> None:
    (tmp_path / "s.bed").write_text("chr1\t0\t150\nchr2\t40\t100\n")
    parts = [tmp_path / "p1.tsv", tmp_path / "p2.tsv"]
    for chromosomes, part in zip([["chr1"], ["chr2"]], parts, strict=True):
        apply_scan_part(job, tmp_path / "s.bed", tmp_path / "g.fa", 10, chromosomes, {"part": part})
    outputs = {
        "tracks": tmp_path / "tracks",
        "summary": tmp_path / "summary.tsv",
        "track_plot": tmp_path / "track_plot.png",
    }
    apply_scan(job.dataset, parts[::-1], tmp_path / "g.fa", ScanSettings(10, 0.5), outputs)
    summary = pd.read_csv(outputs["summary"], sep="\t")
    centres = {"chr1": list(range(20, 131, 10)), "chr2": list(range(40, 100, 10))}
    sequences = {"chr1": chromosome, "chr2": chromosome[::-1]}
    assert summary[["task", "windows"]].values.tolist() == [["bound", 12 + 6]]
    track = pyBigWig.open(str(tmp_path / "tracks/bound.bw"))
    try:
        assert track.chroms() == {"chr1": 150, "chr2": 150}
        for chrom, positions in centres.items():
            for c in positions:
                assert track.values(chrom, c, c + 1)[0] == pytest.approx(
                    hand_score(sequences[chrom][c - 20 : c + 20], False), rel=1e-5
                )
    finally:
        track.close()
    # The centre model scores above 0.5 exactly the windows whose centre base is A.
    above = [
        (chrom, c) for chrom, positions in centres.items() for c in positions if sequences[chrom][c] == "A"
    ]
    bed = pd.read_csv(tmp_path / "tracks/bound.above.bed", sep="\t", header=None)
    assert list(zip(bed[0], bed[1] + LENGTH // 2, strict=True)) == above
    listing = pd.read_csv(tmp_path / "tracks/tracks.tsv", sep="\t")
    assert listing["windows_above"].tolist() == [len(above)]
    assert outputs["track_plot"].stat().st_size > 0


def test_known_sites_add_the_auroc_of_their_windows(job: ApplyJob, tmp_path: Path, chromosome: str) -> None:
    (tmp_path / "s.bed").write_text("chr1\t0\t150\n")
    apply_scan_part(job, tmp_path / "s.bed", tmp_path / "g.fa", 10, ["chr1"], {"part": tmp_path / "p.tsv"})
    (tmp_path / "sites.bed").write_text("chr1\t45\t75\n")  # the windows centred on 50, 60 and 70
    settings = ScanSettings(
        10, 0.5, tmp_path / "sites.bed", Resampling(seed=2, resamples=100, confidence=0.95)
    )
    outputs = {
        "tracks": tmp_path / "tracks",
        "summary": tmp_path / "summary.tsv",
        "track_plot": tmp_path / "track_plot.png",
    }
    apply_scan(job.dataset, [tmp_path / "p.tsv"], tmp_path / "g.fa", settings, outputs)
    row = pd.read_csv(outputs["summary"], sep="\t").iloc[0]
    part = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    known = part["centre"].isin([50, 60, 70])
    assert (row["known_sites"], row["known_windows"], row["other_windows"]) == (1, 3, len(part) - 3)
    pairs = [
        (a > b) + 0.5 * (a == b) for a in part.loc[known, "bound"] for b in part.loc[~known, "bound"]
    ]  # Mann-Whitney by brute force
    assert row["auroc"] == pytest.approx(np.mean(pairs))
    assert row["auroc_ci_low"] <= row["auroc"] <= row["auroc_ci_high"]
    (tmp_path / "sites.bed").write_text("1\t60\t61\n")
    with pytest.raises(InputError, match=r"sites\.bed, line 1: chromosome '1'.*'chr1'"):
        apply_scan(job.dataset, [tmp_path / "p.tsv"], tmp_path / "g.fa", settings, outputs)
