"""What a tile autoencoder (``kind: conv2d_autoencoder``) makes of tiles it did not train on.

Contract: ``plot_reconstructions(model_path, dataset, path, title, count)`` loads the trained
autoencoder with plain ``keras.models.load_model``, reconstructs ``count`` tiles of the
``validation`` split spread evenly over it (the first, the last and evenly between: no random
draw), and writes one PNG (atomically, ``biodl.report.figures.save_png``): the tiles on the top
row, their reconstructions below, each labelled with its mean squared error on the normalised
pixels (the training loss; 1 is what predicting each channel's mean costs). Reconstructions are
shown in 0-255 units (``denormalised``: the inverse of
``biodl.models.autoencoder.normalised_tiles``, clipped to 0-255). A dataset that is not of
images raises ``InputError``.
"""

from __future__ import annotations

from os import PathLike

import keras
import numpy as np

from biodl.core.errors import require
from biodl.data.dataset import PreparedDataset, ShardRows, input_shards
from biodl.models.autoencoder import Normalization, normalised_tiles
from biodl.report.figures import figure_file

SPLIT = "validation"


def denormalised(values: np.ndarray, normalization: Normalization) -> np.ndarray:
    """Normalised pixels back in 0-255 units as uint8 (clipped)."""
    mean, std = (np.asarray(v, dtype="float32") for v in normalization)
    return np.clip(np.rint(values * np.maximum(std, keras.config.epsilon()) + mean), 0, 255).astype(np.uint8)


def plot_reconstructions(
    model_path: str | PathLike[str],
    dataset: PreparedDataset,
    path: str | PathLike[str],
    title: str,
    count: int = 8,
) -> None:
    """The tiles above their reconstructions (see the module contract)."""
    require(
        dataset.modality == "image",
        dataset.manifest,
        "modality",
        f"reconstructions are drawn for image tiles; {dataset.name} is a {dataset.modality} dataset",
    )
    rows = np.unique(
        np.linspace(0, dataset.n(SPLIT) - 1, num=min(count, dataset.n(SPLIT))).round().astype(int)
    )
    tiles = ShardRows(input_shards(dataset, SPLIT)).read(rows).astype("float32")
    normalization = (dataset.channel_mean, dataset.channel_std)
    model = keras.models.load_model(model_path, safe_mode=True, compile=False)  # no arbitrary code
    reconstructed = np.asarray(model(tiles, training=False))
    errors = np.mean(
        (reconstructed - np.asarray(normalised_tiles(tiles, normalization))) ** 2, axis=(1, 2, 3)
    )
    shown = denormalised(reconstructed, normalization)
    one_channel = tiles.shape[-1] == 1
    with figure_file(path, nrows=2, ncols=len(rows), panel_size=(1.8, 2.0)) as (fig, axes):
        for i, (tile, remade, error) in enumerate(zip(tiles.astype(np.uint8), shown, errors, strict=True)):
            for ax, image in ((axes[0, i], tile), (axes[1, i], remade)):
                ax.imshow(image.squeeze(axis=-1) if one_channel else image, cmap="gray", vmin=0, vmax=255)
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
            axes[0, i].set_title(f"tile {rows[i] + 1}", fontsize=8)
            axes[1, i].set_xlabel(f"MSE {error:.2f}", fontsize=8)
        axes[0, 0].set_ylabel("validation tile")
        axes[1, 0].set_ylabel("reconstruction")
        fig.suptitle(title)
