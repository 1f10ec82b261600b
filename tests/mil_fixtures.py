"""A tiny prepared image dataset with image-level labels for the attention-MIL tests.

Each image is one bag: 96 x 96 pixels of noisy pink tissue cut into nine 32-pixel tiles. A
"tumour" image has one or two tiles painted dark purple at seeded places, a "normal" image none,
so the label is decided by a few tiles of the bag, the multiple-instance setting.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from image_fixtures import PINK, write_png, write_sheet

from biodl.config.datasets import ImageDataset, check_dataset
from biodl.data.image.prepare import prepare_image
from biodl.data.shards import ImageFiles

PURPLE = (90, 40, 120)
TILE = 32


def bag_image(tumour: bool, rng: np.random.Generator) -> np.ndarray:
    pixels = np.clip(np.array(PINK) + rng.integers(-20, 21, size=(96, 96, 3)), 0, 255).astype(np.uint8)
    if tumour:
        for cell in rng.choice(9, size=int(rng.integers(1, 3)), replace=False):
            y, x = divmod(int(cell), 3)
            pixels[y * TILE : (y + 1) * TILE, x * TILE : (x + 1) * TILE] = PURPLE
    return pixels


def prepare_bags(tmp_path: Path, n: int = 16, seed: int = 3) -> Path:
    """``n`` labelled images (half tumour) prepared with group splits; the prepared folder."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        write_png(tmp_path / f"img{i}.png", bag_image(i % 2 == 1, rng))
        rows.append([f"img{i}.png", "tumour" if i % 2 else "normal"])
    sheet = write_sheet(tmp_path / "sheet.tsv", ["image", "label"], rows)
    dataset = {
        "modality": "image",
        "sample_sheet": str(sheet),
        "classes": ["normal", "tumour"],
        "tile": {"size": TILE},
        "tissue": {"background": "none"},  # every tile is tissue: nine per bag
        "split": {"validation_fraction": 0.25, "test_fraction": 0.25},
    }
    spec = check_dataset("d", dataset)
    assert isinstance(spec, ImageDataset)
    out = tmp_path / "prepared"
    prepare_image(spec, seed, ImageFiles.in_folder(out))
    return out
