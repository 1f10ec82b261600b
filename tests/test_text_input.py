"""biodl.core.text_input: one way to read a user's text file, and every reader going through it.

The reader tests at the end feed the same odd files (line ends, byte-order marks, UTF-16, gzip,
binary bytes) to every reader of user text: BED, tables (CSV, TSV), sample sheets, MEME motif
files and FASTA. Odd but valid files must read exactly as their clean twin; binary data must be
refused with the line it is on.
"""

from __future__ import annotations

import codecs
import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from biodl.core.errors import InputError
from biodl.core.text_input import (
    csv_records,
    needs_normalising,
    open_text,
    read_lines,
    text_lines,
    write_normalised,
)
from biodl.data.dna.bed import read_bed
from biodl.data.dna.fasta import open_fasta, record_codes
from biodl.data.image.sample_sheet import read_sample_sheet
from biodl.data.tabular import read_table
from biodl.interpret.motifs import read_meme

# Every way a valid text file reaches us: the clean twin is "lf".
ENCODINGS: dict[str, Callable[[str], bytes]] = {
    "lf": lambda text: text.encode(),
    "crlf": lambda text: text.replace("\n", "\r\n").encode(),
    "cr (old Mac)": lambda text: text.replace("\n", "\r").encode(),
    "utf-8 byte-order mark": lambda text: codecs.BOM_UTF8 + text.encode(),
    "utf-16 with its mark": lambda text: text.encode("utf-16"),
    "gzip": lambda text: gzip.compress(text.encode()),
    "gzip of a marked crlf file": lambda text: gzip.compress(
        codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode()
    ),
}
ODD = [name for name in ENCODINGS if name != "lf"]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- the layer itself --------------------------------------------------------------------------

TABLE = 'id,note,value\n1,plain,0.5\n2,"two\nlines",1.5\n\n3,"a, b",2.5\n'


@pytest.mark.parametrize("encoding", ODD)
def test_records_and_their_line_numbers_do_not_depend_on_encoding_or_line_ends(
    tmp_path: Path, encoding: str
) -> None:
    clean = list(csv_records(_write(tmp_path / "clean.csv", TABLE.encode()), "table", ","))
    odd = list(csv_records(_write(tmp_path / "odd.csv", ENCODINGS[encoding](TABLE)), "table", ","))
    assert odd == clean
    # A quoted cell over two lines (3-4) shifts no later number; the blank line 5 is skipped.
    assert [line for line, _ in clean] == [1, 2, 3, 6]
    assert clean[2][1] == ["2", "two\nlines", "1.5"]


def test_lines_are_numbered_as_in_the_file_whatever_ends_them(tmp_path: Path) -> None:
    path = _write(tmp_path / "mixed.txt", b"a\r\nb\rc\nd")
    assert list(text_lines(path, "text")) == [(1, "a"), (2, "b"), (3, "c"), (4, "d")]
    assert read_lines(path, "text") == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        (b"a,b\n1,2\n3,\x00\n", "line 3", "binary data (byte 0x00 at column 3)"),
        (b"a,b\n1,\x07\n", "line 2", "binary data (byte 0x07 at column 3)"),
        ("a,b\n1,caf\xe9\n".encode("latin-1"), "line 2", "byte 0xe9 at column 6 is not UTF-8 text"),
        (b"a\n" + codecs.BOM_UTF8 + b"b\n", "line 2", "byte-order mark (U+FEFF) at column 1"),
        (b"a,b\r\n1,2\r3,\x00\r\n", "line 3", "binary data"),
        (b'a,b\n1,"x\n2,3\n', "line 2", "a quoted cell that starts on this line is never closed"),
        (b'a,b\n1,"x"y\n', "line 2", "expected a quoted cell to be followed by ','"),
    ],
)
def test_what_is_not_text_is_refused_with_its_line(
    tmp_path: Path, data: bytes, where: str, message: str
) -> None:
    path = _write(tmp_path / "t.csv", data)
    with pytest.raises(InputError) as error:
        list(csv_records(path, "table", ","))
    assert error.value.where == where and message in error.value.problem
    assert error.value.source == str(path)


