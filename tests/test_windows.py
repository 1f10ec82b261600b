import numpy as np
import pandas as pd
import pyfaidx
import pytest

from biodl.data.dna import encode, windows
from biodl.data.dna.bed import read_bed


def regions(rows):
    return pd.DataFrame(rows, columns=["chrom", "start", "end", "strand", "summit", "label"])


def test_window_is_centred_or_on_the_summit():
    frame = regions([("c", 100, 200, "+", -1, "a"), ("c", 100, 200, "+", 10, "a")])
    out = windows.make_windows(frame, 20, {"c": 1000})
    assert out["win_start"].tolist() == [140, 100]
    assert (out["win_end"] - out["win_start"]).eq(20).all()
    centred = windows.make_windows(frame, 20, {"c": 1000}, anchor="centre")
    assert centred["win_start"].tolist() == [140, 140]


def test_windows_past_chromosome_ends_are_dropped_or_padded():
    frame = regions([("c", 0, 10, "+", -1, "a"), ("c", 45, 50, "+", -1, "a"), ("c", 20, 30, "+", -1, "a")])
    kept = windows.make_windows(frame, 20, {"c": 50}, edge="drop")
    assert kept["start"].tolist() == [20]
    padded = windows.make_windows(frame, 20, {"c": 50}, edge="pad")
    assert len(padded) == 3 and padded["padded"].tolist() == [True, True, False]


def test_gather_pads_with_n_outside_the_chromosome():
    codes = encode.to_codes("ACGTACGTAC", "s", "r")
    out = windows.gather(codes, np.array([-2, 0, 7]), 5, encode.N_CODE)
    assert [encode.decode(row) for row in out] == ["NNACG", "ACGTA", "TACNN"]


def test_minus_strand_windows_match_pyfaidx_reverse_complement(tmp_path):
    rng = np.random.default_rng(0)
    sequence = "".join(rng.choice(list("ACGT"), 300))
    (tmp_path / "g.fa").write_text(
        ">chr1\n" + "\n".join(sequence[i : i + 60] for i in range(0, 300, 60)) + "\n"
    )
    (tmp_path / "r.bed").write_text(
        "chr1\t0\t30\tedge\t0\t-\nchr1\t100\t150\tmid\t0\t-\nchr1\t280\t300\tend\t0\t+\n"
    )
    fasta = pyfaidx.Fasta(str(tmp_path / "g.fa"))
    frame = read_bed(tmp_path / "r.bed", {"chr1": 300}).assign(label="x")
    kept = windows.make_windows(frame, 30, {"chr1": 300}, edge="drop")
    assert kept["name"].tolist() == ["edge", "mid"]  # "end" runs past the chromosome end
    codes = encode.to_codes(sequence, "g.fa", "chr1")
    got = windows.gather(codes, kept["win_start"].to_numpy(), 30, encode.N_CODE)
    for row, (start, end) in zip(got, kept[["win_start", "win_end"]].itertuples(index=False), strict=True):
        expected = str(fasta["chr1"][int(start) : int(end)].reverse.complement)
        assert encode.decode(encode.reverse_complement_codes(row)) == expected


def test_duplicates_are_removed_and_conflicting_labels_dropped():
    frame = pd.DataFrame({"key": [1, 1, 2, 2, 3], "label": ["a", "a", "a", "b", "a"]})
    out = windows.drop_duplicates(frame, ["key"])
    assert out["key"].tolist() == [1, 3]


@pytest.mark.parametrize("length", [1, 2, 7])
def test_gather_keeps_window_length(length):
    codes = encode.to_codes("ACGT" * 5, "s", "r")
    assert windows.gather(codes, np.arange(5), length, encode.N_CODE).shape == (5, length)


@pytest.mark.parametrize("mode", encode.AMBIGUOUS_MODES)
@pytest.mark.parametrize(
    "starts", [[-4, -2, 0, 1, 12, 16], [0, 13], [-5, 17], [3]], ids=["dense", "sparse", "ends", "one"]
)
def test_one_hot_windows_equal_encoding_each_gathered_window(mode, starts):
    # "dense" spans fewer bases than its windows hold (the stretch is encoded once, N-padded at
    # both chromosome ends), "sparse" and "ends" do not (each window is gathered and encoded).
    codes = encode.to_codes("ACGTRYNNACGTTGCAKMSW", "s", "r")
    starts = np.array(starts)
    expected = encode.one_hot(windows.gather(codes, starts, 6, encode.N_CODE), mode)
    got = windows.one_hot_windows(codes, starts, 6, mode)
    assert got.dtype == np.uint8 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected)
    assert windows.one_hot_windows(codes, np.array([], dtype=np.int64), 6, mode).shape == (0, 6, 4)
    # Written in place into a given array (a shard buffer's slot), with the same values.
    out = np.full((len(starts), 6, 4), 7, np.uint8)
    assert windows.one_hot_windows(codes, starts, 6, mode, out=out) is out
    np.testing.assert_array_equal(out, expected)


def test_one_hot_windows_refuse_an_output_of_the_wrong_shape_or_type_and_an_unknown_mode():
    codes = encode.to_codes("ACGTACGT", "s", "r")
    with pytest.raises(ValueError, match="ambiguous mode must be one of"):
        windows.one_hot_windows(codes, np.array([0, 2]), 4, "ones")
    for out in (
        np.zeros((2, 3, 4), np.uint8),
        np.zeros((2, 4, 4), np.float32),
        np.zeros((2, 4, 4), np.uint8)[:, ::-1],
    ):
        with pytest.raises(ValueError, match="out must be a C-ordered uint8 array of shape"):
            windows.one_hot_windows(codes, np.array([0, 2]), 4, "zeros", out=out)
