"""biodl.evaluation.ensembles: an ensemble's predictions are its members' mean, checked row for row."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biodl.core.errors import InputError
from biodl.core.files import write_tsv
from biodl.data.dataset import PreparedDataset, load_labels, load_metadata, open_dataset
from biodl.evaluation.ensembles import average_predictions, write_average
from biodl.evaluation.predictions import PREDICTED_SPLITS, Scores, predictions_frame, read_predictions


def write_member(dataset: PreparedDataset, path: Path, outputs: dict[str, np.ndarray]) -> Path:
    """A member's predictions.tsv with the given outputs per split."""
    frames = []
    for split in PREDICTED_SPLITS:
        scores = Scores(dataset.task, dataset.targets, load_labels(dataset, split), outputs[split])
        frames.append(predictions_frame(load_metadata(dataset, split), scores))
    write_tsv(pd.concat(frames, ignore_index=True), path)
    return path


def random_outputs(dataset: PreparedDataset, rng: np.random.Generator) -> dict[str, np.ndarray]:
    outputs = {}
    for split in PREDICTED_SPLITS:
        raw = rng.random((dataset.n(split), len(dataset.targets)))
        outputs[split] = raw / raw.sum(axis=1, keepdims=True) if dataset.task == "multiclass" else raw
    return outputs


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
def test_ensemble_is_the_mean_of_its_members(
    make_dataset: Callable[..., Path], tmp_path: Path, task: str
) -> None:
    root = make_dataset(task=task)
    dataset = open_dataset(root)
    rng = np.random.default_rng(0)
    outputs = [random_outputs(dataset, rng) for _ in range(3)]
    paths = [write_member(dataset, tmp_path / f"member{i}.tsv", o) for i, o in enumerate(outputs)]
    frame = write_average(root, paths, tmp_path / "ensemble.tsv")
    averaged = read_predictions(tmp_path / "ensemble.tsv", dataset)
    for split in PREDICTED_SPLITS:
        expected = (outputs[0][split] + outputs[1][split] + outputs[2][split]) / 3
        np.testing.assert_allclose(averaged[split].y_score, expected, rtol=1e-12)
        np.testing.assert_array_equal(averaged[split].y_true, load_labels(dataset, split))
    member = pd.read_csv(paths[0], sep="\t")
    assert list(frame.columns) == list(member.columns)
    assert frame[["split", "shard", "offset", "name"]].equals(member[["split", "shard", "offset", "name"]])
    if task == "multiclass":
        probabilities = frame[[f"p_{c}" for c in dataset.targets]].to_numpy()
        np.testing.assert_allclose(probabilities.sum(axis=1), 1)
        assert (frame["y_pred"] == np.array(dataset.targets)[probabilities.argmax(axis=1)]).all()


def test_a_single_member_is_its_own_ensemble(binary_dataset: Path, tmp_path: Path) -> None:
    dataset = open_dataset(binary_dataset)
    path = write_member(dataset, tmp_path / "member.tsv", random_outputs(dataset, np.random.default_rng(1)))
    pd.testing.assert_frame_equal(
        average_predictions(binary_dataset, [path]),
        pd.read_csv(path, sep="\t", dtype={"offset": "int64"}),
        check_dtype=False,
    )


def test_members_of_other_examples_or_labels_are_refused(binary_dataset: Path, tmp_path: Path) -> None:
    dataset = open_dataset(binary_dataset)
    rng = np.random.default_rng(2)
    good = write_member(dataset, tmp_path / "good.tsv", random_outputs(dataset, rng))
    lines = good.read_text().splitlines()
    swapped = lines.copy()
    swapped[1], swapped[2] = swapped[2], swapped[1]  # two validation rows out of order
    (tmp_path / "swapped.tsv").write_text("\n".join(swapped) + "\n")
    with pytest.raises(
        InputError, match="swapped.tsv, line 2: expected validation example shards/validation-00000 offset 0"
    ):
        average_predictions(binary_dataset, [good, tmp_path / "swapped.tsv"])
    short = [line for i, line in enumerate(lines) if i != 5]
    (tmp_path / "short.tsv").write_text("\n".join(short) + "\n")
    with pytest.raises(InputError, match="short.tsv, split validation: expected 48 rows"):
        average_predictions(binary_dataset, [good, tmp_path / "short.tsv"])
    frame = pd.read_csv(good, sep="\t")
    frame.loc[0, "y_true"] = 1 - frame.loc[0, "y_true"]
    write_tsv(frame, tmp_path / "relabelled.tsv")
    with pytest.raises(InputError, match="relabelled.tsv, split validation: labels differ"):
        average_predictions(binary_dataset, [good, tmp_path / "relabelled.tsv"])


def regression_dataset(make_dataset: Callable[..., Path]) -> Path:
    """The binary fixture with its 0/1 label read as a number to predict."""
    root = make_dataset(task="binary")
    manifest = json.loads((root / "dataset.json").read_text())
    manifest |= {
        "task": "regression",
        "classes": [],
        "targets": ["signal"],
        "target_mean": [0.5],
        "target_std": [0.5],
    }
    (root / "dataset.json").write_text(json.dumps(manifest))
    return root


def test_regression_values_are_averaged_in_their_units(
    tmp_path: Path, make_dataset: Callable[..., Path]
) -> None:
    root = regression_dataset(make_dataset)
    dataset = open_dataset(root)
    first = {s: np.full((dataset.n(s), 1), 10.0) for s in PREDICTED_SPLITS}
    second = {s: np.full((dataset.n(s), 1), -4.0) for s in PREDICTED_SPLITS}
    paths = [
        write_member(dataset, tmp_path / "a.tsv", first),
        write_member(dataset, tmp_path / "b.tsv", second),
    ]
    frame = average_predictions(root, paths)
    assert (frame["pred_signal"] == 3.0).all()
