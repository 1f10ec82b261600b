"""biodl.apply.tables: a new table scored with the preprocessing fitted at training, same validators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import pytest

from biodl.apply.tables import load_table_model, score_table
from biodl.config.checks import validate_config
from biodl.config.datasets import TableDataset, dataset_settings
from biodl.core.errors import InputError
from biodl.core.files import load_npy
from biodl.data.dataset import load_metadata, open_dataset
from biodl.data.shards import TableFiles
from biodl.data.table.prepare import prepare_table

ROOT = Path(__file__).resolve().parents[1]


def _table(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "sample": [f"s{i}" for i in range(n)],
            "size": np.round(rng.normal(10, 3, n), 3).astype(str),
            "weight": np.round(rng.normal(70, 10, n), 2).astype(str),
            "colour": rng.choice(["red", "green", "blue"], n),
            "label": np.where(np.arange(n) % 2 == 0, "no", "yes"),
        }
    )
    if n > 5:
        frame.loc[5, "weight"] = "NA"  # a gap (line 7), imputed with the training median
    return frame


def _spec(path: Path, **extra: Any) -> TableDataset:
    config = {
        "datasets": {
            "t": {
                "modality": "table",
                "path": str(path),
                "id_column": "sample",
                "label_columns": ["label"],
                "task": "binary",
                **extra,
            }
        },
        "models": {"m": {"kind": "mlp"}},
    }
    spec = dataset_settings("t", validate_config(config, base_dir=ROOT)["datasets"]["t"])
    assert isinstance(spec, TableDataset)
    return spec


def _network(n_inputs: int, path: Path) -> Path:
    rng = np.random.default_rng(1)
    inputs = keras.Input((n_inputs,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
    model.layers[-1].set_weights([rng.normal(0, 1, (n_inputs, 1)), np.zeros(1)])
    model.save(path)
    return path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TableDataset, Path]:
    folder = tmp_path_factory.mktemp("table")
    source = folder / "train.csv"
    _table().to_csv(source, index=False)
    spec = _spec(source)
    prepare_table(spec, 5, TableFiles.in_folder(folder / "prepared"))
    dataset = open_dataset(folder / "prepared")
    return folder / "prepared", spec, _network(dataset.input_shape[0], folder / "m.keras")


def test_rows_score_as_the_network_on_their_prepared_inputs(
    prepared: tuple[Path, TableDataset, Path], tmp_path: Path
) -> None:
    out, spec, network = prepared
    model = load_table_model(out, [network], out / "preprocessing.skops")
    new = _table().drop(columns=["label"])  # no label needed
    new.to_csv(tmp_path / "new.csv", index=False)
    scores = score_table(model, spec, tmp_path / "new.csv")
    assert list(scores.columns) == ["line", "id", "p_no", "p_yes"]
    assert scores["line"].tolist() == list(range(2, 62)) and scores["id"].iloc[0] == "s0"
    np.testing.assert_allclose(scores["p_no"] + scores["p_yes"], 1.0)
    # The same rows as prepared for training (any split), through the network by hand.
    dataset = open_dataset(out)
    keras_model = keras.models.load_model(network)
    lines, inputs = [], []
    for split in ("train", "validation", "test"):
        for row in load_metadata(dataset, split).itertuples():
            inputs.append(load_npy(out / f"{row.shard}.x.npy")[row.offset])
            lines.append(int(row.row))
    expected = keras_model.predict(np.stack(inputs), verbose=0)[:, 0]
    got = scores.set_index("line").loc[lines, "p_yes"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    checked = len(lines)
    assert checked == 60 and scores["p_yes"].std() > 0.01


def test_an_unseen_category_encodes_as_zeros(
    prepared: tuple[Path, TableDataset, Path], tmp_path: Path
) -> None:
    out, spec, network = prepared
    model = load_table_model(out, [network], out / "preprocessing.skops")
    new = _table(n=3)
    new["colour"] = "purple"
    new.to_csv(tmp_path / "new.csv", index=False)
    scores = score_table(model, spec, tmp_path / "new.csv")
    assert len(scores) == 3 and np.isfinite(scores["p_yes"]).all()
    # All-zero colour columns: the score is the network's on the numeric inputs alone.
    x = model.preprocessing.transform(
        new[["size", "weight", "colour"]].astype({"size": float, "weight": float})
    )
    colour = [i for i, n in enumerate(model.preprocessing.get_feature_names_out()) if "colour" in n]
    assert len(colour) == 3 and not x[:, colour].any()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns=["weight"]), r"new\.csv, header: column\(s\) \['weight'\] not found"),
        (lambda t: t.assign(size=["big"] + list(t["size"][1:])), r"new\.csv, line 2, column 'size'"),
    ],
)
def test_bad_tables_name_what_is_wrong(
    prepared: tuple[Path, TableDataset, Path], tmp_path: Path, change: Any, message: str
) -> None:
    out, spec, network = prepared
    model = load_table_model(out, [network], out / "preprocessing.skops")
    change(_table(n=4)).to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(InputError, match=message):
        score_table(model, spec, tmp_path / "new.csv")


def test_gaps_are_refused_when_the_dataset_rejects_them(
    prepared: tuple[Path, TableDataset, Path], tmp_path: Path
) -> None:
    out, _, network = prepared
    model = load_table_model(out, [network], out / "preprocessing.skops")
    _table(n=8).to_csv(tmp_path / "new.csv", index=False)
    strict = _spec(tmp_path / "new.csv", missing="reject")
    with pytest.raises(InputError, match=r"line 7, column 'weight': missing value \(missing: reject\)"):
        score_table(model, strict, tmp_path / "new.csv")


def test_a_dataset_of_another_modality_is_refused(make_dataset, prepared) -> None:  # type: ignore[no-untyped-def]
    out, _, network = prepared
    with pytest.raises(InputError, match=r"scoring a table needs a table dataset"):
        load_table_model(make_dataset(), [network], out / "preprocessing.skops")
