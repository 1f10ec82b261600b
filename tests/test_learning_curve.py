"""biodl.training.learning_curve: subsets nested, seeded, stratified; 100 % is the split; the
curve trains each subset and scores validation with bootstrap intervals."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score

from biodl.config.models import check_model
from biodl.config.settings import EvaluationSettings
from biodl.core.errors import InputError
from biodl.core.files import RunFolder
from biodl.data.dataset import load_labels, open_dataset
from biodl.training.batches import ShardBatches
from biodl.training.learning_curve import COLUMNS, learning_curve, nested_subsets
from biodl.training.loop import TrainingRun, train_model

ROOT = Path(__file__).resolve().parents[1]
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


def _run(dataset: Path, config: dict, out: Path, seed: int = 3) -> TrainingRun:
    return TrainingRun(dataset, check_model("tiny", config), seed, out / "model.keras", out / "history.tsv")


@pytest.mark.slow  # three trainings, about 40 s on two cores
def test_curve_trains_each_nested_fraction_and_scores_validation_with_intervals(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path
) -> None:
    config = {**tiny_config, "training": {**tiny_config["training"], "epochs": 2}}
    evaluation = EvaluationSettings(bootstrap=200, confidence=0.9, calibration_bins=10)
    curve = learning_curve(
        _run(binary_dataset, config, tmp_path), (1.0, 0.25), evaluation, tmp_path / "curve"
    )
    assert list(curve.columns) == list(COLUMNS)
    assert curve["fraction"].tolist() == [0.25, 1.0] and curve["train_examples"].tolist() == [40, 160]
    assert set(curve["metric"]) == {"auroc"} and set(curve["target"]) == {"bound"}
    assert ((curve["ci_low"] <= curve["value"]) & (curve["value"] <= curve["ci_high"])).all()
    assert (curve["ci_high"] - curve["ci_low"] > 0).all()
    # The whole split is the plain run: same seed, same examples, same history.
    whole = train_model(_run(binary_dataset, config, tmp_path / "plain"))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "curve/1/history.tsv", sep="\t"), whole)
    dataset = open_dataset(binary_dataset)
    model = keras.models.load_model(tmp_path / "curve/1/model.keras")
    scores = model.predict(ShardBatches(dataset, "validation", 64, labels=False), verbose=0)[:, 0]
    labels = load_labels(dataset, "validation")[:, 0]
    assert curve["value"].iloc[1] == pytest.approx(roc_auc_score(labels, scores))
    # The small fraction trained on 40 examples only: another model, another history.
    small = pd.read_csv(tmp_path / "curve/0.25/history.tsv", sep="\t")
    assert not np.allclose(small["loss"], whole["loss"][: len(small)])


def test_a_subset_run_takes_no_checkpoint(binary_dataset: Path, tiny_config: dict, tmp_path: Path) -> None:
    run = dataclasses.replace(
        _run(binary_dataset, tiny_config, tmp_path),
        subset=np.arange(10),
        checkpoint=RunFolder(tmp_path / "checkpoints", "d", "m"),
    )
    with pytest.raises(InputError, match="not checkpointed"):
        train_model(run)


def test_the_workflow_draws_the_curves_of_the_chosen_runs_when_enabled(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["learning_curve"] = {"enabled": True, "models": ["mlp", "cnn_motif"]}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    run = subprocess.run(
        [str(Path(sys.executable).parent / "snakemake"), "-n", "--forceall", "--quiet", "rules"]
        + ["--configfile", str(tmp_path / "config.yaml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    counts = dict(line.split()[:2] for line in run.stdout.splitlines() if len(line.split()) == 2)
    expected = sum(m in ("mlp", "cnn_motif") for models in config["runs"].values() for m in models)
    assert counts["learning_curve"] == str(expected) and expected >= 2
