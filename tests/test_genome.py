"""biodl.apply.genome: the genome opened as preparation opens it, chromosome and window checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biodl.apply.genome import GenomeCodes, centred_start, require_chromosome, require_window
from biodl.core.errors import InputError
from biodl.data.dna import encode
from biodl.data.dna.from_genome import Genome

SIZES = {"chr1": 100, "chr2": 50}


def test_the_genome_gives_sizes_and_codes(tmp_path: Path) -> None:
    (tmp_path / "g.fa").write_text(">chr1\nACGTN\nacg\n>chr2\nTTTT\n")
    genome = Genome.open(tmp_path / "g.fa", tmp_path / "index")
    assert genome.sizes == {"chr1": 8, "chr2": 4}
    codes = GenomeCodes(genome)
    assert encode.decode(codes.codes("chr1")) == "ACGTNACG"
    assert encode.decode(codes.codes("chr2")) == "TTTT"
    assert not list(tmp_path.glob("*.fai"))  # the index goes to index_dir, never beside the input


@pytest.mark.parametrize(
    ("chrom", "hint"),
    [
        (
            "1",
            r"record 1:5: chromosome '1' is not in the genome; the genome calls it 'chr1'.*without a 'chr'",
        ),
        ("chrX", r"record chrX:5: chromosome 'chrX' is not in the genome \(genome chromosomes: chr1, chr2\)"),
    ],
)
def test_an_absent_chromosome_is_named_with_a_hint(chrom: str, hint: str) -> None:
    with pytest.raises(InputError, match=r"in\.vcf, " + hint):
        require_chromosome(SIZES, chrom, "in.vcf", f"record {chrom}:5")


def test_a_chr_prefix_too_many_is_named() -> None:
    with pytest.raises(InputError, match=r"the genome calls it '2'.*with a 'chr' prefix"):
        require_chromosome({"2": 10}, "chr2", "r.bed", "line 3")
    require_chromosome(SIZES, "chr2", "r.bed", "line 3")  # a known one passes


def test_centred_windows_put_the_centre_at_half_the_length() -> None:
    np.testing.assert_array_equal(centred_start(np.array([10, 11]), 8), [6, 7])
    assert int(centred_start(10, 7)) == 7  # base 3 of 7 is the centre


def test_windows_past_either_end_are_refused() -> None:
    require_window(SIZES, "chr2", 0, 50, "r.bed", "line 1")  # exactly the chromosome
    with pytest.raises(
        InputError, match=r"r\.bed, line 2: .*chr2:1-51\) runs past the end of chr2 \(length 50\)"
    ):
        require_window(SIZES, "chr2", 1, 50, "r.bed", "line 2")
    with pytest.raises(InputError, match=r"runs past the start of chr1"):
        require_window(SIZES, "chr1", -1, 10, "r.bed", "line 4")
