"""biodl.apply.known_sites: windows over known sites against the rest, by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biodl.apply import known_sites as module
from biodl.apply.known_sites import over_sites, read_known_sites, site_check
from biodl.core.errors import InputError
from biodl.evaluation.bootstrap import Resampling

SIZES = {"chr1": 1000, "chr2": 500}


def test_windows_whose_centre_is_in_a_site_are_over_it() -> None:
    scan = pd.DataFrame({"chrom": ["chr1"] * 6 + ["chr2"], "centre": [100, 110, 130, 160, 300, 398, 100]})
    sites = pd.DataFrame(
        {"chrom": ["chr1", "chr1", "chr1"], "start": [100, 150, 395], "end": [111, 160, 400]}
    )
    # [100, 111) holds centres 100 and 110; [150, 160) ends before 160; [395, 400) is narrower than
    # the stride (10): taken as [392, 402) around its middle 397, it holds 398. chr2 has no site.
    assert over_sites(scan, sites, 10).tolist() == [True, True, False, False, False, True, False]
    nested = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [0, 50], "end": [500, 60]})
    assert over_sites(scan, nested, 5).tolist() == [True] * 6 + [False]


def test_the_auroc_is_the_share_of_site_windows_outscoring_the_others() -> None:
    scan = pd.DataFrame({"chrom": "c", "centre": range(6), "a": [0.9, 0.4, 0.5, 0.1, 0.4, 0.3]})
    labels = np.array([True, True, False, False, False, False])
    check = site_check(scan, labels, ("a",), Resampling(seed=3, resamples=200, confidence=0.9))
    row = check.iloc[0]
    # Site windows 0.9 and 0.4 against 0.5, 0.1, 0.4, 0.3: 4 + (2 + 0.5 tie) wins of 8 pairs.
    assert (row["known_windows"], row["other_windows"]) == (2, 4)
    assert row["auroc"] == pytest.approx(6.5 / 8)
    assert row["auroc_ci_low"] <= row["auroc"] <= row["auroc_ci_high"] <= 1
    again = site_check(scan, labels, ("a",), Resampling(seed=3, resamples=200, confidence=0.9))
    assert again.equals(check)  # seeded
    plain = site_check(scan, labels, ("a",), Resampling(seed=3, resamples=0, confidence=0.9)).iloc[0]
    assert np.isnan(plain["auroc_ci_low"]) and plain["auroc"] == row["auroc"]
    none = site_check(scan, np.zeros(6, bool), ("a",), Resampling(seed=3, resamples=0, confidence=0.9))
    assert np.isnan(none["auroc"].iat[0]) and none["known_windows"].iat[0] == 0


def test_past_the_limit_site_windows_are_kept_and_others_sampled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MAX_CHECKED", 50)
    rng = np.random.default_rng(0)
    labels = np.zeros(1000, bool)
    labels[:10] = True
    scores = np.where(labels, 1.0, rng.uniform(0, 0.9, 1000))
    scan = pd.DataFrame({"chrom": "c", "centre": range(1000), "a": scores})
    row = site_check(scan, labels, ("a",), Resampling(seed=1, resamples=0, confidence=0.95)).iloc[0]
    assert row["auroc"] == 1.0 and (row["known_windows"], row["other_windows"]) == (10, 990)


def test_sites_on_a_chromosome_the_genome_lacks_are_refused(tmp_path: Path) -> None:
    (tmp_path / "sites.bed").write_text("chr1\t10\t20\n2\t5\t8\n")
    with pytest.raises(InputError, match=r"sites\.bed, line 2: chromosome '2' is not in the genome.*'chr2'"):
        read_known_sites(tmp_path / "sites.bed", SIZES)
    (tmp_path / "sites.bed").write_text("chr2\t10\t600\n")
    with pytest.raises(InputError, match=r"line 1: end 600 is past the end of chr2 \(length 500\)"):
        read_known_sites(tmp_path / "sites.bed", SIZES)
    (tmp_path / "sites.bed").write_text("chr2\t10\t60\n")
    assert read_known_sites(tmp_path / "sites.bed", SIZES)[["chrom", "start", "end"]].values.tolist() == [
        ["chr2", 10, 60]
    ]
