"""biodl.models.export: the saved model loads with plain Keras (no biodl, no custom objects),
predicts like the workflow, gives regression outputs in the target's units; the README's snippet
for reusing a table model runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from biodl.config.datasets import dataset_settings
from biodl.config.models import check_model
from biodl.config.schema import validate_part
from biodl.data.dataset import input_shards, open_dataset, to_inputs
from biodl.data.shards import TableFiles
from biodl.data.table.prepare import prepare_table
from biodl.evaluation.inference import predict_model
from biodl.training.loop import TrainingRun, train_model

ROOT = Path(__file__).resolve().parents[1]


# An editable install (make install) leaves biodl importable even in an isolated Python, so the
# guard refuses the import instead: a model that needed the library would fail to load.
IMPORT_GUARD = """
import sys
class _RefuseBiodl:
    def find_spec(self, name, path=None, target=None):
        if name == "biodl" or name.startswith("biodl."):
            raise ImportError(f"{name} imported: the exported model must load without biodl")
        return None
sys.meta_path.insert(0, _RefuseBiodl())
"""


def plain_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """``code`` in an isolated Python of this environment (no PYTHONPATH); importing biodl fails."""
    return subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_GUARD + code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_dna_model_trained_with_augmentation_loads_and_predicts_without_the_library(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path
) -> None:
    config = {
        **tiny_config,
        "augmentation": {"reverse_complement": True, "shift": 3, "average_strands": True},
        "training": {**tiny_config["training"], "epochs": 2},
    }
    run = TrainingRun(
        binary_dataset, check_model("m", config), 1, tmp_path / "model.keras", tmp_path / "h.tsv"
    )
    train_model(run)
    dataset = open_dataset(binary_dataset)
    x = to_inputs(np.concatenate(input_shards(dataset, "test")), dataset.ambiguous).astype("float32")
    np.save(tmp_path / "x.npy", x)
    done = plain_python(
        "import keras, numpy as np\n"
        "model = keras.models.load_model('model.keras')\n"
        "assert not any('random' in layer.name or 'shift' in layer.name for layer in model.layers)\n"
        "np.save('scores.npy', model.predict(np.load('x.npy'), verbose=0))\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    predictions = predict_model(binary_dataset, tmp_path / "model.keras", tmp_path / "p.tsv")
    test = predictions[predictions["split"] == "test"]
    np.testing.assert_allclose(np.load(tmp_path / "scores.npy")[:, 0], test["y_score"], rtol=1e-5, atol=1e-6)


def test_an_image_model_with_augmentation_loads_without_the_library(tmp_path: Path) -> None:
    from biodl.models.export import export_model
    from biodl.models.networks import build_model

    settings = check_model(
        "tiles",
        {"kind": "cnn2d", "conv_layers": [{"filters": 4, "kernel_size": 3, "pool_size": 2}]},
    )
    dataset = open_dataset_stub(tmp_path)
    trained = build_model(settings, (16, 16, 3), "binary", 1, ((100.0, 90.0, 80.0), (20.0, 25.0, 30.0)))
    assert any(layer.name.startswith("flip") for layer in trained.layers)
    exported = export_model(trained, settings, dataset)
    exported.save(tmp_path / "model.keras")
    tiles = np.random.default_rng(1).integers(0, 256, (5, 16, 16, 3)).astype("float32")
    np.save(tmp_path / "x.npy", tiles)
    done = plain_python(
        "import keras, numpy as np\n"
        "m = keras.models.load_model('model.keras')\n"
        "np.save('s.npy', m.predict(np.load('x.npy'), verbose=0))\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    expected = keras.ops.convert_to_numpy(trained(tiles, training=False))
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), expected, rtol=1e-5, atol=1e-6)


def open_dataset_stub(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An image dataset's description, as export_model reads it (task, targets, input shape, statistics)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        modality="image",
        task="binary",
        targets=("tumour",),
        input_shape=(16, 16, 3),
        channel_mean=(100.0, 90.0, 80.0),
        channel_std=(20.0, 25.0, 30.0),
    )


@pytest.fixture(scope="module")
def diabetes_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's diabetes table prepared and an MLP trained on it, in the workflow's folder layout."""
    root = tmp_path_factory.mktemp("project")
    (root / "resources/tables").mkdir(parents=True)
    (root / "resources/tables/diabetes.csv").write_text((ROOT / "resources/tables/diabetes.csv").read_text())
    raw = {
        "modality": "table",
        "path": str(root / "resources/tables/diabetes.csv"),
        "id_column": "patient",
        "label_columns": ["progression"],
        "task": "regression",
    }
    spec = dataset_settings("diabetes", validate_part("$defs/dataset", raw, ("datasets", "diabetes")))
    prepared = root / "results/prepared/diabetes"
    prepare_table(spec, 42, TableFiles.in_folder(prepared))
    run_dir = root / "results/models/diabetes/mlp"
    model = check_model("mlp", {"kind": "mlp", "dense_layers": [{"units": 8}], "training": {"epochs": 5}})
    train_model(TrainingRun(prepared, model, 1, run_dir / "model.keras", run_dir / "history.tsv"))
    (run_dir / "preprocessing.skops").write_bytes((prepared / "preprocessing.skops").read_bytes())
    predict_model(prepared, run_dir / "model.keras", root / "predictions.tsv")
    return root


