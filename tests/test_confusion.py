"""biodl.evaluation.confusion: counts equal scikit-learn's; missing labels are left out."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from biodl.evaluation.confusion import CONFUSION_COLUMNS, confusion_matrices, confusion_table
from biodl.evaluation.predictions import Scores


def test_confusion_matrices_equal_scikit_learn() -> None:
    labels = np.array([0, 1, 2, 2, 1, 0, 2])
    probs = np.eye(3)[[0, 2, 2, 1, 1, 0, 2]] * 0.6 + 0.1
    multiclass = confusion_matrices(Scores("multiclass", ("a", "b", "c"), np.eye(3)[labels], probs))
    np.testing.assert_array_equal(
        multiclass["all"].to_numpy(), skm.confusion_matrix(labels, probs.argmax(axis=1))
    )
    assert multiclass["all"].index.tolist() == ["a", "b", "c"]
    truth = np.array([[1, 0], [0, np.nan], [1, 1], [0, 1]])
    multilabel = Scores(
        "multilabel", ("x", "y"), truth, np.array([[0.8, 0.2], [0.6, 0.9], [0.3, 0.7], [0.1, 0.6]])
    )
    matrices = confusion_matrices(multilabel)
    np.testing.assert_array_equal(matrices["x"].to_numpy(), [[1, 1], [1, 1]])
    np.testing.assert_array_equal(matrices["y"].to_numpy(), [[1, 0], [0, 2]])  # the missing label is left out
    table = confusion_table(multilabel)
    assert list(table.columns) == ["target", "true", "predicted", "count"]
    assert table["count"].sum() == 7 and set(table["true"]) == {"x", "not x", "y", "not y"}


def test_binary_matrix_names_the_class_and_its_complement() -> None:
    scores = Scores("binary", ("bound",), np.array([[1.0], [0.0], [1.0]]), np.array([[0.9], [0.7], [0.2]]))
    matrix = confusion_matrices(scores)["bound"]
    assert matrix.index.tolist() == matrix.columns.tolist() == ["not bound", "bound"]
    np.testing.assert_array_equal(matrix.to_numpy(), [[0, 1], [1, 1]])
    assert list(confusion_table(scores).columns) == CONFUSION_COLUMNS
