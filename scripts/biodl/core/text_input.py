"""Reading a user's text file: the one way every reader opens one.

Contract:
- ``open_text(path, what)`` (a context manager) gives a :class:`TextInput` over the file's text:
  plain or gzip-compressed (told by the first bytes, not the name); UTF-8 with or without a
  byte-order mark, or UTF-16 with one; every line end (LF, CRLF, old Mac CR) given as ``"\\n"``.
  Lines keep the file's numbers (1-based): a CR or CRLF ends a line as LF does. Text is checked
  before it is given out: a NUL or other control character (binary data), a byte that is not
  UTF-8, a byte-order mark after the start (two files joined) or a damaged gzip stream raises
  ``InputError(path, "line N", ...)`` naming the byte, its column and what was expected
  (``what``: "BED file", "sample sheet" ...); a file of a known binary format (an Excel
  workbook, an image, a PDF, a BAM file) is named by its format. Tabs are text.
- ``text_lines(path, what)`` yields ``(line number, line)``, line ends removed;
  ``read_lines(path, what)`` is the list of lines (line ``i + 1`` at index ``i``).
- ``csv_records(path, what, delimiter)`` yields ``(line number, cells)`` for every CSV/TSV
  record (Python's csv dialect: quotes may hold separators and line breaks; cells stripped of
  surrounding whitespace), numbered by the line the record starts on, so a quoted cell spanning
  lines shifts no later number; blank lines are skipped (a line of separators only is a record
  of empty cells).
- For byte-level readers (pyfaidx): ``needs_normalising(path)`` tells whether the file has a
  byte-order mark or CR line ends near its start; ``write_normalised(path, what, target)``
  writes its checked text as UTF-8 with LF line ends, line for line (same line numbers).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterator
from os import PathLike
from pathlib import Path

from biodl.core.errors import GZIP_MAGIC, InputError, require_file
from biodl.core.files import atomic_path

# Binary data (C0 controls but tab and the line ends), a byte that is not UTF-8 (decoded with
# surrogateescape as U+DC80..U+DCFF), any other lone surrogate, and a byte-order mark that is not
# the file's first character.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufeff]")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# File signatures of formats a text file is mistaken for (in a gzip file, those of its content).
BINARY_FORMATS = {
    b"PK\x03\x04": "a ZIP archive (an Excel workbook?)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
    b"%PDF": "a PDF document",
    b"BAM\x01": "a BAM file of aligned reads",
    b"\x93NUMPY": "a NumPy array",
}
SNIFF_BYTES = 1 << 16  # bytes inspected by needs_normalising
COPY_CHARS = 1 << 20  # characters per read when copying


class TextInput:
    """Checked, newline-normalised text of one file (see the module contract)."""

    def __init__(self, path: Path, what: str, stream: io.TextIOWrapper) -> None:
        self.path, self.what, self._stream = path, what, stream
        self.lines_read = 0  # line breaks given out so far

    def read(self, size: int = -1) -> str:
        return self._checked(lambda: self._stream.read(size))

    def readline(self) -> str:
        return self._checked(self._stream.readline)

    def __iter__(self) -> Iterator[str]:
        while line := self.readline():
            yield line

    def _checked(self, read: Callable[[], str]) -> str:
        try:
            text = read()
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise InputError(
                self.path,
                f"line {self.lines_read + 1}",
                f"the gzip stream is damaged or cut short ({error}); expected a complete gzip file",
            ) from None
        bad = _NOT_TEXT.search(text)
        if bad is not None:
            before = text[: bad.start()]
            line = self.lines_read + before.count("\n") + 1
            column = bad.start() - (before.rfind("\n") + 1) + 1
            raise InputError(self.path, f"line {line}", self._problem(bad.group(), column))
        self.lines_read += text.count("\n")
        return text

    def _problem(self, char: str, column: int) -> str:
        code = ord(char)
        if char == "\ufeff":
            return (
                f"a byte-order mark (U+FEFF) at column {column}, not at the start of the file (two "
                f"files joined?); expected one {self.what} of text"
            )
        if 0xDC80 <= code <= 0xDCFF:
            name = self.path.name
            return (
                f"byte 0x{code - 0xDC00:02x} at column {column} is not UTF-8 text; expected the "
                f"{self.what} as UTF-8 (or ASCII) text: a binary file, or text in another encoding "
                f"(convert it, e.g. iconv -f latin1 -t utf-8 {name} > {name}.utf8)"
            )
        return (
            f"binary data (byte 0x{code:02x} at column {column}); expected the {self.what} as text"
            if code < 0x20
            else f"character U+{code:04X} at column {column} is not text; expected the {self.what} as text"
        )


@contextlib.contextmanager
def open_text(path: str | PathLike[str], what: str) -> Iterator[TextInput]:
    """The checked text of ``path`` (see the module contract); ``path`` must be a non-empty file."""
    path = require_file(path, what)
    with contextlib.ExitStack() as stack:
        binary: io.BufferedReader | gzip.GzipFile = stack.enter_context(open(path, "rb"))
        if binary.peek(2)[:2] == GZIP_MAGIC:
            binary = stack.enter_context(gzip.GzipFile(fileobj=binary, mode="rb"))
        try:
            start = binary.peek(8)[:8]
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise InputError(path, None, f"not a readable gzip file ({error})") from None
        _refuse_known_binary(path, what, start)
        encoding = "utf-16" if start[:2] in _UTF16_BOMS else "utf-8-sig"
        stream = io.TextIOWrapper(binary, encoding=encoding, errors="surrogateescape", newline=None)
        try:
            yield TextInput(path, what, stream)
        finally:
            stream.detach()  # the files are closed by the stack


def _refuse_known_binary(path: Path, what: str, start: bytes) -> None:
    """A file of a known binary format, named by its format rather than by its first odd byte."""
    for magic, kind in BINARY_FORMATS.items():
        if start.startswith(magic):
            fix = (
                "save it as CSV or tab-separated text"
                if magic == b"PK\x03\x04"
                else "is the right file named?"
            )
            raise InputError(path, None, f"is {kind}, not text; expected the {what} as text: {fix}")


def text_lines(path: str | PathLike[str], what: str) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of every line, without its line end."""
    with open_text(path, what) as text:
        for number, line in enumerate(text, start=1):
            yield number, line.removesuffix("\n")