def test_a_damaged_gzip_stream_is_refused_not_a_crash(tmp_path: Path) -> None:
    data = gzip.compress(np.random.default_rng(0).bytes(20000).hex().encode())
    path = _write(tmp_path / "t.csv.gz", data[: len(data) // 2])
    with pytest.raises(InputError, match="the gzip stream is damaged or cut short"):
        list(text_lines(path, "table"))
    with pytest.raises(InputError, match="not a readable gzip file"):
        list(text_lines(_write(tmp_path / "u.gz", b"\x1f\x8b" + b"not gzip" * 8), "table"))


def test_reading_in_blocks_counts_lines_across_blocks(tmp_path: Path) -> None:
    lines = [f"line{i}" for i in range(1000)]
    path = _write(tmp_path / "t.txt", ("\r".join(lines) + "\r").replace("line700", "line\x00700").encode())
    with open_text(path, "text") as text, pytest.raises(InputError) as error:
        while text.read(333):
            pass
    assert error.value.where == "line 701"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b">a\nACGT\n", False),
        (b">a\r\nACGT\r\n", False),
        (b">a\rACGT\r", True),
        (codecs.BOM_UTF8 + b">a\nACGT\n", True),
        (">a\nACGT\n".encode("utf-16"), True),
    ],
)
def test_byte_readers_are_told_what_they_would_misread(tmp_path: Path, data: bytes, expected: bool) -> None:
    assert needs_normalising(_write(tmp_path / "x.fa", data)) is expected


def test_the_normalised_copy_keeps_every_line_and_its_number(tmp_path: Path) -> None:
    source = _write(tmp_path / "x.fa", codecs.BOM_UTF8 + b">a\rAC\rGT\r\r>b\rTT\r")
    write_normalised(source, "FASTA file", tmp_path / "copy.fa")
    assert (tmp_path / "copy.fa").read_bytes() == b">a\nAC\nGT\n\n>b\nTT\n"


# --- every reader over the same odd files -------------------------------------------------------

BED = "track name=peaks\nchr1\t10\t20\tp1\t0\t+\nchr1\t30\t45\tp2\t0\t-\nchr2\t5\t9\tp3\t0\t.\n"
FEATURES = 'id,size,colour,diagnosis\ns1,1.5,red,benign\ns2,2.5,"blue,ish",malignant\ns3,NA,red,benign\n'
SHEET = "image\tlabel\tsplit\nimg0.png\ta\ttrain\nimg1.png\tb\ttest\n"
MEME = (
    "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
    "MOTIF M1 first\nletter-probability matrix: alength= 4 w= 2 nsites= 5 E= 0\n"
    "0.1 0.2 0.3 0.4\n0.25 0.25 0.25 0.25\n\n"
    "MOTIF M2\nletter-probability matrix: alength= 4 w= 1\n1 0 0 0\n"
)
FASTA = ">chr1\nACGTACGTAC\nGTACGTAC\n>chr2 second\nTTTTGGGGCC\nAA\n"


def _bed(path: Path, folder: Path) -> Any:
    return read_bed(path, {"chr1": 100, "chr2": 50})


def _csv(path: Path, folder: Path) -> Any:
    return read_table(path, "feature table")


def _sheet(path: Path, folder: Path) -> Any:
    sheet = read_sample_sheet(path)
    return [(row.line, row.image.name, row.label, row.split) for row in sheet.rows]


def _meme(path: Path, folder: Path) -> Any:
    return [(m.id, m.name, m.probabilities.tolist(), m.n_sites) for m in read_meme(path)]


def _fasta(path: Path, folder: Path) -> Any:
    fasta = open_fasta(path, folder / "index")
    return {name: record_codes(fasta, path, name).tolist() for name in fasta.keys()}


