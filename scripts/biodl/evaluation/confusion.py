"""Confusion matrices of a split's calls (no TensorFlow).

Contract: ``confusion_matrices(scores)`` counts true classes (rows) against calls (columns; the
calls of ``biodl.evaluation.predictions.Scores``: score > 0.5 for sigmoid outputs, the argmax
for softmax): one K x K matrix (target ``all``) for multiclass, one 2 x 2 matrix per target
over its labelled examples (``not <target>``, ``<target>``) otherwise. ``confusion_table(scores)``
is the same in long form, the rows of ``confusion.tsv`` (``CONFUSION_COLUMNS``: target, true,
predicted, count).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

from biodl.evaluation.predictions import Scores
from biodl.evaluation.weighted_metrics import ALL

CONFUSION_COLUMNS = ["target", "true", "predicted", "count"]


def confusion_matrices(scores: Scores) -> dict[str, pd.DataFrame]:
    """Counts of true (rows) against called (columns) classes; see the module contract."""
    calls = scores.calls()
    if scores.task == "multiclass":
        classes = list(scores.targets)
        matrix = confusion_matrix(
            scores.y_true.argmax(axis=1), calls.argmax(axis=1), labels=range(len(classes))
        )
        return {ALL: _labelled_matrix(matrix, classes)}
    matrices = {}
    for j, target in enumerate(scores.targets):
        labelled = scores.labelled(j)
        matrix = confusion_matrix(
            scores.y_true[labelled, j].astype(np.int64), calls[labelled, j], labels=[0, 1]
        )
        matrices[target] = _labelled_matrix(matrix, [f"not {target}", target])
    return matrices


def _labelled_matrix(matrix: np.ndarray, classes: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        matrix, index=pd.Index(classes, name="true"), columns=pd.Index(classes, name="predicted")
    )


def confusion_table(scores: Scores) -> pd.DataFrame:
    """``confusion_matrices`` in long form: target, true, predicted, count."""
    parts = [
        matrix.stack().rename("count").reset_index().assign(target=target)
        for target, matrix in confusion_matrices(scores).items()
    ]
    return pd.concat(parts, ignore_index=True)[CONFUSION_COLUMNS]
