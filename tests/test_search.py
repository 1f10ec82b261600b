"""biodl.evaluation.search: the trial is chosen on the validation split alone, ties to the earlier trial."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_ensembles import regression_dataset, write_member

from biodl.core.errors import InputError
from biodl.data.dataset import PreparedDataset, load_labels, open_dataset
from biodl.evaluation.metrics import compute_metrics
from biodl.evaluation.predictions import Scores
from biodl.evaluation.search import score_trials, select_trial, validation_score


def outputs_with_skill(
    dataset: PreparedDataset, skill: dict[str, float], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Scores that follow the labels with the given strength per split (0: noise, 1: perfect)."""
    outputs = {}
    for split, strength in skill.items():
        y = load_labels(dataset, split)
        outputs[split] = np.clip(strength * y + (1 - strength) * rng.random(y.shape), 0, 1)
    return outputs


def trial_files(
    dataset: PreparedDataset, tmp_path: Path, skills: list[dict[str, float]]
) -> list[tuple[str, Path, dict]]:
    rng = np.random.default_rng(5)
    return [
        (
            f"m.trial{t:02d}",
            write_member(dataset, tmp_path / f"trial{t}.tsv", outputs_with_skill(dataset, skill, rng)),
            {"training.learning_rate": 0.001 * t, "dense_layers": [{"units": 4 * t}]},
        )
        for t, skill in enumerate(skills, start=1)
    ]


def test_choice_uses_validation_only_even_when_test_would_pick_another(
    binary_dataset: Path, tmp_path: Path
) -> None:
    dataset = open_dataset(binary_dataset)
    # Trial 2 is best on validation and worst on test; trial 3 the reverse.
    trials = trial_files(
        dataset,
        tmp_path,
        [
            {"validation": 0.3, "test": 0.3},
            {"validation": 0.8, "test": 0.0},
            {"validation": 0.1, "test": 0.9},
        ],
    )
    table = select_trial(binary_dataset, trials, tmp_path / "trials.tsv", tmp_path / "predictions.tsv")
    assert table["chosen"].tolist() == [False, True, False]
    assert (tmp_path / "predictions.tsv").read_bytes() == trials[1][1].read_bytes()
    written = pd.read_csv(tmp_path / "trials.tsv", sep="\t")
    assert list(written.columns) == [
        "trial",
        "training.learning_rate",
        "dense_layers",
        "metric",
        "validation_score",
        "chosen",
    ]
    assert written["trial"].tolist() == ["m.trial01", "m.trial02", "m.trial03"] and set(
        written["metric"]
    ) == {"auroc"}
    assert written["dense_layers"].tolist() == ['[{"units": 4}]', '[{"units": 8}]', '[{"units": 12}]']
    # The scores are the validation auROC of each trial, as evaluate computes it.
    for (_, path, _), score in zip(trials, written["validation_score"], strict=True):
        frame = pd.read_csv(path, sep="\t")
        rows = frame[frame["split"] == "validation"]
        scores = Scores(
            "binary", ("bound",), rows[["y_true"]].to_numpy(float), rows[["y_score"]].to_numpy(float)
        )
        metrics = compute_metrics(scores, scores, seed=0, bootstrap=0, confidence=0.9)
        expected = metrics[(metrics["metric"] == "auroc") & (metrics["target"] == "bound")]["value"].item()
        assert score == pytest.approx(expected)
    test_auroc = []
    for _, path, _ in trials:
        frame = pd.read_csv(path, sep="\t")
        rows = frame[frame["split"] == "test"]
        test_auroc.append(
            validation_score(
                Scores(
                    "binary", ("bound",), rows[["y_true"]].to_numpy(float), rows[["y_score"]].to_numpy(float)
                )
            )
        )
    assert int(np.argmax(test_auroc)) == 2  # the test split would have picked trial 3


def test_ties_go_to_the_earlier_trial_and_undefined_scores_are_never_chosen(
    binary_dataset: Path, tmp_path: Path
) -> None:
    dataset = open_dataset(binary_dataset)
    perfect = {"validation": 1.0, "test": 0.5}
    trials = trial_files(dataset, tmp_path, [{"validation": 0.2, "test": 0.5}, perfect, perfect])
    assert score_trials(binary_dataset, trials)["chosen"].tolist() == [False, True, False]
    constant = Scores("binary", ("bound",), np.zeros((6, 1)), np.linspace(0, 1, 6)[:, None])
    assert np.isnan(validation_score(constant))  # one class only: auROC undefined


def test_regression_trials_are_scored_by_r2(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    root = regression_dataset(make_dataset)
    dataset = open_dataset(root)
    trials = trial_files(
        dataset, tmp_path, [{"validation": 0.5, "test": 1.0}, {"validation": 0.9, "test": 0.0}]
    )
    table = score_trials(root, trials)
    assert set(table["metric"]) == {"r2"} and table["chosen"].tolist() == [False, True]
    y = load_labels(dataset, "validation")
    predicted = pd.read_csv(trials[1][1], sep="\t").query("split == 'validation'")["pred_signal"].to_numpy()
    expected = 1 - ((y[:, 0] - predicted) ** 2).sum() / ((y[:, 0] - y[:, 0].mean()) ** 2).sum()
    assert table["validation_score"][1] == pytest.approx(expected)


def test_every_trial_undefined_is_an_error(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    root = make_dataset(task="binary", sizes=(40, 6, 10))
    manifest = root / "dataset.json"
    metadata = pd.read_csv(root / "metadata.tsv", sep="\t")
    # Every validation label 0: no auROC can be computed on validation.
    for shard in json.loads(manifest.read_text())["splits"]["validation"]["shards"]:
        y = np.load(root / f"{shard}.y.npy")
        np.save(root / f"{shard}.y.npy", np.zeros_like(y))
    metadata.loc[metadata["split"] == "validation", "label"] = "background"
    metadata.to_csv(root / "metadata.tsv", sep="\t", index=False)
    dataset = open_dataset(root)
    trials = trial_files(dataset, tmp_path, [{"validation": 0.5, "test": 0.5}] * 2)
    with pytest.raises(InputError, match="the validation auroc is undefined for every trial"):
        score_trials(root, trials)
