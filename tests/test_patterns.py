"""Tests of biodl.interpret.patterns: TF-MoDISco (modisco-lite, in a fresh interpreter) finds a
planted motif from attribution scores, and patterns are trimmed and read back faithfully."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from biodl.interpret.motifs import use_numba_cache
from biodl.interpret.patterns import ModiscoSettings, Pattern, consensus, core, discover
from biodl.interpret.warm_up import PLANTED, planted_example

ROOT = Path(__file__).resolve().parents[1]


def test_the_planted_motif_is_the_top_pattern() -> None:
    use_numba_cache(ROOT / ".cache" / "numba")
    x, scores = planted_example(300, 100, seed=0)
    patterns = discover(
        x, scores, ModiscoSettings(max_seqlets=2000, min_seqlets=50, window=15, leiden_runs=4)
    )
    assert patterns and patterns[0].sign == "pos"
    top = core(patterns[0])
    assert top is not None
    bases = "".join("ACGT"[i] for i in top.motif.probabilities.argmax(axis=1))
    reverse = PLANTED[::-1].translate(str.maketrans("ACGT", "TGCA"))
    assert PLANTED in bases or reverse in bases or bases in PLANTED or bases in reverse, bases
    # 300 seqlets are extracted; modisco-lite keeps in the pattern those its clustering agrees on.
    assert patterns[0].n_seqlets >= 50
    assert patterns[0].ppm.shape == patterns[0].cwm.shape and patterns[0].ppm.shape[1] == 4


def test_no_seqlets_no_pattern() -> None:
    rng = np.random.default_rng(1)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(40, 60))]
    scores = rng.normal(0, 0.01, size=x.shape).astype(np.float32)
    assert discover(x, scores, ModiscoSettings(2000, 200, 15, 2)) == []


def test_core_keeps_the_columns_that_carry_the_contributions() -> None:
    cwm = np.zeros((10, 4))
    cwm[3:7, 0] = [0.5, 1.0, 0.2, 0.4]
    ppm = np.full((10, 4), 0.25)
    ppm[3:7] = np.eye(4)[[0, 1, 2, 3]] * 0.9 + 0.025
    trimmed = core(Pattern("pos_0", "pos", 30, ppm, cwm), fraction=0.3)
    assert trimmed is not None and trimmed.start == 3 and trimmed.motif.width == 4  # 0.2 < 0.3 inside stays
    np.testing.assert_array_equal(consensus(trimmed.motif.probabilities).argmax(axis=1), [0, 1, 2, 3])
    assert core(Pattern("pos_1", "pos", 30, ppm, np.zeros((10, 4)))) is None
