"""Reading user tables (CSV/TSV) and their label columns, for every modality that takes one.

Contract:
- ``read_table(path, role)`` reads a ``.csv`` (comma) or ``.tsv`` / ``.txt`` (tab) file, plain
  or gzip-compressed (``.csv.gz``), as text cells, refusing an unreadable or empty file,
  duplicate column names or a table without rows.
  Cells that are empty or spell a missing value (``NA``, ``NaN``, ``N/A``, ``null``, ``.``) are
  missing. Blank lines are dropped but the rows keep their file position: ``line_of(rows, i)``
  gives the file line of the ``i``-th row (the header is line 1).
- ``require_columns(table, columns, path)`` raises ``InputError`` naming the missing ones.
- ``parse_labels(table, columns, task, classes, path)`` turns label columns into float32 labels
  ``(n, T)``, the classes, the targets and one label text per row:
  binary / multiclass: one column of class names (order: ``classes`` if given, else sorted; the
  last is the positive class of a binary task), one-hot for multiclass; multilabel: 0/1
  columns, a missing cell is a missing label (NaN); regression: numeric columns. A missing or
  unexpected value raises ``InputError`` naming the file, line and column, and what was
  expected.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from biodl.core.errors import InputError, require_file

MISSING_TOKENS = ("", "NA", "NaN", "nan", "N/A", "null", "NULL", ".")


def read_table(path: str | Path, role: str) -> pd.DataFrame:
    path = require_file(path, role)
    # table.csv.gz is a compressed CSV: pandas decompresses .gz, the suffix before it names the format.
    suffixes = [suffix.lower() for suffix in path.suffixes]
    separator = "," if suffixes[-1:] == [".csv"] or suffixes[-2:] == [".csv", ".gz"] else "\t"
    try:
        table = pd.read_csv(
            path,
            sep=separator,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(
            path, None, f"not a readable {'CSV' if separator == ',' else 'tab-separated'} table ({error})"
        ) from error
    duplicated = sorted(
        {
            c.rsplit(".", 1)[0]
            for c in table.columns
            if c.rsplit(".", 1)[-1].isdigit() and c.rsplit(".", 1)[0] in table.columns
        }
    )
    if duplicated:
        raise InputError(
            path, "header", f"duplicate column name(s) {duplicated}; every column needs its own name"
        )
    table = table.fillna("").apply(lambda column: column.str.strip())
    table = table[(table != "").any(axis=1)]  # blank lines; the index keeps each row's file position
    if table.empty:
        raise InputError(
            path, None, "the table has a header but no rows; expected one row per example under it"
        )
    return table


def line_of(rows: pd.DataFrame | pd.Series, position: int) -> str:
    """The file line of the row at ``position`` (tables from ``read_table``)."""
    return f"line {rows.index[position] + 2}"


def is_missing(column: pd.Series) -> np.ndarray:
    return column.isin(MISSING_TOKENS).to_numpy()


def require_columns(table: pd.DataFrame, columns: list[str], path: str | Path) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            path, "header", f"column(s) {missing} not found; the table has {list(table.columns)}"
        )


def parse_labels(
    table: pd.DataFrame, columns: list[str], task: str, classes: list[str] | None, path: str | Path
) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """Labels, classes, targets and per-row label text (see the module contract)."""
    require_columns(table, columns, path)
    if task == "regression":
        y = np.column_stack(
            [_numbers(table[c], c, path, "a number (regression target)") for c in columns]
        ).astype(np.float32)
        return y, [], list(columns), [";".join(row) for row in table[columns].to_numpy()]
    if task == "multilabel":
        y = np.column_stack([_zero_one(table[c], c, path) for c in columns])
        texts = [";".join(c for c, v in zip(columns, row, strict=True) if v == 1) for row in y]
        return y, list(columns), list(columns), texts
    if len(columns) != 1:
        raise InputError(
            "config", "label_columns", f"a {task} task takes one label column of class names, found {columns}"
        )
    column = columns[0]
    labels = table[column]
    missing = np.flatnonzero(is_missing(labels))
    if len(missing):
        raise InputError(
            path,
            f"{line_of(labels, missing[0])}, column {column!r}",
            "missing label; expected a class name in every row",
        )
    found = sorted(set(labels))
    classes = list(classes) if classes else found
    unknown = [label for label in found if label not in classes]
    if unknown:
        row = int(np.flatnonzero(labels.isin(unknown))[0])
        raise InputError(
            path,
            f"{line_of(labels, row)}, column {column!r}",
            f"class {labels.iloc[row]!r} is not one of the configured classes {classes}",
        )
    if task == "binary" and len(classes) != 2:
        raise InputError(
            path,
            f"column {column!r}",
            f"a binary task needs exactly two classes, found {len(classes)}: {classes[:10]}",
        )
    if len(classes) < 2:
        raise InputError(
            path, f"column {column!r}", f"a classification task needs at least two classes, found {classes}"
        )
    index = labels.map({c: i for i, c in enumerate(classes)}).to_numpy()
    y = (index == len(classes) - 1)[:, None] if task == "binary" else np.eye(len(classes))[index]
    targets = [classes[-1]] if task == "binary" else list(classes)
    return y.astype(np.float32), classes, targets, labels.tolist()


def _numbers(column: pd.Series, name: str, path: str | Path, expected: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero(
        values.isna().to_numpy() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    )
    if len(bad):
        raise InputError(
            path,
            f"{line_of(column, bad[0])}, column {name!r}",
            f"expected {expected}, found {column.iloc[bad[0]]!r}",
        )
    return values.to_numpy(dtype=np.float64)


def _zero_one(column: pd.Series, name: str, path: str | Path) -> np.ndarray:
    missing = is_missing(column)
    bad = np.flatnonzero(~missing & ~column.isin(["0", "1"]).to_numpy())
    if len(bad):
        raise InputError(
            path,
            f"{line_of(column, bad[0])}, column {name!r}",
            f"multi-label columns hold 0, 1 or an empty cell (missing), found {column.iloc[bad[0]]!r}",
        )
    return np.where(missing, np.nan, (column == "1").to_numpy(dtype=np.float32)).astype(np.float32)
