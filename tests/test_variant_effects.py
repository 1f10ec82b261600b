"""biodl.apply.variant_effects: VCF variants, REF/ALT windows checked by hand, effects scored."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from apply_fixtures import BIAS, WEIGHT, centre_model, hand_score, sigmoid

from biodl.apply.trained import TrainedModel, load_trained
from biodl.apply.variant_effects import read_variants, score_variants, variant_windows
from biodl.core.errors import InputError
from biodl.data.dna import encode
from biodl.data.dna.from_genome import Genome

# Indices:    0         1         2
#             012345678901234567890123
CHROMOSOME = "TTACGGATCCATGCAAGTCCGATA"
LENGTH = 40
HEADER = "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def windows(pos: int, ref: str, alt: str) -> tuple[str, str, str, str]:
    """REF and ALT windows of 8 bases on the + strand, then on the - strand (reverse complements)."""
    found = variant_windows(encode.to_codes(CHROMOSOME, "test", "chr1"), pos, ref, alt, 8)
    assert found is not None
    plus = [encode.decode(w) for w in found]
    minus = [encode.decode(encode.reverse_complement_codes(w)) for w in found]
    return plus[0], plus[1], minus[0], minus[1]


def test_snv_windows_by_hand() -> None:
    # POS 11 is index 10 (A); the window starts 4 bases before it: indices 6-13.
    assert windows(11, "A", "G") == ("ATCCATGC", "ATCCGTGC", "GCATGGAT", "GCACGGAT")


def test_insertion_windows_are_trimmed_on_the_right() -> None:
    # ATCC + the ALT AGGT fills the 8 bases: nothing of the genome after the REF fits.
    assert windows(11, "A", "AGGT") == ("ATCCATGC", "ATCCAGGT", "GCATGGAT", "ACCTGGAT")
    assert windows(11, "A", "AG") == ("ATCCATGC", "ATCCAGTG", "GCATGGAT", "CACTGGAT")


def test_deletion_windows_are_extended_on_the_right() -> None:
    # REF ATGC (indices 10-13) → A: ATCC + A + the 3 genome bases after the REF (indices 14-16, AAG).
    assert windows(11, "ATGC", "A") == ("ATCCATGC", "ATCCAAAG", "GCATGGAT", "CTTTGGAT")


def test_windows_past_a_chromosome_end_are_none() -> None:
    codes = encode.to_codes(CHROMOSOME, "test", "chr1")
    assert variant_windows(codes, 4, "C", "A", 8) is None  # would start at index -1
    assert variant_windows(codes, 5, "G", "A", 8) is not None  # starts at index 0
    assert variant_windows(codes, 21, "G", "A", 8) is not None  # ends at index 23, the last
    assert variant_windows(codes, 22, "A", "T", 8) is None
    assert variant_windows(codes, 20, "CGA", "C", 8) is None  # its ALT window needs index 24


@pytest.fixture
def genome(tmp_path: Path) -> tuple[Path, str]:
    rng = np.random.default_rng(8)
    sequence = "".join(rng.choice(list("ACGT"), 200))
    (tmp_path / "genome.fa").write_text(
        ">chr1\n" + "\n".join(sequence[i : i + 50] for i in range(0, 200, 50)) + "\n"
    )
    return tmp_path / "genome.fa", sequence


@pytest.fixture
def model(make_dataset: Callable[..., Path], tmp_path: Path) -> TrainedModel:
    return load_trained(make_dataset(length=LENGTH), [centre_model(LENGTH, tmp_path / "m.keras")], True)


def _vcf(tmp_path: Path, lines: list[str], compress: bool = False) -> Path:
    text = HEADER + "".join(line + "\n" for line in lines)
    if compress:
        (tmp_path / "v.vcf.gz").write_bytes(_bgzf(text.encode()))
        return tmp_path / "v.vcf.gz"
    (tmp_path / "v.vcf").write_text(text)
    return tmp_path / "v.vcf"


def _bgzf(data: bytes) -> bytes:
    """``data`` as BGZF (what bgzip writes, SAM/BAM specification 4.1): one gzip member with a
    ``BC`` extra field holding the block size, then the empty end-of-file block."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = deflate.compress(data) + deflate.flush()
    size = 12 + 6 + len(body) + 8  # header, extra field, data, CRC and length
    header = b"\x1f\x8b\x08\x04" + b"\x00" * 4 + b"\x00\xff" + struct.pack("<HBBHH", 6, 66, 67, 2, size - 1)
    block = header + body + struct.pack("<II", zlib.crc32(data), len(data))
    eof = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
    return block + eof


def _record(sequence: str, pos: int, alt: str, ref_length: int = 1, ident: str = ".") -> str:
    return f"chr1\t{pos}\t{ident}\t{sequence[pos - 1 : pos - 1 + ref_length]}\t{alt}\t.\t.\t."


