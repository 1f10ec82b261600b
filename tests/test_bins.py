"""biodl.data.dna.bins: bins tiled over chromosomes or inside regions."""

import numpy as np

from biodl.data.dna.bins import bin_starts


def brute_force(starts, ends, length, stride):
    return [s for a, b in zip(starts, ends, strict=True) for s in range(a, b - length + 1, stride)]


def test_bin_starts_match_a_loop_per_region_on_random_regions():
    rng = np.random.default_rng(7)
    for _ in range(50):
        edges = np.sort(rng.choice(5000, size=2 * rng.integers(0, 12), replace=False))
        starts, ends = edges[0::2].astype(np.int64), edges[1::2].astype(np.int64)
        length, stride = int(rng.integers(1, 300)), int(rng.integers(1, 200))
        got = bin_starts(starts, ends, length, stride)
        assert got.tolist() == brute_force(starts, ends, length, stride)
        assert got.dtype == np.int64


def test_a_bin_ending_exactly_at_the_region_end_is_kept_and_a_shorter_region_gives_none():
    starts, ends = np.array([0, 500], np.int64), np.array([400, 599], np.int64)
    assert bin_starts(starts, ends, 100, 150).tolist() == [0, 150, 300]
    assert bin_starts(np.array([], np.int64), np.array([], np.int64), 10, 5).tolist() == []
