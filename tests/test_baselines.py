"""biodl.training.baselines: features, fitting on the train split, predictions for every task."""

from __future__ import annotations

from collections.abc import Callable
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.metrics import roc_auc_score

from biodl.config.models import check_model
from biodl.core.errors import InputError
from biodl.data.dna.encode import encode
from biodl.models.parameter_count import read_parameters
from biodl.training.baselines import kmer_counts, train_baseline

LINEAR = {"kind": "baseline", "estimator": "linear", "cv_folds": 3}
BOOSTING = {"kind": "baseline", "estimator": "gradient_boosting", "max_iter": 50}


def _naive_kmers(sequence: str, k: int) -> np.ndarray:
    """Counts of both strands' k-mers, by string matching."""
    complement = sequence[::-1].translate(str.maketrans("ACGT", "TGCA"))
    index = {"".join(p): i for i, p in enumerate(product("ACGT", repeat=k))}
    counts = np.zeros(4**k)
    for strand in (sequence, complement):
        for i in range(len(strand) - k + 1):
            if strand[i : i + k] in index:
                counts[index[strand[i : i + k]]] += 1
    return counts / len(sequence)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_kmer_counts_match_string_counting_and_skip_ambiguous_windows(k: int) -> None:
    sequences = ["ACGTTGCAAN", "GGGGCCCCAT"]
    onehot = np.stack([encode(s) for s in sequences])
    expected = np.stack([_naive_kmers(s, k) for s in sequences])
    np.testing.assert_allclose(kmer_counts(onehot, k), expected)


def _run(dataset: Path, settings: dict, tmp_path: Path, name: str = "run") -> pd.DataFrame:
    return train_baseline(
        dataset,
        check_model("base", settings),
        3,
        tmp_path / name / "model.skops",
        tmp_path / name / "predictions.tsv",
        tmp_path / name / "parameters.tsv",
    )


@pytest.mark.parametrize("settings", [LINEAR, BOOSTING], ids=["linear", "boosting"])
def test_dna_baseline_learns_the_motif_and_predicts_validation_then_test(
    make_dataset: Callable[..., Path], tmp_path: Path, settings: dict
) -> None:
    predictions = _run(make_dataset(task="binary", sizes=(300, 60, 80)), {**settings, "k": 3}, tmp_path)
    assert predictions["split"].tolist() == ["validation"] * 60 + ["test"] * 80
    test = predictions[predictions["split"] == "test"]
    assert test["y_score"].between(0, 1).all()
    assert roc_auc_score(test["y_true"], test["y_score"]) > 0.8
    model = tmp_path / "run" / "model.skops"
    assert skops.io.load(model, trusted=skops.io.get_untrusted_types(file=model))


def test_a_linear_baseline_counts_its_coefficients_and_boosting_its_trees(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    dataset = make_dataset(task="multiclass", sizes=(240, 60, 60))
    _run(dataset, {**LINEAR, "k": 2}, tmp_path, "linear")
    _run(dataset, {**BOOSTING, "k": 2}, tmp_path, "boosting")
    linear = read_parameters(tmp_path / "linear" / "parameters.tsv")
    # 16 2-mer counts x 3 classes, and an intercept per class.
    assert (linear.total, linear.trainable) == (16 * 3 + 3, 16 * 3 + 3)
    boosting = read_parameters(tmp_path / "boosting" / "parameters.tsv")
    assert (boosting.total, boosting.trainable) == (None, None)
    fitted = skops.io.load(
        tmp_path / "boosting" / "model.skops",
        trusted=skops.io.get_untrusted_types(file=tmp_path / "boosting" / "model.skops"),
    )[0]
    assert boosting.counted == f"gradient boosting fits {fitted.n_iter_ * 3} trees, not weights"


@pytest.mark.parametrize("task", ["multiclass", "multilabel"])
def test_each_class_or_target_gets_a_probability(
    make_dataset: Callable[..., Path], tmp_path: Path, task: str
) -> None:
    predictions = _run(
        make_dataset(task=task, sizes=(240, 60, 60)), {**LINEAR, "dna_features": "onehot"}, tmp_path
    )
    if task == "multiclass":
        probabilities = predictions[["p_alpha", "p_beta", "p_gamma"]].to_numpy()
        np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    else:
        assert predictions[["score_site_a", "score_site_b"]].stack().between(0, 1).all()


def test_same_seed_same_predictions(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    dataset = make_dataset(task="binary")
    first = _run(dataset, BOOSTING, tmp_path, "a")
    again = _run(dataset, BOOSTING, tmp_path, "b")
    pd.testing.assert_frame_equal(first, again)


def test_a_network_model_is_not_a_baseline(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected baseline, found 'mlp'"):
        _run(make_dataset(task="binary"), {"kind": "mlp"}, tmp_path)