# reader, file name, clean text, the line a binary byte goes on (and the reader refuses)
READERS = {
    "BED": (_bed, "peaks.bed", BED, 3),
    "CSV table": (_csv, "table.csv", FEATURES, 2),
    "TSV table": (_csv, "table.tsv", FEATURES.replace(",", "\t").replace('"blue\tish"', "blue"), 4),
    "sample sheet": (_sheet, "sheet.tsv", SHEET, 3),
    "MEME motifs": (_meme, "motifs.meme", MEME, 9),
    "FASTA": (_fasta, "genome.fa", FASTA, 5),
}


def _read(reader: str, folder: Path, data: bytes) -> Any:
    read, name, _, _ = READERS[reader]
    folder.mkdir()
    for image in ("img0.png", "img1.png"):
        (folder / image).write_bytes(b"\x89PNG")  # the sheet checks that images exist, not their pixels
    return read(_write(folder / name, data), folder)


def _same(clean: Any, odd: Any) -> None:
    if isinstance(clean, pd.DataFrame):
        pd.testing.assert_frame_equal(odd, clean)
    else:
        assert odd == clean


@pytest.mark.parametrize("encoding", ODD)
@pytest.mark.parametrize("reader", READERS)
def test_every_reader_reads_an_odd_but_valid_file_as_its_clean_twin(
    tmp_path: Path, reader: str, encoding: str
) -> None:
    text = READERS[reader][2]
    if reader == "FASTA" and encoding.startswith("gzip"):
        with pytest.raises(InputError, match="is gzip-compressed; expected an uncompressed FASTA"):
            _read(reader, tmp_path / "odd", ENCODINGS[encoding](text))
        return
    clean = _read(reader, tmp_path / "clean", text.encode())
    _same(clean, _read(reader, tmp_path / "odd", ENCODINGS[encoding](text)))


@pytest.mark.parametrize("encoding", ["lf", "crlf", "cr (old Mac)", "utf-8 byte-order mark"])
@pytest.mark.parametrize("reader", READERS)
def test_every_reader_refuses_binary_data_naming_its_line(tmp_path: Path, reader: str, encoding: str) -> None:
    _, name, text, line = READERS[reader]
    lines = text.split("\n")
    lines[line - 1] = lines[line - 1][:2] + "\x00\x01" + lines[line - 1][2:]
    with pytest.raises(InputError) as error:
        _read(reader, tmp_path / "odd", ENCODINGS[encoding]("\n".join(lines)))
    assert error.value.source.endswith(name)
    # A FASTA that pyfaidx reads in place is checked as it is encoded: the record and position
    # are named too ("record 'chr2', position 3, line 5").
    assert error.value.where.endswith(f"line {line}") and "binary data (byte 0x00" in error.value.problem


@pytest.mark.parametrize("reader", READERS)
def test_every_reader_refuses_text_that_is_not_utf8_naming_its_line(tmp_path: Path, reader: str) -> None:
    _, name, text, line = READERS[reader]
    lines = text.split("\n")
    lines[line - 1] = lines[line - 1] + "é"
    with pytest.raises(InputError) as error:
        _read(reader, tmp_path / "odd", "\n".join(lines).encode("latin-1"))
    assert error.value.where == f"line {line}" and "0xe9" in error.value.problem
    assert "is not UTF-8 text" in error.value.problem


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"PK\x03\x04" + bytes(40), "is a ZIP archive (an Excel workbook?), not text"),
        (b"\x89PNG\r\n\x1a\n" + bytes(40), "is a PNG image, not text"),
        (b"%PDF-1.7\n", "is a PDF document, not text"),
        (gzip.compress(b"BAM\x01" + bytes(40)), "is a BAM file of aligned reads, not text"),
    ],
)
def test_a_file_of_a_known_binary_format_is_named_by_its_format(
    tmp_path: Path, data: bytes, kind: str
) -> None:
    with pytest.raises(InputError) as error:
        list(text_lines(_write(tmp_path / "regions.bed", data), "BED file"))
    assert error.value.where is None and error.value.problem.startswith(kind)
    assert "expected the BED file as text" in error.value.problem
