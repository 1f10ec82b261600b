"""The predictions format shared by every model kind and the evaluation step.

Contract:
- ``results/evaluation/{dataset}/{model}/predictions.tsv`` has one row per predicted example:
  the dataset's metadata columns (``biodl.data.format.METADATA_COLUMNS[modality]``, ``split`` among
  them), the ``validation`` rows first and then the ``test`` rows, each split in stored order
  (thresholds are chosen on validation, metrics reported on test); then, per task:
  - binary: ``y_true`` (0/1) and ``y_score`` (probability of the positive class);
  - multiclass: ``y_true`` and ``y_pred`` (class names) and ``p_<class>`` per class;
  - multilabel: ``true_<target>`` (0/1, an empty cell where the label is missing) and
    ``score_<target>`` (probability) per target;
  - regression: ``true_<target>`` (an empty cell where missing) and ``pred_<target>`` per
    target, both in the units of the label.
  ``prediction_columns(task, targets)`` lists these columns in order.
- ``Scores``: one split's labels and model outputs as float arrays ``(n, T)``, one column per
  target (multiclass: per class; binary: the positive class). A missing label is NaN, which
  only multilabel and regression tasks allow.
- ``predictions_frame(metadata, scores)``: a split's metadata rows (in order) with its label
  and output columns appended; writers call it per split and concatenate the frames.
- ``read_predictions(path, dataset)``: the file back as ``{split: Scores}``, interpreted with
  the prepared dataset's task, targets and classes (never guessed from column names). A
  missing column, a cell that is not what the task expects (a label other than 0/1 or a known
  class, an output that is not a number, a probability outside [0, 1]), a split without rows
  or with another number of rows than the dataset holds raise ``InputError`` naming the file
  and the line.
- ``read_predictions(path, dataset, per_bag=True)``: the same for one row per bag
  (``kind: attention_mil``, ``biodl.training.mil``): a ``group`` column, and each split's rows
  are its groups in ``metadata.tsv``, each once (a missing, unknown or repeated group raises
  ``InputError`` naming the file and the line or the group).
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from biodl.core.errors import InputError, require, require_file
from biodl.core.vocabulary import SPLITS, TASKS

if TYPE_CHECKING:  # biodl.data.dataset imports Keras, which the metrics and plots do without
    from biodl.data.dataset import PreparedDataset

THRESHOLD = 0.5
PREDICTED_SPLITS = ("validation", "test")
MISSING_LABEL_TASKS = ("multilabel", "regression")
_MISSING_CELLS = ("", "NaN", "nan", "NA")


@dataclass(frozen=True)
class Scores:
    """Labels and model outputs of one split, one column per target (multiclass: per class)."""

    task: str
    targets: tuple[str, ...]
    y_true: np.ndarray
    y_score: np.ndarray

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}")
        expected = (len(self.y_true), len(self.targets))
        if self.y_true.shape != expected or self.y_score.shape != expected:
            raise ValueError(
                f"labels {self.y_true.shape} and outputs {self.y_score.shape} must both have shape {expected}"
            )
        if self.task not in MISSING_LABEL_TASKS and np.isnan(self.y_true).any():
            raise ValueError(f"a {self.task} task has no missing labels")

    @property
    def n(self) -> int:
        return len(self.y_true)

    def labelled(self, j: int) -> np.ndarray:
        """Boolean mask of the examples whose label for target ``j`` is known."""
        return ~np.isnan(self.y_true[:, j])

    def calls(self) -> np.ndarray:
        """0/1 predictions: sigmoid outputs above 0.5, or the softmax argmax one-hot.

        Regression outputs are values, not class scores: asking for calls is a bug.
        """
        if self.task == "regression":
            raise ValueError("regression outputs have no class calls")
        if self.task == "multiclass":
            return np.eye(len(self.targets), dtype=np.int64)[self.y_score.argmax(axis=1)]
        return (self.y_score > THRESHOLD).astype(np.int64)


def prediction_columns(task: str, targets: tuple[str, ...]) -> list[str]:
    """The label and output columns of ``task``, in file order."""
    if task == "binary":
        return ["y_true", "y_score"]
    if task == "multiclass":
        return ["y_true", "y_pred", *(f"p_{c}" for c in targets)]
    truth, output = _target_columns(task, targets)
    return [*truth, *output]


def _target_columns(task: str, targets: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Label and output columns of a one-column-per-target task (multilabel, regression)."""
    output_prefix = "score" if task == "multilabel" else "pred"
    return [f"true_{t}" for t in targets], [f"{output_prefix}_{t}" for t in targets]


