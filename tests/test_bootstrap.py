"""biodl.evaluation.bootstrap: resamples drawn as the contract says, percentile intervals,
undefined resamples left out and said, blocks that change memory but not the numbers."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pytest

from biodl.evaluation import bootstrap
from biodl.evaluation.bootstrap import Resampling, bootstrap_intervals, resample_weights

KEY = ("mean", "x")


def mean_of(x: np.ndarray) -> Callable[[np.ndarray], dict[tuple[str, str], np.ndarray]]:
    """values_for: the weighted mean of ``x`` per resample."""
    return lambda w: {KEY: (w @ x) / w.sum(axis=1)}


def test_weights_count_the_draws_of_default_rng_seeded() -> None:
    weights = np.concatenate(list(resample_weights(7, 30, np.random.default_rng(5))))
    drawn = np.random.default_rng(5).integers(0, 7, size=(30, 7))
    expected = np.stack([np.bincount(row, minlength=7) for row in drawn])
    np.testing.assert_array_equal(weights, expected)
    assert (weights.sum(axis=1) == 7).all()


def test_interval_is_the_percentiles_of_the_resampled_values() -> None:
    x = np.random.default_rng(0).normal(size=40)
    intervals = bootstrap_intervals(40, [KEY], mean_of(x), Resampling(seed=3, resamples=500, confidence=0.9))
    drawn = np.random.default_rng(3).integers(0, 40, size=(500, 40))
    means = x[drawn].mean(axis=1)
    assert intervals[KEY] == pytest.approx((np.quantile(means, 0.05), np.quantile(means, 0.95)))
    assert intervals[KEY][0] < x.mean() < intervals[KEY][1]


def test_small_blocks_give_the_same_intervals(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.default_rng(1).random(25)
    resampling = Resampling(seed=8, resamples=301, confidence=0.8)
    whole = bootstrap_intervals(25, [KEY], mean_of(x), resampling)
    calls = []

    def counted(w: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
        calls.append(len(w))
        return mean_of(x)(w)

    monkeypatch.setattr(bootstrap, "RESAMPLE_BLOCK", 25 * 40)  # 40 resamples per block
    assert bootstrap_intervals(25, [KEY], counted, resampling) == whole
    assert calls == [40] * 7 + [21]


def test_same_seed_same_intervals_other_seed_other_intervals() -> None:
    x = np.random.default_rng(2).random(30)
    first = bootstrap_intervals(30, [KEY], mean_of(x), Resampling(4, 200, 0.95))
    assert bootstrap_intervals(30, [KEY], mean_of(x), Resampling(4, 200, 0.95)) == first
    assert bootstrap_intervals(30, [KEY], mean_of(x), Resampling(5, 200, 0.95)) != first


def test_undefined_resamples_are_left_out_and_said(caplog: pytest.LogCaptureFixture) -> None:
    x = np.arange(10.0)
    undefined_key = ("never", "x")

    def values_for(w: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
        mean = (w @ x) / w.sum(axis=1)
        # Undefined whenever example 0 was not drawn; never defined for the other key.
        return {KEY: np.where(w[:, 0] > 0, mean, np.nan), undefined_key: np.full(len(w), np.nan)}

    with caplog.at_level(logging.WARNING, logger="biodl.evaluation.bootstrap"):
        intervals = bootstrap_intervals(10, [KEY, undefined_key], values_for, Resampling(6, 100, 0.9))
    drawn = np.random.default_rng(6).integers(0, 10, size=(100, 10))
    kept = [x[row].mean() for row in drawn if 0 in row]
    assert 0 < len(kept) < 100
    assert intervals[KEY] == pytest.approx((np.quantile(kept, 0.05), np.quantile(kept, 0.95)))
    assert np.isnan(intervals[undefined_key]).all()
    assert f"bootstrap interval of mean for target x uses {len(kept)} of 100 resamples" in caplog.text
    assert "no bootstrap interval for never of target x: undefined in every resample" in caplog.text
