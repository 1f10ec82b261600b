"""biodl.data.table.prepare: splits, preprocessing fitted on training rows only, shards, bad tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from biodl.config.checks import validate_config
from biodl.config.datasets import TableDataset, dataset_settings
from biodl.core.errors import InputError
from biodl.data.dataset import input_shards, load_labels, load_metadata, open_dataset
from biodl.data.shards import TableFiles
from biodl.data.table.prepare import prepare_table


def _spec(path: Path, **settings: Any) -> dict[str, Any]:
    """A table dataset's settings with the schema defaults filled in."""
    dataset = {"modality": "table", "path": str(path), "label_columns": ["y"], "task": "binary", **settings}
    config = validate_config({"datasets": {"t": dataset}, "models": {"m": {"kind": "mlp"}}})
    return config["datasets"]["t"]


def _prepare(tmp_path: Path, frame: pd.DataFrame, **settings: Any) -> Path:
    path = tmp_path / "table.csv"
    tmp_path.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    out = tmp_path / "prepared"
    spec = dataset_settings("t", _spec(path, **settings))
    assert isinstance(spec, TableDataset)
    prepare_table(spec, 7, TableFiles.in_folder(out))
    return out


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.normal(50, 10, n)
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "size": size,
            "site": rng.choice(["north", "south", "east"], n),
            "patient": [f"p{i // 4}" for i in range(n)],
            "y": np.where(size + rng.normal(0, 5, n) > 50, "sick", "healthy"),
        }
    )


def _split_inputs(out: Path, split: str) -> np.ndarray:
    return np.concatenate(input_shards(open_dataset(out), split))


def test_scaling_is_fitted_on_the_training_rows_only(tmp_path: Path) -> None:
    frame = _frame()
    out = _prepare(tmp_path, frame, id_column="id", group_column="patient")
    dataset = open_dataset(out)
    train = load_metadata(dataset, "train")
    raw_train = frame.set_index("id").loc[train["id"], "size"]
    column = dataset.feature_names.index("size")
    x_train = _split_inputs(out, "train")[:, column]
    assert x_train.mean() == pytest.approx(0, abs=1e-5) and x_train.std() == pytest.approx(1, abs=1e-4)
    np.testing.assert_allclose(x_train, (raw_train - raw_train.mean()) / raw_train.std(ddof=0), rtol=1e-4)
    # The test rows use the training statistics, so their mean is not forced to zero.
    test = load_metadata(dataset, "test")
    raw_test = frame.set_index("id").loc[test["id"], "size"]
    np.testing.assert_allclose(
        _split_inputs(out, "test")[:, column],
        (raw_test - raw_train.mean()) / raw_train.std(ddof=0),
        rtol=1e-4,
    )


def test_groups_never_straddle_splits_and_categories_are_one_hot(tmp_path: Path) -> None:
    out = _prepare(tmp_path, _frame(), id_column="id", group_column="patient")
    dataset = open_dataset(out)
    groups = {split: set(load_metadata(dataset, split)["group"]) for split in ("train", "validation", "test")}
    assert (
        not groups["train"] & groups["test"]
        and not groups["train"] & groups["validation"]
        and not groups["validation"] & groups["test"]
    )
    assert {"site_east", "site_north", "site_south"} <= set(dataset.feature_names)
    site = [dataset.feature_names.index(f"site_{s}") for s in ("east", "north", "south")]
    np.testing.assert_array_equal(_split_inputs(out, "train")[:, site].sum(axis=1), 1)


def test_missing_values_are_imputed_with_the_training_median_and_flagged(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[::10, "size"] = np.nan
    out = _prepare(tmp_path, frame, id_column="id")
    dataset = open_dataset(out)
    assert "missingindicator_size" in dataset.feature_names
    flag = _split_inputs(out, "train")[:, dataset.feature_names.index("missingindicator_size")]
    assert len(np.unique(flag)) == 2  # scaled 0/1 indicator: two values
    median = json.loads((out / "dataset.json").read_text())["preprocessing"]["median"]["size"]
    train_ids = load_metadata(dataset, "train")["id"]
    assert median == pytest.approx(frame.set_index("id").loc[train_ids, "size"].median())


def test_regression_targets_keep_their_units_and_record_training_scaling(tmp_path: Path) -> None:
    frame = _frame().assign(y=lambda f: f["size"] * 3 + 7)
    out = _prepare(tmp_path, frame.drop(columns=["patient"]), id_column="id", task="regression")
    dataset = open_dataset(out)
    y_train = load_labels(dataset, "train")[:, 0]
    assert dataset.target_mean == pytest.approx((y_train.mean(),), rel=1e-5)
    assert dataset.target_std == pytest.approx((y_train.std(),), rel=1e-4)
    assert dataset.classes == () and dataset.targets == ("y",)


def test_same_seed_same_split(tmp_path: Path) -> None:
    first = _prepare(tmp_path / "a", _frame(), id_column="id")
    second = _prepare(tmp_path / "b", _frame(), id_column="id")
    assert (first / "metadata.tsv").read_text() == (second / "metadata.tsv").read_text()


@pytest.mark.parametrize(
    ("change", "settings", "where", "message"),
    [
        (lambda f: f.drop(columns=["y"]), {}, "header", r"column\(s\) \['y'\] not found"),
        (
            lambda f: f.assign(size=f["size"].astype(object).where(f.index != 5, "12,5")),
            {},
            "line 7, column 'size'",
            "expected a number, found '12,5'",
        ),
        (lambda f: f.assign(empty=np.nan), {}, "column 'empty'", "no values at all"),
        (
            lambda f: f.assign(size=f["size"].where(f.index != 3)),
            {"missing": "reject"},
            "line 5, column 'size'",
            "missing value",
        ),
    ],
)
def test_bad_tables_name_the_file_line_and_column(
    tmp_path: Path, change: Any, settings: dict, where: str, message: str
) -> None:
    with pytest.raises(InputError, match=message) as error:
        _prepare(tmp_path, change(_frame()), id_column="id", **settings)
    assert error.value.where == where and error.value.source.endswith("table.csv")
    assert not (tmp_path / "prepared" / "dataset.json").exists()
    assert not (tmp_path / "prepared" / "shards").exists()


def test_unknown_task_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match="expected one of binary, multiclass, multilabel, regression"
    ) as error:
        _spec(tmp_path / "t.csv", task="survival")
    assert error.value.where == "datasets.t.task"


def test_declared_feature_and_categorical_columns_are_used_as_given(tmp_path: Path) -> None:
    frame = _frame().assign(ward=lambda f: (f.index % 3 + 1).astype(str))  # numbers naming categories
    out = _prepare(
        tmp_path, frame, id_column="id", feature_columns=["size", "ward"], categorical_columns=["ward"]
    )
    dataset = open_dataset(out)
    assert dataset.feature_names == ("size", "ward_1", "ward_2", "ward_3")  # no site, patient or id
    statistics = json.loads((out / "dataset.json").read_text())["preprocessing"]
    assert statistics["numeric"] == ["size"] and statistics["categorical"] == ["ward"]


def test_a_label_column_listed_as_a_feature_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="are label, group or id columns, not features") as error:
        _prepare(tmp_path, _frame(), feature_columns=["size", "y"])
    assert error.value.source == "config" and error.value.where == "feature_columns"
