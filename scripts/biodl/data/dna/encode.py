"""Vectorised one-hot encoding of DNA.

Contract:
- ``to_codes`` maps raw bytes to small integer codes through one 256-entry lookup table:
  A/C/G/T (either case; soft-masked lower case is upper-cased) → 0..3, the IUPAC ambiguity
  codes N R Y S W K M B D H V → 4..14. Any other byte raises ``InputError`` naming the file,
  the record and the 1-based position. No Python loop runs per base.
- ``one_hot`` turns codes into ``uint8`` arrays (..., 4) in A, C, G, T order. Ambiguity codes
  become, by mode: ``zeros`` → all zeros; ``uniform`` → 1 in all four channels; ``iupac`` → 1
  in each base the code allows. Readers divide by the channel sum (``dataset.normalise``), so
  ``uniform`` means 0.25 per base and ``iupac`` R means 0.5 A + 0.5 G, while storage stays
  ``uint8``.
- Reverse complement of a one-hot array is a flip of both the position and channel axes,
  because complementing A,C,G,T is reversing the channel order.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from biodl.core.errors import InputError

AmbiguousMode = Literal["zeros", "uniform", "iupac"]
AMBIGUOUS_MODES: tuple[AmbiguousMode, ...] = ("zeros", "uniform", "iupac")

BASES = "ACGT"
# IUPAC ambiguity code → bases it stands for.
IUPAC = {
    "N": "ACGT",
    "R": "AG",
    "Y": "CT",
    "S": "CG",
    "W": "AT",
    "K": "GT",
    "M": "AC",
    "B": "CGT",
    "D": "AGT",
    "H": "ACT",
    "V": "ACG",
}
SYMBOLS = BASES + "".join(IUPAC)  # code k is SYMBOLS[k]
N_CODE = SYMBOLS.index("N")
SYMBOL_BYTES = np.frombuffer(SYMBOLS.encode("ascii"), dtype=np.uint8)
INVALID = 255

CODE_TABLE = np.full(256, INVALID, dtype=np.uint8)
for _code, _symbol in enumerate(SYMBOLS):
    CODE_TABLE[ord(_symbol)] = _code
    CODE_TABLE[ord(_symbol.lower())] = _code

# Whether each code counts as G or C (for GC content), and as ambiguous.
IS_GC = np.array([s in "GC" for s in SYMBOLS], dtype=np.uint8)
IS_AMBIGUOUS = np.array([s not in BASES for s in SYMBOLS], dtype=bool)


def _require_mode(mode: str) -> None:
    if mode not in AMBIGUOUS_MODES:
        raise ValueError(f"ambiguous mode must be one of {AMBIGUOUS_MODES}, got {mode!r}")


def _one_hot_table(mode: AmbiguousMode) -> np.ndarray:
    _require_mode(mode)
    table = np.zeros((len(SYMBOLS), 4), dtype=np.uint8)
    for code, symbol in enumerate(SYMBOLS):
        if symbol in BASES:
            table[code, BASES.index(symbol)] = 1
        elif mode == "uniform":
            table[code] = 1
        elif mode == "iupac":
            for base in IUPAC[symbol]:
                table[code, BASES.index(base)] = 1
    return table


ONE_HOT_TABLES = {mode: _one_hot_table(mode) for mode in AMBIGUOUS_MODES}
# The same tables with each row's four bytes read as one uint32: indexing them copies one
# 4-byte word per base, about ten times faster than indexing a (15, 4) table.
ONE_HOT_WORDS = {mode: table.view(np.uint32).ravel() for mode, table in ONE_HOT_TABLES.items()}


def one_hot_words(mode: AmbiguousMode) -> np.ndarray:
    """The code → one-hot table of ``mode``, each row's four bytes as one uint32."""
    _require_mode(mode)
    return ONE_HOT_WORDS[mode]


def to_codes(sequence: str | bytes | np.ndarray, source: str, record: str, offset: int = 0) -> np.ndarray:
    """Encode a sequence as uint8 codes; raise InputError at the first invalid character.

    ``offset`` is added to reported positions (for sequences that are slices of a record).
    """
    text = sequence if isinstance(sequence, str) else None
    if isinstance(sequence, str):  # one byte per character: a non-ASCII one becomes an invalid '?'
        sequence = sequence.encode("ascii", errors="replace")
    raw = np.frombuffer(sequence, dtype=np.uint8) if isinstance(sequence, bytes) else sequence
    codes = CODE_TABLE[raw]
    bad = np.flatnonzero(codes == INVALID)
    if bad.size:
        position = int(bad[0])
        char = text[position] if text is not None else chr(raw[position])
        found = f"binary data (byte 0x{ord(char):02x})" if ord(char) < 0x20 else f"invalid character {char!r}"
        raise InputError(
            source,
            f"record {record!r}, position {offset + position + 1}",
            f"{found}; expected A, C, G, T (any case) or an IUPAC ambiguity code "
            f"({''.join(IUPAC)}); {bad.size} invalid character(s) in this record",
        )
    return codes


def one_hot(codes: np.ndarray, mode: AmbiguousMode = "zeros") -> np.ndarray:
    """Codes of any shape → uint8 one-hot with a trailing axis of 4 (A, C, G, T)."""
    codes = np.asarray(codes)
    return np.ascontiguousarray(one_hot_words(mode)[codes]).view(np.uint8).reshape(*codes.shape, 4)


def encode(
    sequence: str | bytes, mode: AmbiguousMode = "zeros", source: str = "<sequence>", record: str = ""
) -> np.ndarray:
    """Convenience: a sequence string → (L, 4) uint8 one-hot."""
    return one_hot(to_codes(sequence, source, record), mode)


def reverse_complement(one_hot_array: np.ndarray) -> np.ndarray:
    """Reverse complement of (..., L, 4) one-hot arrays (a view)."""
    return one_hot_array[..., ::-1, ::-1]


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of code arrays along the last axis."""
    return COMPLEMENT_CODES[codes[..., ::-1]]


_COMPLEMENT = {
    "A": "T",
    "C": "G",
    "G": "C",
    "T": "A",
    "N": "N",
    "R": "Y",
    "Y": "R",
    "S": "S",
    "W": "W",
    "K": "M",
    "M": "K",
    "B": "V",
    "D": "H",
    "H": "D",
    "V": "B",
}
COMPLEMENT_CODES = np.array([SYMBOLS.index(_COMPLEMENT[s]) for s in SYMBOLS], dtype=np.uint8)


def decode(codes: np.ndarray) -> str:
    """Codes → upper-case string (for logs and tests)."""
    return SYMBOL_BYTES[codes].tobytes().decode("ascii")


def gc_fraction(codes: np.ndarray) -> np.ndarray:
    """GC fraction along the last axis, counting only unambiguous bases."""
    gc = IS_GC[codes].sum(axis=-1, dtype=np.int64)
    called = (~IS_AMBIGUOUS[codes]).sum(axis=-1, dtype=np.int64)
    return np.divide(gc, called, out=np.zeros(gc.shape, dtype=np.float64), where=called > 0)
