import numpy as np
import pytest

from biodl.core.errors import InputError
from biodl.data.dna import encode


def test_bases_encode_in_acgt_order_and_lower_case_is_upper_cased():
    x = encode.encode("ACGTacgt")
    np.testing.assert_array_equal(x, np.vstack([np.eye(4, dtype=np.uint8)] * 2))
    assert x.dtype == np.uint8


@pytest.mark.parametrize(
    "mode, expected_n, expected_r",
    [
        ("zeros", [0, 0, 0, 0], [0, 0, 0, 0]),
        ("uniform", [1, 1, 1, 1], [1, 1, 1, 1]),
        ("iupac", [1, 1, 1, 1], [1, 0, 1, 0]),
    ],
)
def test_ambiguity_codes_follow_the_mode(mode, expected_n, expected_r):
    x = encode.encode("NnRr", mode)
    np.testing.assert_array_equal(x[0], expected_n)
    np.testing.assert_array_equal(x[1], expected_n)
    np.testing.assert_array_equal(x[2], expected_r)
    np.testing.assert_array_equal(x[3], expected_r)


def test_invalid_character_names_file_record_and_position():
    with pytest.raises(InputError) as caught:
        encode.to_codes("ACGTXAC-", "genome.fa", "chr7", offset=100)
    message = str(caught.value)
    assert "genome.fa" in message and "'chr7'" in message
    assert "position 105" in message and "'X'" in message
    assert "2 invalid character(s)" in message


def test_reverse_complement_of_one_hot_matches_string_reverse_complement():
    seq = "AACGTTTGCAN"
    expected = encode.encode("NTGCAAACGTT", "iupac")
    np.testing.assert_array_equal(encode.reverse_complement(encode.encode(seq, "iupac")), expected)
    assert encode.decode(encode.reverse_complement_codes(encode.to_codes(seq, "s", "r"))) == "NTGCAAACGTT"


def test_iupac_complement_is_the_complementary_code():
    # R (A/G) on the plus strand reads as Y (C/T) on the minus strand.
    assert encode.decode(encode.reverse_complement_codes(encode.to_codes("RKB", "s", "r"))) == "VMY"


def test_gc_fraction_ignores_ambiguous_bases():
    codes = encode.to_codes("GGCCAANN", "s", "r")
    assert encode.gc_fraction(codes) == pytest.approx(4 / 6)
    assert encode.gc_fraction(encode.to_codes("NNNN", "s", "r")) == 0.0


def test_encoding_is_vectorised_over_batches():
    codes = encode.to_codes("ACGT" * 250, "s", "r")
    batch = np.stack([codes, codes[::-1]])
    out = encode.one_hot(batch)
    assert out.shape == (2, 1000, 4)
    np.testing.assert_array_equal(out[0], encode.encode("ACGT" * 250))


def test_one_hot_of_strided_codes_and_unknown_mode():
    codes = encode.to_codes("ACGTNRYACGTN", "s", "r").reshape(3, 4)
    strided = codes[:, ::-2]
    np.testing.assert_array_equal(encode.one_hot(strided, "iupac"), encode.ONE_HOT_TABLES["iupac"][strided])
    with pytest.raises(ValueError, match="ambiguous mode"):
        encode.one_hot(codes, "half")
