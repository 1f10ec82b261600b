"""biodl.apply.trained: a run's model(s) loaded on their dataset, scores of code windows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from apply_fixtures import centre_model, hand_score

from biodl.apply.trained import load_trained, require_length
from biodl.core.errors import InputError
from biodl.data.dna import encode

LENGTH = 40


def _windows(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), LENGTH)) for _ in range(n)]


@pytest.mark.parametrize("both_strands", [False, True])
def test_scores_are_the_hand_computed_ones(
    make_dataset: Callable[..., Path], tmp_path: Path, both_strands: bool
) -> None:
    model = load_trained(
        make_dataset(length=LENGTH), [centre_model(LENGTH, tmp_path / "m.keras")], both_strands
    )
    windows = _windows(64, 1)
    codes = np.stack([encode.to_codes(w, "test", "") for w in windows])
    scores = model.predict(codes)
    assert scores.shape == (64, 1)
    expected = [hand_score(w, both_strands) for w in windows]
    np.testing.assert_allclose(scores[:, 0], expected, rtol=1e-5)
    assert len(set(np.round(expected, 6))) > 1  # the windows do not all score alike


def test_chunks_are_scored_in_order_an_empty_one_included(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    model = load_trained(make_dataset(length=LENGTH), [centre_model(LENGTH, tmp_path / "m.keras")], True)
    codes = np.stack([encode.to_codes(w, "test", "") for w in _windows(50, 2)])
    chunks = [codes[:20], codes[20:20], codes[20:21], codes[21:]]  # the second is empty (all N skipped)
    scored = list(model.predict_chunks(iter(chunks)))
    assert [len(s) for s in scored] == [20, 0, 1, 29]
    np.testing.assert_allclose(np.concatenate(scored), model.predict(codes), rtol=1e-6)
    np.testing.assert_allclose(
        np.concatenate(scored)[:, 0], [hand_score(w, True) for w in _windows(50, 2)], rtol=1e-5
    )


def test_a_bad_chunk_raises_where_the_scores_are_read(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    model = load_trained(make_dataset(length=LENGTH), [centre_model(LENGTH, tmp_path / "m.keras")], False)
    good = np.zeros((3, LENGTH), np.uint8)
    scores = model.predict_chunks([good, np.zeros((3, LENGTH + 1), np.uint8)])
    assert len(next(scores)) == 3
    with pytest.raises(ValueError, match=f"expected windows of shape \\(n, {LENGTH}\\)"):
        next(scores)


def test_ensemble_members_are_averaged(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    dataset = make_dataset(length=LENGTH)
    one = centre_model(LENGTH, tmp_path / "one.keras")
    codes = np.stack([encode.to_codes(w, "test", "") for w in _windows(8, 2)])
    single = load_trained(dataset, [one], False).predict(codes)
    both = load_trained(dataset, [one, one], False).predict(codes)
    np.testing.assert_allclose(both, single, rtol=1e-6)


def test_a_model_of_another_length_is_refused(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"input.*shape"):
        load_trained(make_dataset(length=LENGTH), [centre_model(LENGTH + 2, tmp_path / "m.keras")], False)


def test_a_sequence_of_another_length_names_both_lengths(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    model = load_trained(make_dataset(length=LENGTH), [centre_model(LENGTH, tmp_path / "m.keras")], False)
    with pytest.raises(InputError, match=r"s\.fa, record 'x': sequence is 39 bases long, the model takes 40"):
        require_length(np.zeros(39, np.uint8), model, "s.fa", "record 'x'")
