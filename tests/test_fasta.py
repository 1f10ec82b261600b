"""biodl.data.dna.fasta: FASTA files opened with an index that never lands in the input folder."""

import os
import shutil

import pytest

from biodl.core.errors import InputError
from biodl.data.dna.fasta import open_fasta, other_spelling


def write(tmp_path, text, name):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_fasta_without_header_is_rejected_and_index_kept_out_of_input_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    bad = write(data, "ACGT\n", "bad.fa")
    with pytest.raises(InputError, match="expected a FASTA header"):
        open_fasta(bad, tmp_path / "index")
    good = write(data, ">s1\nACGT\n>s2\nGG\n", "good.fa")
    fasta = open_fasta(good, tmp_path / "index")
    assert fasta["s1"][:] == "ACGT"
    assert sorted(p.name for p in data.iterdir()) == ["bad.fa", "good.fa"]


def test_a_fasta_s_own_up_to_date_index_is_used_and_a_stale_or_foreign_one_is_not(tmp_path):
    data, other = tmp_path / "data", tmp_path / "other"
    data.mkdir(), other.mkdir()
    fasta = write(data, ">s1\nACGT\nACGT\nAC\n>s2 described\nGGGG\nG\n", "g.fa")
    open_fasta(fasta, tmp_path / "built")  # no index of its own: one is built outside
    shutil.copy(tmp_path / "built" / "g.fa.fai", data / "g.fa.fai")  # as `samtools faidx g.fa` would
    for expected_index_dir in (None, "stale", "foreign", "garbage"):
        if expected_index_dir == "stale":
            os.utime(data / "g.fa.fai", (0, 0))
        if expected_index_dir == "garbage":
            (data / "g.fa.fai").write_text("not an index\n")
        if expected_index_dir == "foreign":  # newer, but made for another layout of the same records
            open_fasta(write(other, ">s1\nACGTACGTAC\n>s2\nGGGGG\n", "g.fa"), other / "index")
            shutil.copy(other / "index" / "g.fa.fai", data / "g.fa.fai")
        opened = open_fasta(fasta, tmp_path / str(expected_index_dir))
        assert (opened["s1"][:], opened["s2"][:]) == ("ACGTACGTAC", "GGGGG")
        assert (tmp_path / str(expected_index_dir) / "g.fa.fai").exists() == (expected_index_dir is not None)


def test_duplicate_fasta_records_are_rejected_with_both_lines(tmp_path):
    path = write(tmp_path, ">s1\nACGT\n>s1\nGG\n", "dup.fa")
    with pytest.raises(InputError, match=r"dup.fa, line 3: duplicate record name 's1' \(first on line 1\)"):
        open_fasta(path, tmp_path / "index")


def test_unevenly_wrapped_fasta_names_the_line(tmp_path):
    path = write(tmp_path, ">s1\nACGT\nAC\nACGT\n>s2\nGG\n", "wrapped.fa")
    with pytest.raises(
        InputError, match=r"wrapped.fa, line 3: sequence line of record 's1' is not 4 bases wide"
    ):
        open_fasta(path, tmp_path / "index")


@pytest.mark.parametrize(
    ("chrom", "known", "expected"),
    [("chr1", ["1", "2"], "1"), ("1", ["chr1"], "chr1"), ("chrX", ["chrX", "X"], "X"), ("7", ["chr1"], None)],
)
def test_other_spelling_adds_or_removes_the_chr_prefix(
    chrom: str, known: list[str], expected: str | None
) -> None:
    assert other_spelling(chrom, known) == expected