def predictions_frame(metadata: pd.DataFrame, scores: Scores) -> pd.DataFrame:
    """``metadata`` (one row per example, in order) with the label and output columns appended."""
    frame = metadata.reset_index(drop=True)
    if len(frame) != scores.n:
        raise ValueError(f"{len(frame)} metadata rows for {scores.n} predictions")
    columns = pd.DataFrame(_label_and_output_columns(scores), index=frame.index)
    return pd.concat([frame, columns], axis=1)


def _label_and_output_columns(scores: Scores) -> dict[str, object]:
    if scores.task == "binary":
        return {"y_true": scores.y_true[:, 0].astype(np.int64), "y_score": scores.y_score[:, 0]}
    if scores.task == "multiclass":
        names = np.array(scores.targets, dtype=object)
        classes = {
            "y_true": names[scores.y_true.argmax(axis=1)],
            "y_pred": names[scores.y_score.argmax(axis=1)],
        }
        return classes | {f"p_{c}": scores.y_score[:, j] for j, c in enumerate(scores.targets)}
    truth, output = _target_columns(scores.task, scores.targets)
    # Nullable integers write 0/1 labels as 0 and 1; a missing label (NaN) becomes an empty cell.
    labels = {
        column: pd.array(v, dtype="Int64") if scores.task == "multilabel" else v
        for column, v in zip(truth, scores.y_true.T, strict=True)
    }
    return labels | {column: values for column, values in zip(output, scores.y_score.T, strict=True)}


def read_predictions(
    path: str | PathLike[str], dataset: PreparedDataset, per_bag: bool = False
) -> dict[str, Scores]:
    """``predictions.tsv`` as ``{split: Scores}`` for the splits it holds (validation and test at
    least); ``per_bag``: one row per group of tiles (see the module contract)."""
    path = require_file(path, "predictions file")
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    needed = ["split", *(["group"] if per_bag else []), *prediction_columns(dataset.task, dataset.targets)]
    missing = [c for c in needed if c not in frame.columns]
    require(
        not missing,
        path,
        "header",
        f"missing column(s) {', '.join(missing)} "
        f"(a {dataset.task} dataset {dataset.name} has targets {', '.join(dataset.targets)})",
    )
    lines = np.arange(len(frame)) + 2  # 1-based file lines, after the header
    unknown = np.flatnonzero(~frame["split"].isin(SPLITS))
    if len(unknown):
        raise InputError(
            path,
            f"line {lines[unknown[0]]}",
            f"split must be one of {', '.join(SPLITS)}, found {frame['split'].iloc[unknown[0]]!r}",
        )
    groups = _split_groups(dataset) if per_bag else {}
    result = {}
    for split in SPLITS:
        rows = (frame["split"] == split).to_numpy()
        if split in PREDICTED_SPLITS or rows.any():
            if per_bag:
                cells = _Cells(frame[rows], lines[rows], path)
                _check_bags(cells, split, groups.get(split, []), dataset.name)
            else:
                require(
                    rows.sum() == dataset.n(split),
                    path,
                    f"split {split}",
                    f"expected {dataset.n(split)} rows (the {split} examples of {dataset.name}), "
                    f"found {rows.sum()}",
                )
            result[split] = _scores(_Cells(frame[rows], lines[rows], path), dataset)
    return result


