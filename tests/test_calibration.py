"""Tests of biodl.interpret.calibration: trimming, equal-information decoys, the target-decoy
q-value, and the null calibration against the real JASPAR vertebrate collection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biodl.interpret.calibration import (
    UNIFORM,
    Calibration,
    Core,
    calibrate,
    can_match,
    null_motifs,
    target_decoy_q,
    trim,
)
from biodl.interpret.motifs import Motif, information_content, read_meme, use_numba_cache

ROOT = Path(__file__).resolve().parents[1]
JASPAR = ROOT / "resources" / "jaspar" / "JASPAR2024_CORE_vertebrates_non-redundant.meme"
CONTEXT = Calibration(
    trim_bits=0.3, min_information=6.0, min_width=4, null_motifs=100, max_q=0.05, seed=3, n_jobs=2
)


@pytest.fixture(scope="module", autouse=True)
def numba_cache() -> None:
    use_numba_cache(ROOT / ".cache" / "numba")


def motif_of(rows: np.ndarray, name: str = "m") -> Motif:
    return Motif(name, name, rows / rows.sum(axis=1, keepdims=True), 20)


def test_trim_keeps_the_informative_core_and_says_where_it_starts() -> None:
    flat = np.full((3, 4), 0.25)
    peaked = np.array([[0.97, 0.01, 0.01, 0.01], [0.25, 0.25, 0.25, 0.25], [0.01, 0.01, 0.01, 0.97]])
    motif = motif_of(np.vstack([flat, peaked, flat, flat]))
    core = trim(motif, UNIFORM, 0.3)
    assert core is not None and core.start == 3 and core.motif.width == 3  # the flat middle column stays
    np.testing.assert_allclose(core.motif.probabilities, peaked)
    assert trim(motif_of(np.full((19, 4), 0.25)), UNIFORM, 0.3) is None
    # A nearly flat filter keeps a core, but too little information to be matched.
    rng = np.random.default_rng(0)
    nearly_flat = motif_of(0.25 + rng.uniform(-0.08, 0.08, size=(19, 4)))
    core = trim(nearly_flat, UNIFORM, 0.01)
    assert core is not None and core.bits < 2 and not can_match(core, CONTEXT)


def test_decoys_keep_width_and_the_information_of_every_column() -> None:
    rng = np.random.default_rng(1)
    motif = motif_of(rng.dirichlet(np.full(4, 0.3), size=12))
    decoys = null_motifs(motif, 20, np.random.default_rng(2))
    own = np.sort(information_content(motif.probabilities, UNIFORM))
    for decoy in decoys:
        assert decoy.width == motif.width
        np.testing.assert_allclose(np.sort(information_content(decoy.probabilities, UNIFORM)), own)
        np.testing.assert_allclose(decoy.probabilities.sum(axis=1), 1.0)
    assert not np.allclose(decoys[0].probabilities, motif.probabilities)
    again = null_motifs(motif, 20, np.random.default_rng(2))
    assert all(np.array_equal(a.probabilities, b.probabilities) for a, b in zip(decoys, again, strict=True))


def test_target_decoy_q_counts_decoys_below_each_threshold() -> None:
    decoys = np.array([[0.5, 0.2, 0.9, 0.04], [0.3, 0.6, 0.01, 0.8]])  # 4 decoys per query
    q = target_decoy_q(np.array([1e-4, 0.25]), decoys)
    # At 1e-4: no decoy below, (0 + 1) / 4 expected false among 1 discovery -> 0.25.
    # At 0.25: 3 decoys below, (3 + 1) / 4 = 1 expected false among 2 -> 0.5.
    np.testing.assert_allclose(q, [0.25, 0.5])
    assert (np.diff(target_decoy_q(np.array([0.1, 0.001, 0.5]), decoys)[[1, 0, 2]]) >= 0).all()


def test_random_filters_are_rarely_matched() -> None:
    """Random motifs as informative as learned filters (Dirichlet columns, 8 to 16 wide) against
    the 879 vertebrate matrices: Tomtom's own q calls several of them matches (17% here), the
    calibrated q at most one in ten."""
    rng = np.random.default_rng(7)
    database = read_meme(JASPAR)
    queries = [
        trim(
            motif_of(rng.dirichlet(np.full(4, 0.4), size=int(rng.integers(8, 17))), f"random{i}"),
            UNIFORM,
            0.3,
        )
        for i in range(40)
    ]
    table, _ = calibrate(queries, database, CONTEXT)
    tested = table[table["tested"]]
    assert len(tested) >= 30
    assert (tested["tomtom_q"] <= 0.05).sum() >= 3  # Tomtom's q alone calls random motifs matches
    assert table["matched"].mean() <= 0.1


def test_a_database_motif_with_noise_is_matched_and_flat_ones_are_not_tested() -> None:
    database = read_meme(JASPAR)
    ctcf = next(m for m in database if m.id == "MA0139.2")
    rng = np.random.default_rng(4)
    noisy = motif_of(ctcf.probabilities + rng.uniform(0, 0.1, size=ctcf.probabilities.shape), "noisy_ctcf")
    flat = motif_of(0.25 + rng.uniform(-0.05, 0.05, size=(19, 4)), "flat")
    decoys = [
        trim(motif_of(rng.dirichlet(np.full(4, 0.4), size=12), f"random{i}"), UNIFORM, 0.3) for i in range(9)
    ]
    queries: list[Core | None] = [trim(noisy, UNIFORM, 0.3), trim(flat, UNIFORM, 0.3), *decoys]
    table, tomtom = calibrate(queries, database, CONTEXT)
    first = table.iloc[0]
    assert first["matched"] and first["best_match_name"] == "CTCF" and first["null_q"] <= 0.05
    assert not table.iloc[1]["tested"] and not table.iloc[1]["matched"]
    assert set(tomtom["filter"]) <= {q.motif.id for q in queries if q is not None and can_match(q, CONTEXT)}
    again, _ = calibrate(queries, database, CONTEXT)
    assert again.equals(table)  # seeded decoys: the same numbers
