from collections import Counter

import numpy as np
import pytest

from biodl.data.dna import background, encode


def dinucleotides(codes):
    return Counter(zip(codes[:-1].tolist(), codes[1:].tolist(), strict=True))


@pytest.mark.parametrize("seed", range(20))
def test_shuffle_preserves_dinucleotide_counts_exactly(seed):
    rng = np.random.default_rng(seed)
    length = int(rng.integers(3, 400))
    codes = rng.choice(
        np.array([0, 1, 2, 3, encode.N_CODE], dtype=np.uint8), length, p=[0.3, 0.2, 0.2, 0.28, 0.02]
    )
    shuffled = background.dinucleotide_shuffle(codes, rng)
    assert dinucleotides(shuffled) == dinucleotides(codes)
    assert shuffled[0] == codes[0] and shuffled[-1] == codes[-1]


def test_shuffle_actually_shuffles_and_is_seeded():
    codes = encode.to_codes("ACGTTGCAAGCTTACGGATCCATGCA" * 8, "s", "r")
    a = background.dinucleotide_shuffle(codes, np.random.default_rng(1))
    b = background.dinucleotide_shuffle(codes, np.random.default_rng(1))
    c = background.dinucleotide_shuffle(codes, np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, codes) and not np.array_equal(a, c)


def test_shuffle_reaches_every_eulerian_walk():
    # ACAGA has exactly two dinucleotide-preserving arrangements: ACAGA and AGACA.
    codes = encode.to_codes("ACAGA", "s", "r")
    rng = np.random.default_rng(0)
    seen = Counter(encode.decode(background.dinucleotide_shuffle(codes, rng)) for _ in range(400))
    assert set(seen) == {"ACAGA", "AGACA"}
    assert min(seen.values()) > 150  # uniform over the two


def test_candidates_avoid_excluded_bases_and_ns():
    codes = encode.to_codes("ACGT" * 25 + "N" * 20 + "GC" * 30, "s", "r")
    excluded = np.zeros(len(codes), bool)
    excluded[0:10] = True
    starts, gc = background.candidate_starts(codes, excluded, 10, 5, max_ambiguous=0.0)
    assert starts.min() >= 10
    assert not any((s < 120) and (s + 10 > 100) for s in starts)  # no window touches the N run
    assert gc[starts >= 120].tolist() == [1.0] * int((starts >= 120).sum())


def test_gc_matching_follows_the_positive_distribution():
    rng = np.random.default_rng(0)
    positive_gc = np.clip(rng.normal(0.6, 0.05, 500), 0, 1)
    candidate_gc = rng.uniform(0.2, 0.8, 20000)
    picked = background.match_gc(positive_gc, candidate_gc, 2, 20, np.random.default_rng(1))
    assert len(picked) == 1000 and len(set(picked.tolist())) == 1000
    chosen = candidate_gc[picked]
    assert abs(chosen.mean() - positive_gc.mean()) < 0.01
    assert abs(chosen.std() - positive_gc.std()) < 0.01


def test_gc_matching_borrows_from_neighbouring_bins_when_short():
    picked = background.match_gc(
        np.full(10, 0.52), np.array([0.51, 0.53, 0.58, 0.1]), 1, 20, np.random.default_rng(0)
    )
    assert sorted(picked.tolist()) == [0, 1, 2, 3]  # all there is, nearest first
