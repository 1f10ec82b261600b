"""biodl.evaluation.predictions: the predictions file of every task, written and read back, and its checks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biodl.core.errors import InputError
from biodl.core.files import write_tsv
from biodl.data.dataset import PreparedDataset, SplitInfo
from biodl.evaluation.predictions import Scores, prediction_columns, predictions_frame, read_predictions

SIZES = {"train": 0, "validation": 4, "test": 6}
CLASSES = {
    "binary": ("background", "bound"),
    "multiclass": ("alpha", "beta", "gamma"),
    "multilabel": ("site_a", "site_b"),
    "regression": (),
}
TARGETS = {
    "binary": ("bound",),
    "multiclass": CLASSES["multiclass"],
    "multilabel": CLASSES["multilabel"],
    "regression": ("expression", "half_life"),
}


def dataset(task: str, root: Path) -> PreparedDataset:
    splits = {split: SplitInfo(n, (f"shards/{split}-00000",) if n else ()) for split, n in SIZES.items()}
    return PreparedDataset(
        root, f"toy_{task}", "table", task, CLASSES[task], TARGETS[task], (3,), "zeros", splits, 1
    )


def scores(task: str, n: int, seed: int) -> Scores:
    rng = np.random.default_rng(seed)
    targets = TARGETS[task]
    if task == "multiclass":
        y_true = np.eye(3)[rng.permutation(np.arange(n) % 3)]
        y_score = rng.dirichlet(np.ones(3), n)
    elif task == "regression":
        y_true, y_score = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
        y_true[1, 0] = np.nan
    else:
        y_true = (rng.random((n, len(targets))) < 0.5).astype(float)
        y_score = rng.random((n, len(targets)))
        if task == "multilabel":
            y_true[0, 1] = np.nan
    return Scores(task, targets, y_true, y_score)


def write_predictions(
    task: str, path: Path, split_scores: dict[str, Scores] | None = None
) -> dict[str, Scores]:
    split_scores = split_scores or {
        split: scores(task, SIZES[split], seed) for seed, split in enumerate(("validation", "test"))
    }
    frames = [
        predictions_frame(pd.DataFrame({"split": split, "name": [f"{split}_{i}" for i in range(s.n)]}), s)
        for split, s in split_scores.items()
    ]
    write_tsv(pd.concat(frames, ignore_index=True), path)
    return split_scores


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression"])
def test_predictions_round_trip_for_every_task(task: str, tmp_path: Path) -> None:
    written = write_predictions(task, tmp_path / "predictions.tsv")
    frame = pd.read_csv(tmp_path / "predictions.tsv", sep="\t", keep_default_na=False, dtype=str)
    assert list(frame.columns) == ["split", "name", *prediction_columns(task, TARGETS[task])]
    assert frame["split"].tolist() == ["validation"] * 4 + ["test"] * 6
    back = read_predictions(tmp_path / "predictions.tsv", dataset(task, tmp_path))
    assert set(back) == {"validation", "test"}
    for split, original in written.items():
        assert (back[split].task, back[split].targets) == (task, TARGETS[task])
        np.testing.assert_array_equal(back[split].y_true, original.y_true)
        np.testing.assert_array_equal(back[split].y_score, original.y_score)  # exact: floats written in full


def test_columns_of_each_task() -> None:
    assert prediction_columns("binary", ("bound",)) == ["y_true", "y_score"]
    assert prediction_columns("multiclass", ("a", "b")) == ["y_true", "y_pred", "p_a", "p_b"]
    assert prediction_columns("multilabel", ("x", "y")) == ["true_x", "true_y", "score_x", "score_y"]
    assert prediction_columns("regression", ("e",)) == ["true_e", "pred_e"]


def test_labels_are_written_as_names_integers_or_empty_cells(tmp_path: Path) -> None:
    write_predictions("multilabel", tmp_path / "multilabel.tsv")
    multilabel = pd.read_csv(tmp_path / "multilabel.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert multilabel.loc[0, "true_site_b"] == "" and set(multilabel["true_site_a"]) <= {"0", "1"}
    classes = Scores("multiclass", ("a", "b"), np.eye(2)[[1, 0]], np.array([[0.3, 0.7], [0.9, 0.1]]))
    frame = predictions_frame(pd.DataFrame({"split": ["test", "test"]}), classes)
    assert frame["y_true"].tolist() == ["b", "a"] and frame["y_pred"].tolist() == ["b", "a"]


def _corrupt(path: Path, line: int, column: str, text: str) -> None:
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    frame.loc[line - 2, column] = text
    write_tsv(frame, path)


@pytest.mark.parametrize(
    ("task", "column", "text", "message"),
    [
        ("binary", "y_true", "2", "line 5: column y_true must be 0 or 1, found '2'"),
        ("binary", "y_score", "high", "line 5: column y_score must be a probability in [0, 1], found 'high'"),
        ("binary", "y_score", "1.5", "line 5: column y_score must be a probability in [0, 1], found '1.5'"),
        ("binary", "y_true", "", "line 5: column y_true must be a number, found ''"),
        (
            "multiclass",
            "y_true",
            "delta",
            "line 5: column y_true must be one of the classes alpha, beta, gamma, found 'delta'",
        ),
        (
            "multilabel",
            "true_site_a",
            "yes",
            "line 5: column true_site_a must be a number or empty, found 'yes'",
        ),
        ("regression", "pred_expression", "", "line 5: column pred_expression must be a number, found ''"),
        (
            "regression",
            "true_expression",
            "inf",
            "line 5: column true_expression must be a number or empty, found 'inf'",
        ),
        (
            "binary",
            "split",
            "testing",
            "line 5: split must be one of train, validation, test, found 'testing'",
        ),
    ],
)
def test_a_bad_cell_is_reported_with_its_line(
    task: str, column: str, text: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "predictions.tsv"
    write_predictions(task, path)
    _corrupt(path, 5, column, text)
    with pytest.raises(
        InputError, match=f"predictions.tsv, {message}".replace("[", r"\[").replace("]", r"\]")
    ):
        read_predictions(path, dataset(task, tmp_path))


def test_missing_columns_and_splits_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "predictions.tsv"
    written = write_predictions("multiclass", path)
    with pytest.raises(InputError, match="header: missing column.s. p_delta"):
        read_predictions(
            path, replace(dataset("multiclass", tmp_path), targets=(*TARGETS["multiclass"], "delta"))
        )
    write_predictions("multiclass", path, {"test": written["test"]})
    with pytest.raises(
        InputError,
        match="split validation: expected 4 rows .the validation examples of toy_multiclass., found 0",
    ):
        read_predictions(path, dataset("multiclass", tmp_path))
    write_predictions(
        "multiclass", path, {"validation": written["validation"], "test": scores("multiclass", 5, 0)}
    )
    with pytest.raises(InputError, match="split test: expected 6 rows"):
        read_predictions(path, dataset("multiclass", tmp_path))


def test_scores_refuse_inconsistent_arrays_and_regression_calls() -> None:
    regression = scores("regression", 3, 0)
    with pytest.raises(ValueError, match="no class calls"):
        regression.calls()
    with pytest.raises(ValueError, match="must both have shape"):
        Scores("binary", ("bound",), np.zeros((3, 1)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="no missing labels"):
        Scores("binary", ("bound",), np.array([[np.nan]]), np.array([[0.5]]))
    np.testing.assert_array_equal(scores("multiclass", 3, 0).calls().sum(axis=1), [1, 1, 1])


def bag_predictions(path: Path, groups: dict[str, list[str]]) -> None:
    """One binary row per group of each split (an attention_mil run's predictions.tsv)."""
    frames = [
        predictions_frame(pd.DataFrame({"split": split, "group": names}), scores("binary", len(names), i))
        for i, (split, names) in enumerate(groups.items())
    ]
    write_tsv(pd.concat(frames, ignore_index=True), path)


def test_bag_predictions_have_one_row_per_group_of_the_split(tmp_path: Path) -> None:
    # Tiles of five groups: more tiles than groups in each split, so a per-tile count would fail.
    metadata = pd.DataFrame(
        {
            "split": ["validation"] * 4 + ["test"] * 6,
            "group": ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"],
        }
    )
    write_tsv(metadata, tmp_path / "metadata.tsv")
    data, path = dataset("binary", tmp_path), tmp_path / "predictions.tsv"
    bag_predictions(path, {"validation": ["a", "b"], "test": ["c", "d", "e"]})
    back = read_predictions(path, data, per_bag=True)
    assert {split: s.n for split, s in back.items()} == {"validation": 2, "test": 3}
    with pytest.raises(InputError, match="split validation: expected 4 rows .the validation examples"):
        read_predictions(path, data)  # the per-example check refuses bag rows
    bag_predictions(path, {"validation": ["a", "b"], "test": ["c", "d"]})
    with pytest.raises(InputError, match="split test: expected 3 rows .one per bag: the test groups"):
        read_predictions(path, data, per_bag=True)
    bag_predictions(path, {"validation": ["a", "b"], "test": ["c", "d", "d"]})
    with pytest.raises(InputError, match="line 6: group 'd' is a second row of toy_binary"):
        read_predictions(path, data, per_bag=True)
    bag_predictions(path, {"validation": ["a", "c"], "test": ["c", "d", "e"]})
    with pytest.raises(InputError, match="line 3: group 'c' is not a group of the split in toy_binary"):
        read_predictions(path, data, per_bag=True)
    bag_predictions(path, {"validation": ["a", "b"], "test": ["c", "d", "e"]})
    frame = pd.read_csv(path, sep="\t").drop(columns="group")
    write_tsv(frame, path)
    with pytest.raises(InputError, match="header: missing column.s. group"):
        read_predictions(path, data, per_bag=True)