def read_lines(path: str | PathLike[str], what: str) -> list[str]:
    """Every line of the file, without line ends (line ``i + 1`` at index ``i``)."""
    return [line for _, line in text_lines(path, what)]


def csv_records(path: str | PathLike[str], what: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """``(first line, cells)`` of every CSV/TSV record, cells stripped of surrounding whitespace;
    blank lines skipped (see the contract)."""
    with open_text(path, what) as handle:
        # Checked as one block (the regular expression scans it once, in C); tables are held in
        # memory whole anyway. StringIO splits lines at "\n" only, as the contract numbers them.
        text = handle.read()
    reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=delimiter, strict=True)
    # Most files have no space around a cell: then stripping every cell is skipped.
    spaces = f"[^\\S{re.escape(delimiter)}\\n]"
    padded = re.search(
        f'(?:^|[{re.escape(delimiter)}"]){spaces}|{spaces}(?:$|[{re.escape(delimiter)}"])', text, re.M
    )
    first = 1
    try:
        for cells in reader:
            if cells:  # [] is a blank line
                yield first, [cell.strip() for cell in cells] if padded else cells
            first = reader.line_num + 1
    except csv.Error as error:
        raise InputError(path, f"line {first}", _csv_problem(str(error), delimiter)) from None


def _csv_problem(error: str, delimiter: str) -> str:
    if error == "unexpected end of data":
        return (
            "a quoted cell that starts on this line is never closed; expected a closing '\"' "
            "(or no quote at the start of the cell)"
        )
    separator = "','" if delimiter == "," else "a tab"
    return (
        f"not a readable record ({error}); expected a quoted cell to be followed by {separator} "
        "or the line end"
    )


def needs_normalising(path: str | PathLike[str]) -> bool:
    """Whether the file starts with a byte-order mark or has a CR line end not followed by LF
    in its first ``SNIFF_BYTES`` (readers of raw bytes misread both)."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith((codecs.BOM_UTF8, *_UTF16_BOMS)):
        return True
    lone_cr = re.search(rb"\r(?!\n)", head)
    # A CR closing the sample may be followed by an LF beyond it.
    return lone_cr is not None and (lone_cr.end() < len(head) or len(head) < SNIFF_BYTES)


def write_normalised(path: str | PathLike[str], what: str, target: str | PathLike[str]) -> None:
    """Write the checked text of ``path`` to ``target`` as UTF-8 with LF line ends."""
    with open_text(path, what) as text, atomic_path(target) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            while block := text.read(COPY_CHARS):
                out.write(block)