def _split_groups(dataset: PreparedDataset) -> dict[str, list[str]]:
    """The groups (bags) of each split in the dataset's ``metadata.tsv``, in order of first tile."""
    path = require_file(dataset.root / "metadata.tsv", f"metadata of {dataset.name}")
    metadata = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, usecols=["split", "group"])
    return {
        split: list(dict.fromkeys(rows["group"])) for split, rows in metadata.groupby("split", sort=False)
    }


def _check_bags(cells: _Cells, split: str, groups: list[str], dataset: str) -> None:
    """One row per group of the split, each group once, no other group."""
    found = cells.frame["group"].tolist()
    require(
        len(found) == len(groups),
        cells.path,
        f"split {split}",
        f"expected {len(groups)} rows (one per bag: the {split} groups of {dataset}), found {len(found)}",
    )
    known, seen = set(groups), set()
    for row, group in enumerate(found):
        if group not in known or group in seen:
            problem = "a second row of" if group in seen else "not a group of the split in"
            where = f"line {cells.lines[row]}"
            raise InputError(cells.path, where, f"group {group!r} is {problem} {dataset}")
        seen.add(group)


@dataclass(frozen=True)
class _Cells:
    """The rows of one split, with their file lines, for checked conversions."""

    frame: pd.DataFrame
    lines: np.ndarray
    path: PathLike[str]

    def fail(self, column: str, row: int, expected: str) -> InputError:
        found = self.frame[column].iloc[row]
        return InputError(
            self.path, f"line {self.lines[row]}", f"column {column} must be {expected}, found {found!r}"
        )

    def numbers(self, column: str, *, missing_allowed: bool = False, probability: bool = False) -> np.ndarray:
        text = self.frame[column].str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        missing = text.isin(_MISSING_CELLS).to_numpy()
        bad = ~np.isfinite(values) & ~(missing & missing_allowed)
        if probability:
            bad |= (values < 0) | (values > 1)
        if bad.any():
            expected = (
                "a probability in [0, 1]"
                if probability
                else "a number" + (" or empty" if missing_allowed else "")
            )
            raise self.fail(column, int(np.flatnonzero(bad)[0]), expected)
        return np.where(missing, np.nan, values)

    def binary_labels(self, column: str, *, missing_allowed: bool = False) -> np.ndarray:
        values = self.numbers(column, missing_allowed=missing_allowed)
        bad = ~np.isin(values, (0, 1)) & ~np.isnan(values)
        if bad.any():
            raise self.fail(
                column, int(np.flatnonzero(bad)[0]), "0 or 1" + (" or empty" if missing_allowed else "")
            )
        return values

    def class_labels(self, column: str, classes: tuple[str, ...]) -> np.ndarray:
        names = self.frame[column].to_numpy(dtype=str)
        bad = ~np.isin(names, classes)
        if bad.any():
            raise self.fail(column, int(np.flatnonzero(bad)[0]), f"one of the classes {', '.join(classes)}")
        return (names[:, None] == np.array(classes)).astype(np.float64)


def _scores(cells: _Cells, dataset: PreparedDataset) -> Scores:
    task, targets = dataset.task, dataset.targets
    if task == "binary":
        y_true = cells.binary_labels("y_true")[:, None]
        y_score = cells.numbers("y_score", probability=True)[:, None]
    elif task == "multiclass":
        y_true = cells.class_labels("y_true", targets)
        y_score = np.column_stack([cells.numbers(f"p_{c}", probability=True) for c in targets])
    else:
        truth, output = _target_columns(task, targets)
        if task == "multilabel":
            y_true = np.column_stack([cells.binary_labels(c, missing_allowed=True) for c in truth])
        else:
            y_true = np.column_stack([cells.numbers(c, missing_allowed=True) for c in truth])
        y_score = np.column_stack([cells.numbers(c, probability=task == "multilabel") for c in output])
    return Scores(task, targets, y_true, y_score)
