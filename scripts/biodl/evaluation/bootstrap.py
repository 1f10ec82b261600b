"""Percentile bootstrap intervals of metrics over the test examples (no TensorFlow).

Contract: ``bootstrap_intervals(n, keys, values_for, resampling)`` draws ``resampling.resamples``
resamples of the ``n`` test examples (with replacement) from
``numpy.random.default_rng(resampling.seed)``, so the same seed gives the same intervals. Each
resample is a row of weights, how often each example was drawn; ``values_for(w)`` turns a
block of rows (B, n) into one value per row for every key (``biodl.evaluation.weighted_metrics``),
so the metrics are computed for many resamples at once, with at most ``RESAMPLE_BLOCK`` weights in
memory. The interval of a key is the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
quantiles of its resampled values. Resamples where a value is undefined (NaN) are left out of
that key's interval and the number used is logged; undefined in every resample gives
``(NaN, NaN)``, logged too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from biodl.evaluation.weighted_metrics import Values

logger = logging.getLogger(__name__)

# Resample weights held in memory at once (entries): bounds memory on large test splits.
RESAMPLE_BLOCK = 2_000_000

Interval = tuple[float, float]


@dataclass(frozen=True)
class Resampling:
    """How to bootstrap: the seed of the draws, how many resamples, the intervals' level."""

    seed: int
    resamples: int
    confidence: float


def resample_weights(n: int, resamples: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Blocks of (resamples, n) weights: how often each test example is drawn in each resample."""
    block = max(1, RESAMPLE_BLOCK // n)
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        drawn = rng.integers(0, n, size=(size, n)) + n * np.arange(size)[:, None]
        yield np.bincount(drawn.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)


def bootstrap_intervals(
    n: int,
    keys: Sequence[tuple[str, str]],
    values_for: Callable[[np.ndarray], Values],
    resampling: Resampling,
) -> dict[tuple[str, str], Interval]:
    """The percentile interval of each (metric, target) in ``keys`` (see the module contract)."""
    samples: dict[tuple[str, str], list[np.ndarray]] = {key: [] for key in keys}
    rng = np.random.default_rng(resampling.seed)
    for w in resample_weights(n, resampling.resamples, rng):
        values = values_for(w)
        for key in keys:
            samples[key].append(values[key])
    logger.info(
        "bootstrap: %d resamples of the %d test examples (seed %d), %g%% percentile intervals",
        resampling.resamples,
        n,
        resampling.seed,
        100 * resampling.confidence,
    )
    return {
        key: _percentile_interval(key, np.concatenate(samples[key]), resampling.confidence) for key in keys
    }


def _percentile_interval(key: tuple[str, str], samples: np.ndarray, confidence: float) -> Interval:
    metric, target = key
    defined = samples[~np.isnan(samples)]
    if len(defined) == 0:
        logger.warning(
            "no bootstrap interval for %s of target %s: undefined in every resample", metric, target
        )
        return float("nan"), float("nan")
    if len(defined) < len(samples):
        logger.warning(
            "bootstrap interval of %s for target %s uses %d of %d resamples (undefined in the others)",
            metric,
            target,
            len(defined),
            len(samples),
        )
    low, high = np.quantile(defined, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)