def test_regression_outputs_are_in_the_target_units(diabetes_run: Path) -> None:
    predictions = pd.read_csv(diabetes_run / "predictions.tsv", sep="\t")
    # Standardised outputs would sit around 0 with unit spread; progression is 25-346.
    assert 60 < predictions["pred_progression"].mean() < 250
    assert predictions["pred_progression"].std() > 10


def test_the_readme_snippet_scores_a_table_as_the_workflow_does(diabetes_run: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use a trained model elsewhere", 1)[1]
    (snippet,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    done = plain_python(snippet + "\nimport numpy\nnumpy.save('readme_scores.npy', scores)\n", diabetes_run)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "types the preprocessing builds" in done.stdout
    scores = np.load(diabetes_run / "readme_scores.npy")[:, 0]
    table = pd.read_csv(diabetes_run / "resources/tables/diabetes.csv")
    predictions = pd.read_csv(diabetes_run / "predictions.tsv", sep="\t")
    by_row = dict(zip(predictions["row"], predictions["pred_progression"], strict=True))
    lines = np.arange(len(table)) + 2  # file line of each row, as the metadata records it
    shared = [i for i, line in enumerate(lines) if line in by_row]
    assert len(shared) == len(predictions)
    np.testing.assert_allclose(scores[shared], [by_row[lines[i]] for i in shared], rtol=1e-4)


def test_zoo_models_with_residual_and_recurrent_layers_load_without_the_library(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    dataset = make_dataset(length=120, sizes=(48, 16, 16), shard_size=32)
    zoo = {
        "danq": {
            "kind": "danq",
            "width": 0.03,
            "dense_layers": [],
            "augmentation": {"reverse_complement": True},
        },
        "resnet": {"kind": "dilated_resnet", "filters": 4, "layers": 3},
    }
    for name, config in zoo.items():
        config = {**config, "training": {"batch_size": 16, "epochs": 1}}
        train_model(
            TrainingRun(dataset, check_model(name, config), 1, tmp_path / f"{name}.keras", tmp_path / "h.tsv")
        )
        predict_model(dataset, tmp_path / f"{name}.keras", tmp_path / f"{name}.tsv")
    prepared = open_dataset(dataset)
    x = to_inputs(np.concatenate(input_shards(prepared, "test")), prepared.ambiguous).astype("float32")
    np.save(tmp_path / "x.npy", x)
    done = plain_python(
        "import keras, numpy as np\n"
        "for name in ('danq', 'resnet'):\n"
        "    model = keras.models.load_model(name + '.keras')\n"
        "    np.save(name + '.npy', model.predict(np.load('x.npy'), verbose=0))\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for name in zoo:
        test = pd.read_csv(tmp_path / f"{name}.tsv", sep="\t").query("split == 'test'")
        np.testing.assert_allclose(
            np.load(tmp_path / f"{name}.npy")[:, 0], test["y_score"], rtol=1e-5, atol=1e-6
        )
