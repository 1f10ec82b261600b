"""biodl.data.dna.coverage: per-window statistics of a bigWig, checked against pyBigWig."""

import numpy as np
import pyBigWig
import pytest

from biodl.core.errors import InputError
from biodl.data.dna import coverage
from biodl.data.dna.coverage import open_track, window_statistic

SIZES = {"chr1": 5000, "chr2": 3000}


@pytest.fixture
def track(tmp_path):
    """A bigWig with random values in blocks and uncovered gaps between them."""
    path = tmp_path / "t.bw"
    rng = np.random.default_rng(1)
    handle = pyBigWig.open(str(path), "w")
    handle.addHeader(list(SIZES.items()))
    for chrom, size in SIZES.items():
        for start in range(0, size, 400):
            end = min(start + 300, size)  # bases [start + 300, start + 400) have no data
            values = rng.gamma(2.0, 3.0, end - start)
            handle.addEntries(chrom, start, values=values.tolist(), span=1, step=1)
    handle.close()
    return path


def windows(rng, n, length):
    chroms = rng.choice(list(SIZES), n).astype(object)
    starts = np.array([rng.integers(0, SIZES[c] - length + 1) for c in chroms])
    return chroms, starts, starts + length


@pytest.mark.parametrize("statistic", ["mean", "max", "sum"])
def test_skip_matches_pybigwig_exact_stats(track, statistic, monkeypatch):
    monkeypatch.setattr(coverage, "SPAN", 700)  # several runs per chromosome
    rng = np.random.default_rng(2)
    chroms, starts, ends = windows(rng, 200, 250)
    opened = open_track(track, SIZES, "g.fa")
    ours = window_statistic(opened, chroms, starts, ends, statistic, "skip")
    reference = pyBigWig.open(str(track))
    expected = [
        reference.stats(c, int(s), int(e), type=statistic, exact=True)[0]
        for c, s, e in zip(chroms, starts, ends, strict=True)
    ]
    np.testing.assert_allclose(ours, np.array(expected, float), rtol=1e-5)


def test_zero_missing_and_log1p_sum_against_the_values(track):
    rng = np.random.default_rng(3)
    chroms, starts, ends = windows(rng, 100, 120)
    opened = open_track(track, SIZES, "g.fa")
    reference = pyBigWig.open(str(track))
    values = [
        np.array(reference.values(c, int(s), int(e))) for c, s, e in zip(chroms, starts, ends, strict=True)
    ]
    zero = window_statistic(opened, chroms, starts, ends, "mean", "zero")
    np.testing.assert_allclose(zero, [np.nan_to_num(v).mean() for v in values], rtol=1e-5)
    missing = window_statistic(opened, chroms, starts, ends, "log1p_sum", "missing")
    expected = [np.log1p(v.sum()) if not np.isnan(v).any() else np.nan for v in values]
    np.testing.assert_allclose(missing, expected, rtol=1e-5)
    assert np.isnan(missing).any() and not np.isnan(missing).all()


def test_a_window_with_no_data_is_nan_when_skipped(track):
    opened = open_track(track, SIZES, "g.fa")
    value = window_statistic(opened, np.array(["chr1"], object), [310], [390], "mean", "skip")
    assert np.isnan(value[0])


def test_a_track_of_another_assembly_is_refused(track):
    with pytest.raises(
        InputError, match=r"t\.bw, chromosome 'chr2': is 3,000 bases long in the bigWig but 3,100"
    ):
        open_track(track, {"chr1": 5000, "chr2": 3100}, "g.fa")


def test_a_chromosome_the_track_lacks_is_named_with_the_prefix_hint(track):
    opened = open_track(track, {"chr1": 5000, "chr2": 3000, "2": 10}, "g.fa")
    with pytest.raises(
        InputError, match=r"chromosome '2' of the genome is not in the bigWig.*calls it 'chr2'"
    ):
        opened.require(np.array(["chr1", "2"], object), {"chr1": 5000, "2": 10})


def test_a_file_that_is_not_a_bigwig_is_refused(tmp_path):
    path = tmp_path / "t.bedGraph"
    path.write_text("chr1\t0\t10\t1.0\n")
    with pytest.raises(InputError, match="not a bigWig file"):
        open_track(path, SIZES, "g.fa")
