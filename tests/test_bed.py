"""biodl.data.dna.bed: BED and narrowPeak records checked line by line."""

import pytest

from biodl.core.errors import InputError
from biodl.data.dna import bed

SIZES = {"chr1": 1000}


def write(tmp_path, text, name="r.bed"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bed_with_header_track_lines_and_windows_line_endings_is_read(tmp_path):
    path = write(tmp_path, "track name=x\r\n#comment\r\nbrowser position chr1\r\nchr1\t10\t20\tp1\t5\t-\r\n")
    frame = bed.read_bed(path, SIZES)
    assert frame[["chrom", "start", "end", "name", "strand", "summit", "line"]].values.tolist() == [
        ["chr1", 10, 20, "p1", "-", -1, 4]
    ]


def test_narrowpeak_summit_is_read(tmp_path):
    path = write(tmp_path, "chr1\t100\t200\tpk\t0\t.\t5.0\t3.0\t2.0\t40\n")
    assert bed.read_bed(path, SIZES)["summit"].tolist() == [40]


@pytest.mark.parametrize(
    "line, expected",
    [
        ("chr1\t20\t10", "end must be greater than start"),
        ("chr1\t-5\t10", "start must be >= 0"),
        ("chr1\t1.5\t10", "must be integers"),
        ("chrZ\t1\t10", "'chrZ' is not in the genome"),
        ("chr1\t990\t1010", "past the end of chr1"),
        ("chr1\t1\t10\tn\t0\t*", "strand"),
        ("chr1\t100\t200\tpk\t0\t.\t5\t3\t2\t150", "summit offset 150 lies outside the peak"),
        ("chr1 1 10", "at least 3 tab-separated columns"),
    ],
)
def test_bad_bed_records_name_file_and_line(tmp_path, line, expected):
    path = write(tmp_path, "chr1\t1\t10\n" + line + "\n")
    with pytest.raises(InputError) as caught:
        bed.read_bed(path, SIZES)
    assert str(path) in str(caught.value) and "line 2" in str(caught.value) and expected in str(caught.value)


def test_missing_and_empty_files_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="BED file not found"):
        bed.read_bed(tmp_path / "nope.bed")
    with pytest.raises(InputError, match="BED file is empty"):
        bed.read_bed(write(tmp_path, ""))


def test_bed_read_in_blocks_keeps_line_numbers_widths_and_skipped_lines(tmp_path, monkeypatch):
    # Tiny blocks: the first holds only a header, later ones comment, blank and short lines.
    monkeypatch.setattr(bed, "BED_BLOCK", 20)
    lines = [
        "track name=x description=longer than a block",
        "chr1\t1\t10",
        "",
        "chr1\t2\t20\tp2",
        "#c",
        "chr1\t3\t30\tp3\t7\t-",
        "  ",
        "chr1\t4\t40\tp4\t0\t+\t.\t.\t.\t5",
        "chr1\t5\t50\t\t",
    ]
    frame = bed.read_bed(write(tmp_path, "\n".join(lines)), SIZES)
    assert frame.values.tolist() == [
        ["chr1", 1, 10, ".", ".", ".", -1, 2],
        ["chr1", 2, 20, "p2", ".", ".", -1, 4],
        ["chr1", 3, 30, "p3", "7", "-", -1, 6],
        ["chr1", 4, 40, "p4", "0", "+", 5, 8],
        ["chr1", 5, 50, "", "", ".", -1, 9],
    ]
    assert frame.dtypes.astype(str).tolist() == [
        "str",
        "int64",
        "int64",
        "str",
        "str",
        "str",
        "int64",
        "int64",
    ]
    with pytest.raises(InputError, match="line 6: .*strand"):
        bed.read_bed(write(tmp_path, "\n".join(lines[:5] + ["chr1\t3\t30\tp3\t7\t*"])), SIZES)
