"""Tests of biodl.interpret.discovery: what marginalisation inserts and the pattern table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from biodl.interpret.discovery import PATTERN_COLUMNS, insertion_motifs
from biodl.interpret.motifs import Motif


def motif(motif_id: str, name: str, bases: str) -> Motif:
    return Motif(motif_id, name, np.eye(4)[["ACGT".index(b) for b in bases]] * 0.9 + 0.025, 10)


def test_matched_database_motifs_come_first_without_repeats_then_unmatched_patterns() -> None:
    database = [motif("MA1", "ONE", "GATAAG"), motif("MA2", "TWO", "CACGTG")]
    filters = pd.DataFrame(
        {
            "filter": [3, 5, 7],
            "matched": [True, False, True],
            "best_match": ["MA1", None, "MA1"],
        }
    )
    patterns = pd.DataFrame(
        [
            ["t", "pos_0", "pos", 90, 12, 2, 6, 9.0, "AACACGTGAAAA", "MA2", "TWO", 1e-9, 0.01, True],
            ["t", "pos_1", "pos", 40, 10, 1, 5, 7.0, "CTTGACATTT", None, None, 0.2, 0.5, False],
            ["t", "neg_0", "neg", 30, 10, 0, 4, 6.0, "GGGGCCCCAA", None, None, 0.3, 0.6, False],
        ],
        columns=PATTERN_COLUMNS,
    )
    chosen = insertion_motifs(filters, patterns, database, limit=5)
    assert [m.name for m in chosen] == ["MA1 ONE", "MA2 TWO", "t pos_1"]
    assert chosen[0].bases == "GATAAG" and chosen[0].source == "best match of filter3"
    assert chosen[2].bases == "TTGAC"  # the pattern's core, not its flanks
    assert len(insertion_motifs(filters, patterns, database, limit=1)) == 1
    assert insertion_motifs(filters.iloc[:0], patterns.iloc[:0], database, limit=5) == []
