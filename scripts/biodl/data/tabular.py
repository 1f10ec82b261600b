"""Reading user tables (CSV/TSV) and their label columns, for every modality that takes one.

Contract:
- ``read_table(path, role)`` reads a ``.csv`` (comma) or ``.tsv`` / ``.txt`` (tab) file, plain
  or gzip-compressed (``.csv.gz``), through ``biodl.core.text_input`` (any line ends, a
  byte-order mark, quoted cells across lines), as text cells, stripped. Refused with
  ``InputError``: an unreadable or empty file, duplicate column names, a row with more or fewer
  cells than the header, a value under an unnamed column (an unnamed, empty column, as a
  trailing separator makes, is dropped), a table without rows.
  Cells that are empty or spell a missing value (``NA``, ``NaN``, ``N/A``, ``null``, ``.``) are
  missing. Blank lines are dropped; the table's index is each row's file line (the line it
  starts on), and ``line_of(rows, i)`` words it for messages.
- ``require_columns(table, columns, path)`` raises ``InputError`` naming the missing ones;
  ``required_cells(rows, column, path, expected)`` gives a column whose every cell is present
  (else ``InputError`` naming the first empty cell's line and ``expected``).
- ``numbers(column, ...)``: a column as float64, every value a finite number within the float32
  range (the prepared arrays' type), else ``InputError`` naming the line and column.
- ``parse_labels(table, columns, task, classes, path)`` turns label columns into float32 labels
  ``(n, T)``, the classes, the targets and one label text per row:
  binary / multiclass: one column of class names (order: ``classes`` if given, else sorted; the
  last is the positive class of a binary task), one-hot for multiclass; a configured class
  spelled like a missing value (``NA``) is that class; multilabel: 0/1 columns, a missing cell
  is a missing label (NaN); regression: numeric columns. A missing or unexpected value raises
  ``InputError`` naming the file, line and column, and what was expected.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from biodl.core.errors import InputError, require_file
from biodl.core.text_input import csv_records

MISSING_TOKENS = ("", "NA", "NaN", "nan", "N/A", "null", "NULL", ".")
FLOAT32_MAX = float(np.finfo(np.float32).max)


def read_table(path: str | Path, role: str) -> pd.DataFrame:
    path = require_file(path, role)
    # table.csv.gz is a compressed CSV: the suffix before .gz names the format.
    suffixes = [suffix.lower() for suffix in path.suffixes]
    delimiter = "," if suffixes[-1:] == [".csv"] or suffixes[-2:] == [".csv", ".gz"] else "\t"
    records = csv_records(path, role, delimiter)
    header_line, header = next(records, (0, []))
    columns = [name.strip() for name in header]
    _check_header(path, columns, delimiter)
    lines, rows = [], []
    for number, cells in records:
        if len(cells) != len(columns):
            raise InputError(
                path,
                f"line {number}",
                f"{len(cells)} cell{'s' * (len(cells) != 1)}, but the header (line {header_line}) names "
                f"{len(columns)} columns; expected one cell per column, separated by "
                f"{'commas' if delimiter == ',' else 'tabs'} (an empty cell keeps its separators)",
            )
        if any(cells):  # a row of empty cells is a blank line
            lines.append(number)
            rows.append(cells)
    grid = np.array(rows, dtype=object).reshape(len(rows), len(columns))  # every row has every column
    table = pd.DataFrame(grid, index=pd.Index(lines, name="line"), columns=columns)
    unnamed = [k for k, name in enumerate(columns) if not name]
    for k in unnamed:  # a trailing separator on every line (spreadsheet exports): an empty column
        if (table.iloc[:, k] != "").any():
            row = int(np.flatnonzero(table.iloc[:, k] != "")[0])
            raise InputError(
                path,
                f"{line_of(table, row)}, column {k + 1}",
                f"a value ({table.iloc[row, k]!r}) in a column without a name; expected a name for "
                f"every column in the header (line {header_line})",
            )
    table = table.drop(columns=[""]) if unnamed else table
    if table.empty:
        raise InputError(
            path, None, "the table has a header but no rows; expected one row per example under it"
        )
    return table


def _check_header(path: Path, columns: list[str], delimiter: str) -> None:
    if not columns:
        raise InputError(path, None, "no header; expected the column names on the first line")
    other = next(
        (s for s in (";", ",", "\t", "|") if s != delimiter and len(columns) == 1 and s in columns[0]), None
    )
    if other is not None:
        raise InputError(
            path,
            "header",
            f"one column named {columns[0]!r}: the file looks separated by {other!r}; expected "
            f"{'commas (a .csv file)' if delimiter == ',' else 'tabs (a .tsv or .txt file)'}: save it so, "
            "or give it the suffix of its separator",
        )
    named = [name for name in columns if name]
    duplicated = sorted({name for name in named if named.count(name) > 1})
    if duplicated:
        raise InputError(
            path, "header", f"duplicate column name(s) {duplicated}; every column needs its own name"
        )


def line_of(rows: pd.DataFrame | pd.Series, position: int) -> str:
    """The file line of the row at ``position`` (tables from ``read_table``)."""
    return f"line {rows.index[position]}"


def is_missing(column: pd.Series) -> np.ndarray:
    return column.isin(MISSING_TOKENS).to_numpy()


def require_columns(table: pd.DataFrame, columns: list[str], path: str | Path) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            path, "header", f"column(s) {missing} not found; the table has {list(table.columns)}"
        )


def required_cells(rows: pd.DataFrame, column: str, path: str | Path, expected: str) -> pd.Series:
    """The column's cells, unless one is empty or missing (``InputError`` naming its line)."""
    cells = rows[column]
    missing = np.flatnonzero(is_missing(cells))
    if len(missing):
        raise InputError(
            path,
            f"{line_of(cells, int(missing[0]))}, column {column!r}",
            f"expected {expected} in every row, found {cells.iloc[int(missing[0])]!r}",
        )
    return cells


