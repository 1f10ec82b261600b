"""Learning curves ("would more data help?"): nested, seeded subsets of a training split.

Contract: ``nested_subsets(labels, fractions, seed)`` gives, for each fraction f of
``fractions`` (0 < f <= 1, default 10, 25, 50, 100 %), the sorted indices of the training examples
to train on: each class (the rows of ``labels``, one label per example; ``None`` = one class) is
permuted once by a generator seeded with ``seed``, and a subset takes the first
``max(1, round(f * n_class))`` examples of every class's permutation. So every subset keeps the
class proportions of the split, a smaller fraction's subset lies inside every larger one (the
curve adds data, it never swaps it), 100 % is the whole split, and the same seed gives the same
subsets. Bad fractions raise ``InputError`` naming the fraction. Training each subset and
evaluating on the validation split is the caller's (one run per fraction, the same seed).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from biodl.core.errors import require

FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def nested_subsets(
    labels: np.ndarray | None, fractions: Sequence[float] = FRACTIONS, seed: int = 0, n: int | None = None
) -> dict[float, np.ndarray]:
    """Nested, stratified, seeded training subsets per fraction (see the module contract).

    ``labels``: one label per training example (any hashable values), or ``None`` with ``n``
    examples of one class."""
    _check_fractions(fractions)
    if labels is None:
        require(n is not None and n >= 1, "learning curve", "n", f"expected an example count >= 1, found {n}")
        labels = np.zeros(n or 0, dtype=np.int64)
    labels = np.asarray(labels)
    require(len(labels) >= 1, "learning curve", "labels", "the training split has no example")
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(np.flatnonzero(labels == value)) for value in np.unique(labels)]
    return {
        fraction: np.sort(np.concatenate([order[: max(1, round(fraction * len(order)))] for order in orders]))
        for fraction in fractions
    }


def _check_fractions(fractions: Sequence[float]) -> None:
    require(len(fractions) >= 1, "learning curve", "fractions", "expected at least one fraction")
    for i, fraction in enumerate(fractions):
        require(
            0 < fraction <= 1,
            "learning curve",
            f"fractions[{i}]",
            f"expected a fraction of the training split in (0, 1], found {fraction}",
        )
    require(
        len(set(fractions)) == len(fractions),
        "learning curve",
        "fractions",
        f"expected distinct fractions, found {list(fractions)}",
    )
