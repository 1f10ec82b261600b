"""biodl.training.learning_curve: subsets nested, seeded, stratified; 100 % is the split."""

from __future__ import annotations

import numpy as np
import pytest

from biodl.core.errors import InputError
from biodl.training.learning_curve import nested_subsets

LABELS = np.array(["bound"] * 30 + ["background"] * 170)


def test_subsets_are_nested_and_the_largest_is_the_whole_split() -> None:
    subsets = nested_subsets(LABELS, seed=5)
    assert list(subsets) == [0.1, 0.25, 0.5, 1.0]
    sizes = [len(subsets[f]) for f in subsets]
    assert sizes == [20, 50, 100, 200]
    for small, large in zip(list(subsets.values()), list(subsets.values())[1:], strict=False):
        assert set(small) <= set(large)
    np.testing.assert_array_equal(subsets[1.0], np.arange(200))


def test_subsets_keep_the_class_proportions() -> None:
    for fraction, indices in nested_subsets(LABELS, seed=1).items():
        bound = int((LABELS[indices] == "bound").sum())
        assert bound == round(30 * fraction), fraction


def test_the_seed_decides_the_subsets() -> None:
    same = nested_subsets(LABELS, seed=2), nested_subsets(LABELS, seed=2)
    other = nested_subsets(LABELS, seed=3)
    assert all(np.array_equal(same[0][f], same[1][f]) for f in same[0])
    assert not np.array_equal(same[0][0.1], other[0.1])


def test_unlabelled_examples_and_tiny_classes() -> None:
    assert len(nested_subsets(None, (0.5,), seed=0, n=9)[0.5]) == 4  # round(4.5) = 4 (banker's)
    # A class is never dropped: at least one example of each.
    labels = np.array([0] * 99 + [1])
    assert 99 in nested_subsets(labels, (0.1,), seed=0)[0.1]


@pytest.mark.parametrize(
    ("fractions", "where"),
    [((0.0, 1.0), r"fractions\[0\]"), ((0.5, 1.5), r"fractions\[1\]"), ((0.5, 0.5), "fractions")],
)
def test_bad_fractions_are_refused(fractions: tuple[float, ...], where: str) -> None:
    with pytest.raises(InputError, match=f"learning curve, {where}"):
        nested_subsets(LABELS, fractions)
