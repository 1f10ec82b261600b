"""A prepared image dataset of synthetic slides and a hand-built tile model for the slide-apply tests.

The dataset is prepared by the real preparation step (``biodl.data.image.prepare``) from the
slides of ``image_fixtures`` (glass with two pink pieces of "tissue", left class 1, right class
2). The model's score is a fixed function of a tile's mean red channel:
``sigmoid(WEIGHT * (mean_red - CENTRE))``, so every expected score can be computed by hand from
the slide's pixels.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from image_fixtures import slide_mask, slide_pixels, write_png, write_pyramid, write_sheet

from biodl.config.checks import validate_config
from biodl.config.datasets import ImageDataset, dataset_settings
from biodl.data.image.prepare import prepare_image
from biodl.data.shards import ImageFiles

ROOT = Path(__file__).resolve().parents[1]
TILE = 32  # pixels, read at pyramid level 1 (64 level-0 pixels)
WEIGHT, CENTRE = 0.1, 220.0
DATASET = {
    "classes": {"left": 1, "right": 2},
    "tile": {"size": TILE, "level": 1},
    "tissue": {"threshold": 0.5},
    "labels": {"min_coverage": 0.9},
}
DNA_RUN = {
    "datasets": {
        "ctcf": {
            "modality": "dna",
            "sequences": {"CTCF": "resources/ctcf/Gm12878.CTCF.top500.w200.fa"},
            "length": 200,
        }
    },
    "models": {"m": {"kind": "cnn1d"}},
}


def prepare_slides(folder: Path, n: int = 4) -> Path:
    """``n`` synthetic slides with masks, prepared; returns the dataset folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        slide = write_pyramid(folder / f"slide{i}.tif", slide_pixels(seed=i))
        mask = write_png(folder / f"slide{i}.mask.png", slide_mask(4))
        rows.append([slide.name, mask.name, f"patient{i}"])
    sheet = write_sheet(folder / "sheet.tsv", ["image", "mask", "group"], rows)
    config = {
        **DNA_RUN,
        "datasets": {
            **DNA_RUN["datasets"],
            "d": {"modality": "image", "sample_sheet": str(sheet), **DATASET},
        },
    }
    spec = dataset_settings("d", validate_config(config, base_dir=ROOT)["datasets"]["d"])
    assert isinstance(spec, ImageDataset)
    out = folder / "prepared"
    prepare_image(spec, 3, ImageFiles.in_folder(out))
    return out


def red_model(path: Path, size: int = TILE) -> Path:
    """A saved binary tile model: sigmoid(WEIGHT * (mean red - CENTRE))."""
    inputs = keras.Input((size, size, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    output = keras.layers.Dense(1, activation="sigmoid")(pooled)
    model = keras.Model(inputs, output)
    model.layers[-1].set_weights([np.array([[WEIGHT], [0.0], [0.0]]), np.array([-WEIGHT * CENTRE])])
    model.save(path)
    return path


def hand_score(tile: np.ndarray) -> float:
    """The red model's score of one uint8 tile, computed without Keras."""
    return float(1 / (1 + np.exp(-WEIGHT * (tile[..., 0].astype(np.float64).mean() - CENTRE))))


def level1_tile(seed: int, x: int, y: int) -> np.ndarray:
    """The pixels of the tile at level-0 (x, y) read at level 1 of slide ``seed``."""
    level1 = slide_pixels(seed=seed)[::2, ::2]
    return level1[y // 2 : y // 2 + TILE, x // 2 : x // 2 + TILE]
