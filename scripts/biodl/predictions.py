"""The predictions format shared by every model kind and the evaluation step.

Contract:
- ``Scores``: one split's labels and model outputs as float arrays ``(n, T)``, one column per
  target (multiclass: per class).
- ``predictions_frame(metadata, scores)``: the metadata rows (one per example, in order) with
  the label and score columns appended: binary ``y_true`` (0/1) and ``y_score``; multiclass
  ``y_true`` and ``y_pred`` (class names) and ``p_<class>`` per class; multilabel
  ``true_<target>`` (0/1) and ``score_<target>`` per target.
- ``scores_from_predictions`` reads such a frame back into ``Scores``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from biodl.validate import InputError, require

THRESHOLD = 0.5


@dataclass(frozen=True)
class Scores:
    """Labels and model outputs of one split, one column per target (multiclass: per class)."""

    task: str
    targets: tuple[str, ...]
    y_true: np.ndarray
    y_score: np.ndarray

    def calls(self) -> np.ndarray:
        """0/1 predictions: sigmoid outputs above the threshold, or the softmax argmax one-hot."""
        if self.task == "multiclass":
            return np.eye(len(self.targets), dtype=np.int64)[self.y_score.argmax(axis=1)]
        return (self.y_score > THRESHOLD).astype(np.int64)



def predictions_frame(metadata: pd.DataFrame, scores: Scores) -> pd.DataFrame:
    """``metadata`` (one row per example, in order) with the label and score columns appended."""
    frame = metadata.reset_index(drop=True).copy()
    if scores.task == "binary":
        frame["y_true"] = scores.y_true[:, 0].astype(np.int64)
        frame["y_score"] = scores.y_score[:, 0]
    elif scores.task == "multiclass":
        names = np.array(scores.targets, dtype=object)
        frame["y_true"] = names[scores.y_true.argmax(axis=1)]
        frame["y_pred"] = names[scores.y_score.argmax(axis=1)]
        for j, name in enumerate(scores.targets):
            frame[f"p_{name}"] = scores.y_score[:, j]
    else:
        for j, name in enumerate(scores.targets):
            frame[f"true_{name}"] = scores.y_true[:, j].astype(np.int64)
        for j, name in enumerate(scores.targets):
            frame[f"score_{name}"] = scores.y_score[:, j]
    return frame


def scores_from_predictions(frame: pd.DataFrame, positive: str = "positive") -> Scores:
    """``Scores`` from a predictions frame; ``positive`` names the target of a binary one."""
    if {"y_true", "y_score"} <= set(frame.columns):
        return Scores("binary", (positive,), _column(frame, "y_true")[:, None], _column(frame, "y_score")[:, None])
    classes = tuple(c[len("p_") :] for c in frame.columns if c.startswith("p_"))
    if classes and "y_true" in frame.columns:
        y_true = (frame["y_true"].astype(str).to_numpy()[:, None] == np.array(classes)).astype(np.float64)
        return Scores("multiclass", classes, y_true, np.column_stack([_column(frame, f"p_{c}") for c in classes]))
    targets = tuple(c[len("score_") :] for c in frame.columns if c.startswith("score_"))
    if targets and all(f"true_{t}" in frame.columns for t in targets):
        y_true = np.column_stack([_column(frame, f"true_{t}") for t in targets])
        return Scores("multilabel", targets, y_true, np.column_stack([_column(frame, f"score_{t}") for t in targets]))
    raise InputError("predictions", "columns", "expected y_true + y_score (binary), y_true + p_<class> (multiclass) or true_<target> + score_<target> (multilabel)")


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
    require(not np.isnan(values).any(), "predictions", f"column {name}", "expected numbers in every row")
    return values
