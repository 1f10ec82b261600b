"""Tests of the table and image interpretation steps (biodl.interpret.table, biodl.interpret.image)
on networks trained for seconds. The DNA step is tested in test_dna.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biodl.config.checks import validate_config
from biodl.config.datasets import dataset_settings
from biodl.config.models import check_model
from biodl.config.settings import InterpretSettings
from biodl.core.errors import InputError
from biodl.data.shards import TableFiles
from biodl.data.table.prepare import prepare_table
from biodl.interpret.table import interpret_table
from biodl.training.loop import TrainingRun, train_model


def test_the_deciding_table_feature_ranks_first(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(400, 4)), columns=["noise_a", "signal", "noise_b", "noise_c"])
    frame["label"] = np.where(frame["signal"] + 0.3 * rng.normal(size=400) > 0, "yes", "no")
    frame.to_csv(tmp_path / "t.csv", index=False)
    spec = {
        "modality": "table",
        "path": str(tmp_path / "t.csv"),
        "label_columns": ["label"],
        "task": "binary",
        "classes": ["no", "yes"],
    }
    spec = validate_config({"datasets": {"t": spec}, "models": {"m": {"kind": "mlp"}}})["datasets"]["t"]
    data = tmp_path / "prepared"
    prepare_table(dataset_settings("t", spec), 1, TableFiles.in_folder(data))
    model = {
        "kind": "mlp",
        "dense_layers": [{"units": 8}],
        "training": {"epochs": 30, "learning_rate": 0.01, "batch_size": 32, "patience": 5},
    }
    train_model(
        TrainingRun(data, check_model("m", model), 1, tmp_path / "model.keras", tmp_path / "history.tsv")
    )
    files = {
        "importance": str(tmp_path / "importance.tsv"),
        "importance_plot": str(tmp_path / "importance.png"),
    }
    table = interpret_table(
        data, tmp_path / "model.keras", files, InterpretSettings.from_config(permutation_repeats=5), seed=3
    )
    assert table.loc[0, "feature"] == "signal" and table.loc[0, "importance_mean"] > 0.2
    assert (table.loc[1:, "importance_mean"].abs() < 0.05).all()
    again = interpret_table(
        data, tmp_path / "model.keras", files, InterpretSettings.from_config(permutation_repeats=5), seed=3
    )
    pd.testing.assert_frame_equal(table, again)  # same seed, same numbers
    assert (tmp_path / "importance.png").stat().st_size > 5_000


def test_a_table_dataset_is_refused_by_the_dna_step(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    data = make_dataset(task="binary")
    with pytest.raises(InputError, match="modality.*expected a table dataset"):
        interpret_table(data, tmp_path / "missing.keras", {}, InterpretSettings.from_config(), seed=1)


def write_image_dataset(root: Path, n: int = 96, size: int = 16) -> Path:
    """Tiles whose class is the bright half: left (class 'left') or right (class 'right')."""
    from biodl.core.files import save_npy, write_json, write_tsv

    rng = np.random.default_rng(0)
    splits, rows = {}, []
    for split in ("train", "validation", "test"):
        y = (np.arange(n) % 2).astype(np.float32)[:, None]
        x = rng.integers(0, 60, size=(n, size, size, 3)).astype(np.uint8)
        for i, right in enumerate(y[:, 0]):
            half = slice(size // 2, size) if right else slice(0, size // 2)
            x[i, :, half] += 150
        shard = f"shards/{split}-00000"
        save_npy(x, root / f"{shard}.x.npy")
        save_npy(y, root / f"{shard}.y.npy")
        splits[split] = {"n": n, "shards": [shard]}
        rows += [
            {
                "split": split,
                "shard": shard,
                "offset": i,
                "image": "synthetic",
                "group": split,
                "level": 0,
                "x": i * size,
                "y": 0,
                "tissue_fraction": 1.0,
                "label": "right" if v else "left",
            }
            for i, v in enumerate(y[:, 0])
        ]
    write_json(
        {
            "name": "halves",
            "modality": "image",
            "task": "binary",
            "classes": ["left", "right"],
            "targets": ["right"],
            "input_shape": [size, size, 3],
            "splits": splits,
            "seed": 0,
            "channel_mean": [70.0] * 3,
            "channel_std": [70.0] * 3,
        },
        root / "dataset.json",
    )
    write_tsv(pd.DataFrame(rows), root / "metadata.tsv")
    return root


def test_image_maps_are_written_and_grad_cam_finds_the_bright_half(tmp_path: Path) -> None:
    from biodl.interpret import image

    data = write_image_dataset(tmp_path / "halves")
    model = {
        "kind": "cnn2d",
        "conv_layers": [{"filters": 4, "kernel_size": 3, "pool_size": 2}],
        "dense_layers": [{"units": 4}],
        "augmentation": {"flips": False, "rotations": False},
        "training": {"epochs": 8, "learning_rate": 0.01, "batch_size": 16, "patience": 3},
    }
    train_model(
        TrainingRun(data, check_model("halves", model), 1, tmp_path / "model.keras", tmp_path / "history.tsv")
    )
    names = {
        k: str(tmp_path / f"{k}.png")
        for k in ("filter_grid", "feature_maps", "maximisation_images", "saliency_gradcam")
    }
    result = image.interpret_image(
        data,
        tmp_path / "model.keras",
        names,
        InterpretSettings.from_config(example_tiles=4, maximisation_steps=10),
    )
    assert result == {"filters": 4, "tiles": 4}
    for path in names.values():
        assert Path(path).stat().st_size > 5_000
    # The tiles the model scores highest as 'right' are right-bright; Grad-CAM should agree.
    from biodl.data.dataset import open_dataset
    from biodl.evaluation.inference import load_model
    from biodl.interpret.attribution import grad_cam

    dataset = open_dataset(data)
    tiles, units = image._example_tiles(
        dataset, load_model(tmp_path / "model.keras", dataset), InterpretSettings.from_config(example_tiles=4)
    )
    cams = grad_cam(load_model(tmp_path / "model.keras", dataset), tiles["x"], 0)
    right = tiles["x"][..., 8:, :].mean(axis=(1, 2, 3)) > tiles["x"][..., :8, :].mean(axis=(1, 2, 3))
    on_right = cams[..., 8:].mean(axis=(1, 2)) > cams[..., :8].mean(axis=(1, 2))
    assert right.any() and (on_right[right]).all()
    # A binary network's one unit: its top tiles (right) and its bottom tiles (left) are both shown,
    # each named by its position, true label and score.
    assert list(units) == [0, 0, 0, 0]
    assert (tiles["score"][:2] > 0.5).all() and (tiles["score"][2:] < 0.5).all()
    names = image.tile_names(dataset, "validation", tiles, units)
    for index, score, name in zip(tiles["index"], tiles["score"], names, strict=True):
        label = "right" if index % 2 else "left"
        assert name == f"tile {index}: synthetic x={index * 16} y=0\ntrue {label}; right score {score:.2f}"
