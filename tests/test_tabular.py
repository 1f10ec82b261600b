"""biodl.data.tabular: reading user tables and turning label columns into labels for each task."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biodl.core.errors import InputError
from biodl.data.tabular import parse_labels, read_table


def _table(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_and_tsv_are_read_by_extension_with_windows_line_endings(tmp_path: Path) -> None:
    csv = read_table(_table(tmp_path, "a,b\r\n1, x \r\n2,y\r\n"), "table")
    tsv = read_table(_table(tmp_path, "a\tb\n1\tx\n2\ty\n", "t.tsv"), "table")
    pd.testing.assert_frame_equal(csv, tsv)
    assert csv["b"].tolist() == ["x", "y"]


def test_gzip_compressed_tables_read_like_plain_ones(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(b"a,b\n1,x\n2,y\n"))
    (tmp_path / "t.tsv.gz").write_bytes(gzip.compress(b"a\tb\n1\tx\n2\ty\n"))
    plain = read_table(_table(tmp_path, "a,b\n1,x\n2,y\n"), "table")
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.csv.gz", "table"), plain)
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.tsv.gz", "table"), plain)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,a\n1,2\n", "duplicate column name"),
        ("a,b\n", "no rows"),
        ("a,b\n1,2\n1,2,3\n", "line 3: 3 cells, but the header"),
        ("a,b\n1,2\n1\n", "line 3: 1 cell, but the header"),
        ('a,b\n1,"2\n3,4\n', "line 2: a quoted cell that starts on this line is never closed"),
        ("a,,c\n1,2,3\n", "line 2, column 2: a value"),
    ],
)
def test_unusable_tables_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as error:
        read_table(_table(tmp_path, text), "table")
    assert error.value.source.endswith("t.csv")


def test_binary_labels_follow_the_configured_class_order(tmp_path: Path) -> None:
    table = read_table(_table(tmp_path, "y\nbad\ngood\nbad\n"), "table")
    y, classes, targets, text = parse_labels(table, ["y"], "binary", ["good", "bad"], "t.csv")
    assert classes == ["good", "bad"] and targets == ["bad"]
    assert y.ravel().tolist() == [1, 0, 1] and text == ["bad", "good", "bad"]


def test_multiclass_labels_are_one_hot_over_sorted_classes(tmp_path: Path) -> None:
    table = read_table(_table(tmp_path, "y\nc\na\nb\n"), "table")
    y, classes, targets, _ = parse_labels(table, ["y"], "multiclass", None, "t.csv")
    assert classes == targets == ["a", "b", "c"]
    assert y.argmax(axis=1).tolist() == [2, 0, 1]


def test_multilabel_gaps_are_missing_labels(tmp_path: Path) -> None:
    table = read_table(_table(tmp_path, "p,q\n1,\n0,1\nNA,0\n"), "table")
    y, classes, _, text = parse_labels(table, ["p", "q"], "multilabel", None, "t.csv")
    np.testing.assert_array_equal(np.isnan(y), [[False, True], [False, False], [True, False]])
    assert classes == ["p", "q"] and text == ["p", "q", ""]


def test_regression_targets_are_numbers(tmp_path: Path) -> None:
    table = read_table(_table(tmp_path, "v,w\n1.5,2\n-3,4e1\n"), "table")
    y, classes, targets, _ = parse_labels(table, ["v", "w"], "regression", None, "t.csv")
    assert classes == [] and targets == ["v", "w"]
    np.testing.assert_allclose(y, [[1.5, 2], [-3, 40]])


@pytest.mark.parametrize(
    ("text", "task", "columns", "where", "message"),
    [
        ("y\n1\nx\n", "regression", ["y"], "line 3, column 'y'", "expected a number"),
        ("v,y\n1,1\n2,\n3,2\n", "regression", ["y"], "line 3, column 'y'", "expected a number"),
        ("p\n1\n2\n", "multilabel", ["p"], "line 3, column 'p'", "0, 1 or an empty cell"),
        ("v,y\n1,a\n\n2,\n3,b\n", "binary", ["y"], "line 4, column 'y'", "missing label"),
        ("y\na\nb\nc\n", "binary", ["y"], "column 'y'", "exactly two classes"),
        ("y\na\na\n", "multiclass", ["y"], "column 'y'", "at least two classes"),
        ("y\n1\n", "binary", ["label"], "header", "not found"),
    ],
)
def test_bad_labels_name_the_line_and_column(
    tmp_path: Path, text: str, task: str, columns: list[str], where: str, message: str
) -> None:
    table = read_table(_table(tmp_path, text), "table")
    with pytest.raises(InputError, match=message) as error:
        parse_labels(table, columns, task, None, "t.csv")
    assert error.value.where == where


def test_an_unknown_class_is_named(tmp_path: Path) -> None:
    table = read_table(_table(tmp_path, "y\na\nb\nz\n"), "table")
    with pytest.raises(InputError, match="class 'z' is not one of the configured classes") as error:
        parse_labels(table, ["y"], "multiclass", ["a", "b"], "t.csv")
    assert error.value.where == "line 4, column 'y'"
