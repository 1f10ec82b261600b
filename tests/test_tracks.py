"""Tests of biodl.interpret.tracks: per-base contributions placed on the genome as a bigWig."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import pytest

from biodl.core.errors import InputError
from biodl.interpret.tracks import write_bigwig


def windows(rows: list[tuple[str, int, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(f"w{i}", c, s, e, strand) for i, (c, s, e, strand) in enumerate(rows)],
        columns=["name", "chrom", "start", "end", "strand"],
    )


def test_windows_are_placed_flipped_and_averaged(tmp_path: Path) -> None:
    scores = np.array([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0], [5.0, 5.0, 5.0, 5.0], [9.0] * 4])
    frame = windows([("chrA", 2, 6, "+"), ("chrA", 4, 8, "-"), ("chrB", 0, 4, "+"), (".", -1, -1, "+")])
    placed = write_bigwig(tmp_path / "t.bw", frame, scores, {"chrA": 20, "chrB": 4})
    assert placed == 3  # the window without coordinates is skipped
    bw = pyBigWig.open(str(tmp_path / "t.bw"))
    assert bw.chroms() == {"chrA": 20, "chrB": 4}
    values = bw.values("chrA", 0, 10)
    # chrA 2..5 = 1 2 3 4; the minus window 4..7 reads 40 30 20 10 on the genome; 4 and 5 overlap.
    np.testing.assert_allclose(values[2:8], [1, 2, (3 + 40) / 2, (4 + 30) / 2, 20, 10])
    assert np.isnan(values[0]) and np.isnan(values[9])
    np.testing.assert_allclose(bw.values("chrB", 0, 4), [5, 5, 5, 5])
    bw.close()


def test_a_window_past_the_chromosome_end_is_refused(tmp_path: Path) -> None:
    frame = windows([("chrA", 18, 22, "+")])
    with pytest.raises(InputError, match="w0"):
        write_bigwig(tmp_path / "t.bw", frame, np.ones((1, 4)), {"chrA": 20})
    assert not (tmp_path / "t.bw").exists()