def parse_labels(
    table: pd.DataFrame, columns: list[str], task: str, classes: list[str] | None, path: str | Path
) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """Labels, classes, targets and per-row label text (see the module contract)."""
    require_columns(table, columns, path)
    if task == "regression":
        y = np.column_stack(
            [numbers(table[c], c, path, "a number (regression target)") for c in columns]
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
    # A configured class spelled like a missing value (a class named NA) is that class.
    missing = np.flatnonzero(is_missing(labels) & ~labels.isin(classes or []).to_numpy())
    if len(missing):
        value = labels.iloc[missing[0]]
        raise InputError(
            path,
            f"{line_of(labels, missing[0])}, column {column!r}",
            "missing label; expected a class name in every row"
            + (
                f" ({value!r} reads as a missing value: if it is a class name, list it in classes)"
                if value
                else ""
            ),
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


def numbers(column: pd.Series, name: str, path: str | Path, expected: str, gaps: bool = False) -> np.ndarray:
    """The column as float64 (missing cells NaN when ``gaps`` allows them). A cell that is not a
    finite number within the float32 range (the type of the prepared arrays) raises InputError
    naming its line and column: infinity or 1e39 would become inf there, and NaN losses later."""
    missing = is_missing(column) if gaps else np.zeros(len(column), dtype=bool)
    values = pd.to_numeric(column.mask(missing), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~missing & ~(np.abs(values) <= FLOAT32_MAX))  # NaN compares False
    if len(bad):
        value = values[bad[0]]
        raise InputError(
            path,
            f"{line_of(column, bad[0])}, column {name!r}",
            f"expected {expected}, found {column.iloc[bad[0]]!r}"
            + (
                f"; values are kept as 32-bit floats, within ±{FLOAT32_MAX:.1e}"
                if not np.isnan(value)
                else ""
            ),
        )
    return values


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
