"""biodl.data.dna.bedgraph: bedGraph and peak signalValue tracks, checked base by base and
against pyBigWig on the same values."""

import gzip

import numpy as np
import pyBigWig
import pytest

from biodl.core.errors import InputError
from biodl.data.dna.bedgraph import read_values, strongest_per_base
from biodl.data.dna.coverage import open_track, window_statistic

SIZES = {"chr1": 6000, "chr2": 2500}


def random_bedgraph(rng):
    """Non-overlapping intervals with gaps, shuffled lines (bedGraph need not be sorted here)."""
    rows = []
    for chrom, size in SIZES.items():
        bounds = np.sort(rng.choice(np.arange(1, size), 80, replace=False))
        for start, end in zip(bounds[::2], bounds[1::2], strict=True):
            rows.append((chrom, int(start), int(end), float(rng.gamma(2.0, 2.0))))
    order = rng.permutation(len(rows))
    return [rows[k] for k in order]


def per_base(rows):
    """Values base by base, NaN where no interval covers: the brute-force reference."""
    values = {chrom: np.full(size, np.nan) for chrom, size in SIZES.items()}
    for chrom, start, end, value in rows:
        values[chrom][start:end] = np.fmax(values[chrom][start:end], value)
    return values


def write_text(path, rows, columns):
    lines = ["track type=bedGraph", "# a comment"]
    lines += ["\t".join(columns(row)) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def bedgraph_columns(row):
    return [row[0], str(row[1]), str(row[2]), f"{row[3]:.17g}"]


def peak_columns(row):
    return [row[0], str(row[1]), str(row[2]), "p", "0", ".", f"{row[3]:.17g}", "5.1", "3.2", "-1"]


def windows(rng, n):
    chroms = rng.choice(list(SIZES), n).astype(object)
    lengths = rng.choice([50, 300], n)
    starts = np.array([rng.integers(0, SIZES[c] - size + 1) for c, size in zip(chroms, lengths, strict=True)])
    return chroms, starts, starts + lengths


@pytest.mark.parametrize("uncovered", ["zero", "skip", "missing"])
@pytest.mark.parametrize("statistic", ["mean", "max", "sum", "log1p_sum"])
def test_bedgraph_statistics_match_the_bases_and_a_bigwig_of_the_same_values(tmp_path, statistic, uncovered):
    rng = np.random.default_rng(1)
    rows = random_bedgraph(rng)
    track = read_values(
        write_text(tmp_path / "t.bedGraph", rows, bedgraph_columns), "bedgraph", SIZES, "g.fa"
    )
    chroms, starts, ends = windows(rng, 150)
    ours = window_statistic(track.as_track(SIZES), chroms, starts, ends, statistic, uncovered)
    bigwig = pyBigWig.open(str(tmp_path / "t.bw"), "w")
    bigwig.addHeader(list(SIZES.items()))
    for chrom in SIZES:
        mine = sorted(r for r in rows if r[0] == chrom)
        bigwig.addEntries(
            [r[0] for r in mine], [r[1] for r in mine], ends=[r[2] for r in mine], values=[r[3] for r in mine]
        )
    bigwig.close()
    theirs = window_statistic(
        open_track(tmp_path / "t.bw", SIZES, "g.fa"), chroms, starts, ends, statistic, uncovered
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)  # bigWig stores float32 values
    bases = per_base(rows)
    expected = []
    for c, s, e in zip(chroms, starts, ends, strict=True):
        v = bases[c][s:e]
        if uncovered == "missing" and np.isnan(v).any() or uncovered == "skip" and np.isnan(v).all():
            expected.append(np.nan)
            continue
        v = v[~np.isnan(v)] if uncovered == "skip" else np.nan_to_num(v)
        expected.append(
            {"mean": v.mean(), "max": v.max(), "sum": v.sum(), "log1p_sum": np.log1p(v.sum())}[statistic]
        )
    np.testing.assert_allclose(ours, expected, rtol=1e-5)
    assert np.isfinite(ours).any()


def test_overlapping_peaks_give_each_base_the_strongest_signal_value(tmp_path):
    rng = np.random.default_rng(2)
    rows = []
    for chrom, size in SIZES.items():
        for _ in range(60):
            start = int(rng.integers(0, size - 400))
            rows.append((chrom, start, start + int(rng.integers(50, 400)), float(rng.uniform(1, 50))))
    rows.append(rows[0][:3] + (rows[0][3] + 1.0,))  # a narrowPeak repeats a peak once per summit
    path = tmp_path / "p.narrowPeak.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("".join("\t".join(peak_columns(r)) + "\n" for r in rows))
    track = read_values(path, "peaks", SIZES, "g.fa")
    bases = per_base(rows)
    for chrom, size in SIZES.items():
        np.testing.assert_array_equal(track.values(chrom, 0, size), bases[chrom])
        np.testing.assert_array_equal(track.values(chrom, 123, 456), bases[chrom][123:456])
        pieces = track.by_chrom[chrom]
        assert (pieces.starts[1:] >= pieces.ends[:-1]).all()  # disjoint


def test_a_window_centred_on_a_peak_gets_its_signal_value_as_max(tmp_path):
    rows = [("chr1", 1000, 1200, 7.5), ("chr1", 3000, 3100, 2.25)]
    track = read_values(write_text(tmp_path / "p.broadPeak", rows, peak_columns), "peaks", SIZES, "g.fa")
    chroms = np.array(["chr1", "chr1", "chr1"], object)
    values = window_statistic(
        track.as_track(SIZES), chroms, [1000, 2950, 5000], [1200, 3150, 5200], "max", "zero"
    )
    np.testing.assert_array_equal(values, [7.5, 2.25, 0.0])


def test_strongest_per_base_leaves_disjoint_intervals_alone():
    starts, ends, values = np.array([0, 10]), np.array([5, 20]), np.array([1.0, 2.0])
    out = strongest_per_base(starts, ends, values)
    assert all(a is b for a, b in zip(out, (starts, ends, values), strict=True))


def test_nan_values_are_uncovered_and_counted(tmp_path, caplog):
    path = tmp_path / "t.bedGraph"
    path.write_text("chr1\t0\t10\t2\nchr1\t10\t20\tnan\n")
    with caplog.at_level("INFO"):
        track = read_values(path, "bedgraph", SIZES, "g.fa")
    assert "1 of 2 intervals have no value (NaN)" in caplog.text
    values = track.values("chr1", 0, 20)
    assert np.isnan(values[10:]).all() and (values[:10] == 2).all()


def test_overlapping_bedgraph_intervals_are_refused_with_both_lines(tmp_path):
    path = tmp_path / "t.bedGraph"
    path.write_text("chr1\t0\t100\t1\nchr1\t300\t400\t1\nchr1\t50\t120\t2\n")
    with pytest.raises(InputError, match=r"t\.bedGraph, line 3: interval 50-120 overlaps 0-100 \(line 1\)"):
        read_values(path, "bedgraph", SIZES, "g.fa")


@pytest.mark.parametrize(
    "line, message",
    [
        ("chr1\t5\t9", r"line 2: expected at least 4 tab-separated columns"),
        ("chr1\t5\t9\thigh", r"line 2: the value \(column 4\) must be a number, found 'high'"),
        ("chr1\t9\t5\t1", r"line 2: end must be greater than start"),
        ("chr1\tfive\t9\t1", r"line 2: start and end must be integers"),
        ("20\t5\t9\t1", r"line 2: chromosome '20' is not in the genome g\.fa .*calls it 'chr20'"),
        ("chr2\t5\t2600\t1", r"line 2: end 2600 is past the end of chr2"),
    ],
)
def test_bad_records_are_named_by_line(tmp_path, line, message):
    path = tmp_path / "t.bedGraph"
    path.write_text(f"chr1\t0\t5\t1\n{line}\n")
    sizes = {**SIZES, "chr20": 100}
    with pytest.raises(InputError, match=message):
        read_values(path, "bedgraph", sizes, "g.fa")


def test_a_file_without_records_is_refused(tmp_path):
    path = tmp_path / "t.bedGraph"
    path.write_text("track type=bedGraph\n")
    with pytest.raises(InputError, match="no intervals found"):
        read_values(path, "bedgraph", SIZES, "g.fa")
