"""Fixed-length windows around regions of interest.

Contract: ``make_windows`` gives every region a window of exactly ``length`` bases, anchored on
the narrowPeak summit (column 10) when the file has one and ``anchor`` is ``auto``, else on the
region's centre (``(start + end) // 2``). The window is ``[anchor - length // 2,
anchor - length // 2 + length)`` in 0-based half-open coordinates. Windows that run past a
chromosome end are dropped (``edge="drop"``) or kept and later padded with N (``edge="pad"``);
either way they are counted. ``drop_duplicates`` removes repeated windows, and drops windows
that appear under two different labels (a conflict no model can learn from). ``gather`` and
``one_hot_windows`` cut windows out of a chromosome's codes, N-padded past its ends.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd

from biodl.data.dna import encode

log = logging.getLogger(__name__)

COPY_BLOCK = 256  # windows copied per step from an encoded stretch (1 MB at 1 kb)
Anchor = Literal["auto", "centre"]
Edge = Literal["drop", "pad"]


def make_windows(
    regions: pd.DataFrame,
    length: int,
    chrom_sizes: dict[str, int],
    anchor: Anchor = "auto",
    edge: Edge = "drop",
) -> pd.DataFrame:
    """Add ``win_start``/``win_end`` to ``regions`` (a ``biodl.data.dna.bed.read_bed`` frame).

    Returns the kept rows (all of them with ``edge="pad"``), with a boolean ``padded`` column.
    """
    start = regions["start"].to_numpy(np.int64)
    end = regions["end"].to_numpy(np.int64)
    summit = regions["summit"].to_numpy(np.int64)
    centre = (start + end) // 2
    point = np.where((summit >= 0) & (anchor == "auto"), start + summit, centre)
    win_start = point - length // 2
    win_end = win_start + length
    sizes = regions["chrom"].map(chrom_sizes).to_numpy(np.int64)
    outside = (win_start < 0) | (win_end > sizes)
    windows = regions.assign(win_start=win_start, win_end=win_end, padded=outside)
    if edge == "drop":
        if outside.any():
            log.info("dropped %d window(s) running past a chromosome end (edge: drop)", int(outside.sum()))
        return windows.loc[~outside].reset_index(drop=True)
    if outside.any():
        log.info("padded %d window(s) running past a chromosome end with N (edge: pad)", int(outside.sum()))
    return windows.reset_index(drop=True)


def drop_duplicates(windows: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Keep one row per identical ``key`` with one label; drop keys seen with several labels."""
    labels_per_key = windows.groupby(key, sort=False)["label"].transform("nunique")
    conflicting = labels_per_key > 1
    if conflicting.any():
        log.warning("dropped %d window(s) found under more than one label", int(conflicting.sum()))
    kept = windows.loc[~conflicting]
    duplicated = kept.duplicated(key, keep="first")
    if duplicated.any():
        log.info("removed %d duplicate window(s)", int(duplicated.sum()))
    return kept.loc[~duplicated].reset_index(drop=True)


def gather(codes: np.ndarray, starts: np.ndarray, length: int, pad_code: int) -> np.ndarray:
    """Windows ``codes[s:s+length]`` for every start, as one (n, length) array.

    Starts may be negative or run past the end; those positions get ``pad_code``. Plain fancy
    indexing over a sliding-window view copies each window once, with no per-window Python loop;
    only when a window runs off the chromosome is the stretch the windows span copied (padded)
    first, never the whole chromosome.
    """
    starts = np.asarray(starts, dtype=np.int64)
    if not len(starts):
        return np.empty((0, length), dtype=codes.dtype)
    first, end = int(starts.min()), int(starts.max()) + length
    if first >= 0 and end <= len(codes):
        return np.lib.stride_tricks.sliding_window_view(codes, length)[starts]
    stretch = np.full(end - first, pad_code, dtype=codes.dtype)
    inside = slice(max(first, 0), max(min(end, len(codes)), 0))
    stretch[inside.start - first : inside.stop - first] = codes[inside]
    return np.lib.stride_tricks.sliding_window_view(stretch, length)[starts - first]


def one_hot_windows(
    codes: np.ndarray,
    starts: np.ndarray,
    length: int,
    mode: encode.AmbiguousMode,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``encode.one_hot`` of ``gather(codes, starts, length, N)``: (n, length, 4) uint8.

    Written into ``out`` when given (a C-ordered (n, length, 4) uint8 array, e.g. a shard
    buffer's slot) and returned. When the windows overlap enough that the stretch they span is
    no longer than their total length (tiled or dense windows), that stretch is encoded once
    and each window copied out of it: about four times less work than encoding every window,
    in no more memory than the result. Otherwise every window is gathered, then encoded.
    """
    starts = np.asarray(starts, dtype=np.int64)
    result = np.empty((len(starts), length, 4), np.uint8) if out is None else out
    if result.shape != (len(starts), length, 4) or result.dtype != np.uint8 or not result.flags.c_contiguous:
        raise ValueError(
            f"out must be a C-ordered uint8 array of shape {(len(starts), length, 4)}, "
            f"got {result.dtype} {result.shape}"
        )
    if not len(starts):
        return result
    words = result.view(np.uint32).reshape(len(starts), length)  # one 4-byte word per base
    table = encode.one_hot_words(mode)
    first, span = int(starts.min()), int(starts.max()) + length - int(starts.min())
    if span > len(starts) * length:
        # mode="clip": the codes index the table by construction, and "raise" buffers the output.
        np.take(table, gather(codes, starts, length, encode.N_CODE), out=words, mode="clip")
        return result
    stretch = np.lib.stride_tricks.sliding_window_view(
        table[gather(codes, np.array([first]), span, encode.N_CODE)[0]], length
    )
    # A block of windows at a time: one small temporary that stays warm (np.take along a
    # sliding view is a thousand times slower, and one whole temporary is a fresh allocation).
    for block in range(0, len(starts), COPY_BLOCK):
        words[block : block + COPY_BLOCK] = stretch[starts[block : block + COPY_BLOCK] - first]
    return result
