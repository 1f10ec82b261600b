"""The table preparation step: a CSV/TSV of features and labels → scaled feature shards.

Contract (``prepare_table(spec, seed, files)``): from one table dataset's typed settings
(``biodl.config.datasets.TableDataset``), into ``files`` (``biodl.data.shards.TableFiles``)
- split the rows: with ``group_column``, whole groups drawn at random go to one split (no
  group straddles two; ``biodl.data.splits.grouped_random``); otherwise stratified at random by
  class (multilabel: by label set; regression: by target quintile), seeded from the config;
- fit the preprocessing on the TRAIN rows only (scikit-learn): numeric features imputed with
  the training median (``missing: impute``, plus a 0/1 indicator per numeric column with gaps in
  training) and standardised; categorical features one-hot encoded over the training
  categories (a missing value is a category of its own; unseen categories encode as all
  zeros); with ``missing: reject`` any gap is an error naming its line and column;
- write ``shards/{split}-{k:05d}.x.npy`` (float32 ``(n, features)``), ``.y.npy`` (float32
  ``(n, T)``; NaN = missing multilabel label), ``metadata.tsv`` (split, shard, offset, source,
  row = file line, id, group, label), ``preprocessing.skops`` (the fitted scikit-learn
  ``ColumnTransformer``, skops format: a user's own table, read with pandas, becomes the network's
  inputs with it — numeric columns as numbers, categorical ones as text, missing cells as NaN) and,
  last, ``dataset.json`` with the feature names and the fitted statistics (medians, means, scales,
  categories).
A feature column whose values are partly numbers and partly text, that has no value at all, or
holds a number that is not finite or beyond the float32 range, or only numbers written with a
decimal comma (read as text they would become categories), or inferred text with another value
on every row (an identifier, not a feature); an id (``id_column``) on two rows and a row without a
group (``group_column``) are refused with the file, line and column named.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from biodl.config.datasets import TableDataset
from biodl.core.errors import InputError
from biodl.core.files import atomic_dir, atomic_path, write_json
from biodl.data import splits, tabular
from biodl.data.shards import TableFiles, close_dataset, writer_for

log = logging.getLogger(__name__)

MISSING_CATEGORY = "missing"
DECIMAL_COMMA = r"[-+]?\d*,\d+"  # 1,5 or -0,25: every value of a column like this is refused
MIN_ROWS_FOR_IDENTIFIERS = 10  # fewer rows may well hold distinct categories by chance


def prepare_table(spec: TableDataset, seed: int, files: TableFiles) -> dict[str, Any]:
    """Prepare one table dataset; see the module contract. Returns the dataset description."""
    path = Path(spec.path)
    table = tabular.read_table(path, "feature table")
    if spec.id_column is not None:
        _require_unique_ids(table, spec.id_column, path)
    y, classes, targets, label_text = tabular.parse_labels(
        table,
        list(spec.label_columns),
        spec.task,
        list(spec.classes) if spec.classes is not None else None,
        path,
    )
    numeric, categorical = _feature_columns(table, spec, path)
    features = table[numeric + categorical]
    check_missing(features, spec.missing, path)
    split = _assign_splits(table, y, label_text, spec, seed)
    train = split == "train"
    unseen = [c for c in features.columns if tabular.is_missing(features.loc[train, c]).all()]
    if unseen:
        raise InputError(
            path,
            f"column {unseen[0]!r}",
            "has no values in the training split, so nothing to learn or impute from",
        )
    transformer = _preprocessing(numeric, categorical, spec.missing).fit(as_values(features[train], numeric))
    x = transformer.transform(as_values(features, numeric)).astype(np.float32)
    feature_names = [n.split("__", 1)[1] for n in transformer.get_feature_names_out()]
    log.info(
        "%d rows, %d feature columns (%d numeric, %d categorical) → %d inputs",
        len(table),
        len(numeric) + len(categorical),
        len(numeric),
        len(categorical),
        x.shape[1],
    )
    metadata = pd.DataFrame(
        {
            "source": path.name,
            "row": table.index.to_numpy(),
            "id": table[spec.id_column] if spec.id_column is not None else "",
            "group": table[spec.group_column] if spec.group_column is not None else "",
            "label": label_text,
        }
    )
    with atomic_dir(files.shards) as tmp_shards:
        writer = writer_for("table", tmp_shards, spec.shard_size)
        for name_of_split in ("train", "validation", "test"):
            rows = split == name_of_split
            writer.add(name_of_split, x[rows], y[rows], metadata[rows])
        description = close_dataset(
            writer,
            {
                "name": spec.name,
                "modality": "table",
                "task": spec.task,
                "classes": classes,
                "targets": targets,
                "input_shape": [x.shape[1]],
                "feature_names": feature_names,
                "seed": seed,
                "preprocessing": _fitted_statistics(transformer, numeric, categorical),
            },
            str(path),
            files.metadata,
        )
    with atomic_path(files.preprocessing) as tmp:
        skops.io.dump(transformer, tmp)
    write_json(description, files.dataset)
    return description


def _feature_columns(table: pd.DataFrame, spec: TableDataset, path: Path) -> tuple[list[str], list[str]]:
    """(numeric, categorical) feature columns, checked."""
    reserved = {*spec.label_columns, spec.group_column, spec.id_column}
    tabular.require_columns(table, [c for c in reserved if c], path)
    columns = list(spec.feature_columns or [c for c in table.columns if c not in reserved])
    tabular.require_columns(table, columns, path)
    overlap = sorted(set(columns) & reserved)
    if overlap:
        raise InputError(
            "config", "feature_columns", f"{overlap} are label, group or id columns, not features"
        )
    if not columns:
        raise InputError(path, "header", "no feature columns left after the label, group and id columns")
    declared = spec.categorical_columns
    if declared is not None:
        tabular.require_columns(table, list(declared), path)
    numeric, categorical = [], []
    for column in columns:
        if declared is not None and column in declared:
            _require_values(table[column], column, path)
            categorical.append(column)
        elif _is_numeric(table[column], column, path, inferred=declared is None):
            numeric.append(column)
        else:
            categorical.append(column)
    return numeric, categorical


def _require_values(values: pd.Series, column: str, path: Path) -> np.ndarray:
    """The rows with a value; a column without any is refused."""
    present = ~tabular.is_missing(values)
    if not present.any():
        raise InputError(
            path,
            f"column {column!r}",
            "has no values at all (every cell empty or NA); expected at least one value, "
            "or drop the column from the features",
        )
    return present


def _is_numeric(values: pd.Series, column: str, path: Path, inferred: bool) -> bool:
    """Whether a feature column holds numbers (checked finite, in float32 range) or, when the kinds
    are ``inferred``, text categories. Refused: numbers mixed with text, numbers written with a
    comma, and (inferred) text with another value on every row, an identifier rather than a feature."""
    present = _require_values(values, column, path)
    first = int(np.flatnonzero(present)[0])
    is_number = pd.to_numeric(values[present], errors="coerce").notna().to_numpy()
    if is_number.all():
        tabular.numbers(values, column, path, "a finite number", gaps=True)  # no inf, no 1e39
        return True
    if inferred and not is_number.any():
        if values[present].str.fullmatch(DECIMAL_COMMA).all():
            raise InputError(
                path,
                f"{tabular.line_of(values, first)}, column {column!r}",
                f"{values.iloc[first]!r} looks like a number written with a comma (a decimal comma or "
                "a thousands separator); expected plain numbers (1.5, 14082), or list the column in "
                "categorical_columns if it holds categories",
            )
        if present.sum() >= MIN_ROWS_FOR_IDENTIFIERS and values[present].is_unique:
            raise InputError(
                path,
                f"column {column!r}",
                f"has another value on every row ({values.iloc[first]!r}, ...), like an identifier: as a "
                "feature it would be one category per row; expected id_column (or group_column) to name "
                "it, or feature_columns without it, or categorical_columns to keep it",
            )
        return False
    row = int(np.flatnonzero(present)[np.flatnonzero(~is_number)[0]])
    raise InputError(
        path,
        f"{tabular.line_of(values, row)}, column {column!r}",
        f"expected a number, found {values.iloc[row]!r} "
        "(list the column in categorical_columns if it holds categories)",
    )


def _require_unique_ids(table: pd.DataFrame, id_column: str, path: Path) -> None:
    """Two rows with one id would be one example counted twice, possibly in two splits."""
    tabular.require_columns(table, [id_column], path)
    ids = table[id_column]
    repeated = np.flatnonzero(ids.duplicated().to_numpy())
    if len(repeated):
        row = int(repeated[0])
        first = int(np.flatnonzero((ids == ids.iloc[row]).to_numpy())[0])
        raise InputError(
            path,
            f"{tabular.line_of(ids, row)}, column {id_column!r}",
            f"id {ids.iloc[row]!r} is also on {tabular.line_of(ids, first)}; expected one row per id "
            "(rows that belong together, such as one patient's samples, share a group_column value "
            "instead, which keeps them in one split)",
        )


def check_missing(features: pd.DataFrame, mode: str, path: Path) -> None:
    """With ``missing: reject``, the first gap is an error naming its line and column."""
    if mode != "reject":
        return
    gaps = np.argwhere(features.isin(tabular.MISSING_TOKENS).to_numpy())
    if len(gaps):
        row, column = gaps[0]
        raise InputError(
            path,
            f"{tabular.line_of(features, int(row))}, column {features.columns[column]!r}",
            "missing value (missing: reject); fill it in or set missing: impute",
        )


def as_values(features: pd.DataFrame, numeric: list[str]) -> pd.DataFrame:
    """Numeric columns as floats (NaN = missing), the others as text with ``None`` for missing."""
    frame = features.mask(features.isin(tabular.MISSING_TOKENS))
    return frame.astype({c: float for c in numeric}).astype(
        {c: object for c in frame.columns if c not in numeric}
    )


def _preprocessing(numeric: list[str], categorical: list[str], missing: str) -> ColumnTransformer:
    numeric_steps = Pipeline(
        [
            (
                "impute",
                SimpleImputer(
                    strategy="median", add_indicator=missing == "impute", keep_empty_features=False
                ),
            ),
            ("scale", StandardScaler()),
        ]
    )
    categorical_steps = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY, missing_values=None)),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32)),
        ]
    )
    return ColumnTransformer(
        [("numeric", numeric_steps, numeric), ("categorical", categorical_steps, categorical)],
        verbose_feature_names_out=True,
    )


def _fitted_statistics(
    transformer: ColumnTransformer, numeric: list[str], categorical: list[str]
) -> dict[str, Any]:
    """What was learned from the training rows, for the record in dataset.json."""
    statistics: dict[str, Any] = {"numeric": numeric, "categorical": categorical}
    if numeric:
        steps = transformer.named_transformers_["numeric"]
        # strict: the imputer keeps one median per numeric column, the scaler one mean and scale
        # per column it scaled (the numeric columns and their missing-value indicators).
        statistics["median"] = dict(zip(numeric, steps["impute"].statistics_.tolist(), strict=True))
        scaled = [
            n.split("__", 1)[1] for n in transformer.get_feature_names_out() if n.startswith("numeric__")
        ]
        statistics["mean"] = dict(zip(scaled, steps["scale"].mean_.tolist(), strict=True))
        statistics["scale"] = dict(zip(scaled, steps["scale"].scale_.tolist(), strict=True))
    if categorical:
        encoder = transformer.named_transformers_["categorical"]["encode"]
        statistics["categories"] = {
            c: [str(v) for v in values] for c, values in zip(categorical, encoder.categories_, strict=True)
        }
    return statistics


def _assign_splits(
    table: pd.DataFrame, y: np.ndarray, label_text: list[str], spec: TableDataset, seed: int
) -> np.ndarray:
    """Split per row: whole groups at random (``group_column``), else stratified by label."""
    fractions, source = spec.split, str(Path(spec.path))
    if spec.group_column is not None:
        groups = table[spec.group_column]
        missing = np.flatnonzero(tabular.is_missing(groups))
        if len(missing):  # rows without a group would all become one group: ""
            raise InputError(
                source,
                f"{tabular.line_of(groups, int(missing[0]))}, column {spec.group_column!r}",
                f"no group ({groups.iloc[int(missing[0])]!r}); expected a group in every row, so that "
                "rows of one group stay in one split",
            )
        return splits.grouped_random(
            groups.tolist(),
            None,
            fractions.validation_fraction,
            fractions.test_fraction,
            seed,
            source,
        )
    strata = splits.label_strata(spec.task, y, np.asarray(label_text, dtype=object))
    return splits.stratified_random(
        strata, fractions.validation_fraction, fractions.test_fraction, seed, source
    )
