"""Interpreting an image network (``cnn2d``): kernels, feature maps, activation maximisation,
saliency and Grad-CAM.

Contract: ``interpret_image(dataset_dir, model_path, outputs, settings)`` writes the first-layer
kernels (``filter_grid``), feature maps of the first block for the example tiles
(``feature_maps``), activation-maximisation images per filter (``maximisation_images``), and
saliency and Grad-CAM of the example tiles (``saliency_gradcam``). Example tiles: for each class,
the ``example_tiles // classes`` (at least 1) tiles of the split that score highest on it, each
explained for the output unit that scores it; a binary network's one unit scores both classes,
so its negative class's tiles are those it scores lowest. Each tile is named by its index in the
split, its image and position (``metadata.tsv``: ``x``, ``y``), its true label and the score of
the explained unit.
"""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from biodl.config.settings import InterpretSettings
from biodl.data.dataset import PreparedDataset, input_shards, load_metadata, to_inputs
from biodl.interpret.inputs import BATCH_SIZE, load
from biodl.interpret.motifs import (
    first_conv,
)
from biodl.training.batches import ShardBatches

logger = logging.getLogger(__name__)


def interpret_image(
    dataset_dir: str | PathLike[str],
    model_path: str | PathLike[str],
    outputs: dict[str, str],
    settings: InterpretSettings,
) -> dict[str, Any]:
    """Kernels, feature maps, maximisation images, saliency and Grad-CAM (module contract)."""
    from biodl.interpret import attribution, figures

    dataset, model = load(dataset_dir, model_path, "image")
    conv, _ = first_conv(model)
    kernels = conv.kernel.numpy()  # (kh, kw, channels, filters)
    kernels = (kernels - kernels.min()) / max(float(np.ptp(kernels)), 1e-12) * 255.0
    figures.plot_image_grid(
        [kernels[..., k] for k in range(conv.filters)],
        [f"filter{k}" for k in range(conv.filters)],
        outputs["filter_grid"],
        title="First-layer kernels (one scale for all)",
    )

    tiles, units = _example_tiles(dataset, model, settings)
    names = tile_names(dataset, settings.split, tiles, units)
    maps = attribution.feature_maps(model, tiles["x"])
    shown = min(conv.filters, 7)
    images, titles = [], []
    for tile, name, fmap in zip(tiles["x"], names, maps, strict=False):
        images += [tile] + [fmap[..., k] for k in range(shown)]
        titles += [name] + [f"filter{k}" for k in range(shown)]
    figures.plot_image_grid(
        images,
        titles,
        outputs["feature_maps"],
        columns=shown + 1,
        cmap="viridis",
        title="First-block feature maps",
    )

    maximised = attribution.maximise_filters(
        model, list(range(conv.filters)), steps=settings.maximisation_steps, step=settings.maximisation_step
    )
    figures.plot_image_grid(
        list(maximised),
        [f"filter{k}" for k in range(conv.filters)],
        outputs["maximisation_images"],
        title="Tiles maximising each first-layer filter",
    )

    gradients = attribution.gradients(model, tiles["x"], units)
    cams = attribution.grad_cam(model, tiles["x"], units)
    figures.plot_overlays(tiles["x"], gradients, cams, names, outputs["saliency_gradcam"])
    return {"filters": conv.filters, "tiles": len(units)}


def tile_names(
    dataset: PreparedDataset, split: str, tiles: dict[str, np.ndarray], units: np.ndarray
) -> list[str]:
    """Each example tile's panel title: index, image and position, true label, explained score."""
    metadata = load_metadata(dataset, split)
    names = []
    for index, unit, score in zip(tiles["index"], units, tiles["score"], strict=True):
        row = metadata.iloc[int(index)]
        where = f"{Path(str(row['image'])).name} x={row['x']} y={row['y']}"
        names.append(f"tile {index}: {where}\ntrue {row['label']}; {dataset.targets[unit]} score {score:.2f}")
    return names


def _example_tiles(
    dataset: PreparedDataset, model: Any, settings: InterpretSettings
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The top-scoring tiles of the split for each output unit (see the module contract)."""
    scores = np.asarray(
        model.predict(ShardBatches(dataset, settings.split, BATCH_SIZE, labels=False), verbose=0)
    )
    # (unit, sign): the tiles a unit scores highest, and for a single sigmoid unit also lowest.
    rankings = [(u, -1.0) for u in range(scores.shape[1])]
    if scores.shape[1] == 1:
        rankings.append((0, 1.0))
    per_class = max(1, settings.example_tiles // len(rankings))
    picked: list[int] = []
    units: list[int] = []
    for u, sign in rankings:
        # A tile already shown for an earlier class is not repeated.
        ranked = [int(i) for i in np.argsort(sign * scores[:, u], kind="stable") if int(i) not in picked]
        picked += ranked[:per_class]
        units += [u] * len(ranked[:per_class])
    # Only the chosen rows are read from the memory-mapped shards.
    shards = input_shards(dataset, settings.split)
    bounds = np.cumsum([0] + [len(s) for s in shards])
    owner = np.searchsorted(bounds, picked, side="right") - 1
    rows = [shards[k][i - bounds[k]] for i, k in zip(picked, owner, strict=False)]
    x = to_inputs(np.stack(rows), dataset.ambiguous)
    score = scores[picked, units] if picked else np.zeros(0)
    return {"x": x, "index": np.asarray(picked), "score": score}, np.asarray(units)