@pytest.mark.parametrize("compress", [False, True])
def test_multi_allelic_records_are_split_and_symbolic_alleles_skipped(
    genome: tuple[Path, str], tmp_path: Path, compress: bool
) -> None:
    sizes = Genome.open(genome[0], tmp_path / "index").sizes
    path = _vcf(
        tmp_path, ["chr1\t50\trs1\tA\tC,gT,<DEL>\t.\t.\t.", "chr1\t60\t.\tAC\tA,*\t.\t.\t."], compress
    )
    variants = read_variants(path, sizes)
    assert variants.to_dict("list") == {
        "chrom": ["chr1"] * 3,
        "pos": [50, 50, 60],
        "id": ["rs1", "rs1", "."],
        "ref": ["A", "A", "AC"],
        "alt": ["C", "GT", "A"],
    }


def test_a_chromosome_absent_from_the_genome_hints_at_the_prefix(
    genome: tuple[Path, str], tmp_path: Path
) -> None:
    sizes = Genome.open(genome[0], tmp_path / "index").sizes
    path = _vcf(tmp_path, ["1\t50\t.\tA\tC\t.\t.\t."])
    with pytest.raises(
        InputError,
        match=r"v\.vcf, record 1:50: chromosome '1' is not in the genome; the genome calls it 'chr1'",
    ):
        read_variants(path, sizes)


def test_a_file_that_is_not_a_vcf_is_refused(tmp_path: Path) -> None:
    (tmp_path / "v.vcf").write_text("chrom\tstart\tend\nchr1\t1\t2\n")
    with pytest.raises(InputError, match=r"v\.vcf: not a readable VCF file"):
        read_variants(tmp_path / "v.vcf", {"chr1": 10})


def test_effects_are_scored_on_both_strands_and_sorted(
    model: TrainedModel, genome: tuple[Path, str], tmp_path: Path
) -> None:
    path, sequence = genome
    ref_a = next(
        p for p in range(60, 150) if sequence[p - 1] == "A"
    )  # an A at the centre: the model's signal
    ref_t = next(p for p in range(60, 150) if sequence[p - 2] == "T" and sequence[p - 1] != "A")
    records = [
        _record(sequence, ref_a, "C", ident="snv_a"),  # loses the forward strand's A
        _record(sequence, ref_t, "A", ident="snv_t"),  # gains a forward A
        _record(sequence, ref_t - 1, "C", ident="left"),  # a T that is not at the centre of its windows
        _record(sequence, 100, sequence[99] + "AAAA", ident="insertion"),
        _record(sequence, 120, sequence[119], ref_length=4, ident="deletion"),
    ]
    wrong = "chr1\t130\tmismatch\t" + ("A" if sequence[129] != "A" else "C") + "\tG\t.\t.\t."
    near_end = _record(sequence, 195, "A" if sequence[194] != "A" else "C", ident="end")
    variants = read_variants(_vcf(tmp_path, [*records, wrong, near_end]), {"chr1": 200})
    result = score_variants(model, variants, Genome.open(path, tmp_path / "index"))

    assert result.unscored["id"].tolist() == ["mismatch", "end"]
    assert result.unscored["genome_ref"].tolist() == [sequence[129], sequence[194]]
    assert result.unscored["reason"].str.startswith(("REF differs", "within 20 bases")).all()
    effects = result.effects.set_index("id")
    assert sorted(effects.index) == ["deletion", "insertion", "left", "snv_a", "snv_t"]
    for variant in effects.itertuples():
        start = variant.pos - 1 - LENGTH // 2
        ref_window = sequence[start : start + LENGTH]
        after = sequence[variant.pos - 1 + len(variant.ref) :]
        alt_window = (sequence[start : variant.pos - 1] + variant.alt + after)[:LENGTH]
        ref, alt = hand_score(ref_window, True), hand_score(alt_window, True)
        assert variant.bound_ref == pytest.approx(ref, rel=1e-5)
        assert variant.bound_alt == pytest.approx(alt, rel=1e-5)
        assert variant.bound_diff == pytest.approx(alt - ref, abs=1e-6)
        assert variant.bound_log_odds == pytest.approx(
            np.log(alt / (1 - alt)) - np.log(ref / (1 - ref)), abs=1e-4
        )
    assert effects.loc["snv_a", "bound_diff"] < 0 < effects.loc["snv_t", "bound_diff"]
    # The - strand reads the base left of the variant: a T there counts in both REF and ALT scores.
    assert effects.loc["snv_t", "bound_ref"] == pytest.approx((sigmoid(-BIAS) + sigmoid(WEIGHT - BIAS)) / 2)
    assert effects.loc["left", "bound_diff"] == pytest.approx(0, abs=1e-6)  # neither base read changes
    assert (np.diff(result.effects["effect"]) <= 0).all()
    np.testing.assert_allclose(result.effects["effect"], result.effects["bound_diff"].abs())


def test_nothing_scorable_gives_empty_tables(
    model: TrainedModel, genome: tuple[Path, str], tmp_path: Path
) -> None:
    variants = pd.DataFrame({"chrom": ["chr1"], "pos": [3], "id": ["."], "ref": [genome[1][2]], "alt": ["N"]})
    result = score_variants(model, variants, Genome.open(genome[0], tmp_path / "index"))
    assert result.effects.empty and "bound_diff" in result.effects.columns
    assert result.unscored["reason"].tolist() == ["within 20 bases of the chromosome end: no 40-base window"]
