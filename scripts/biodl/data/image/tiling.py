"""Tile geometry, tissue detection and tile labels from masks, vectorised over the tile grid.

Contract:
- Coordinates are level-0 pixels (float where a footprint is not whole); a tile is the box
  ``[x, x + footprint) × [y, y + footprint)``.
- ``grid(start, extent, footprint, step, pad)`` gives the tile origins along one axis of a
  region: tiles wholly inside it, plus (``pad``) one overhanging the end when the last full tile
  stops short of it. ``tile_grid(region, footprint, step, pad_right, pad_bottom)`` combines two
  axes of a region (x, y, width, height), row-major.
- ``tissue_mask(thumbnail, background, tile_px)`` finds tissue on a low-resolution thumbnail:
  Otsu threshold of a tissue signal (light background, RGB: HSV saturation, so grey glass,
  dust and shadows are not tissue; light background, grey: darkness; dark background:
  brightness), then morphology sized by the tile (``tile_px`` = a tile's side in thumbnail
  pixels): closing of one-pixel gaps, specks smaller than a quarter tile removed, holes smaller
  than a tile filled (larger holes, such as glass inside a section, stay background). When the
  two Otsu classes differ by less than ``MIN_CONTRAST`` grey levels there is no tissue (blank
  glass, a uniform image).
- ``box_fractions(mask, boxes)`` is the fraction of each box (mask pixels, may overhang the
  mask) that is True; outside the mask counts as False. Summed-area table: O(1) per box.
- ``mask_downsample(image_size, mask_shape, stated, path)`` is the number of level-0 pixels per
  mask pixel: checked against the sizes when stated, inferred from them otherwise.
- ``class_plane(values, value_classes)`` maps mask values to class numbers 1..K (0: unlabelled;
  ``class_plane_and_values`` also gives the distinct values seen);
  ``tile_classes(plane, boxes, n_classes)`` gives each box's majority class, its coverage of the
  box's labelled pixels, the labelled fraction of the box, and whether the top two classes tie.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from skimage import color, filters, morphology

from biodl.core.errors import InputError

BACKGROUNDS = ("light", "dark", "none")
# Smallest difference (0-255 units) between the mean tissue signal of the two Otsu classes that
# counts as tissue against background; below it the thumbnail is one uniform class.
MIN_CONTRAST = 8.0


def grid(start: int, extent: int, footprint: float, step: float, pad: bool) -> np.ndarray:
    """Tile origins along one axis of ``[start, start + extent)``; the caller checks footprint <= extent."""
    full = math.floor((extent - footprint) / step + 1e-9) + 1
    count = max(full, math.ceil((extent - footprint) / step - 1e-9) + 1) if pad else full
    return start + np.rint(np.arange(max(count, 0)) * step).astype(np.int64)


def tile_grid(
    region: tuple[int, int, int, int], footprint: float, step: float, pad_right: bool, pad_bottom: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Origins of every tile of a region (x, y, width, height), row by row."""
    x, y, width, height = region
    xs = grid(x, width, footprint, step, pad_right)
    ys = grid(y, height, footprint, step, pad_bottom)
    grid_y, grid_x = np.meshgrid(ys, xs, indexing="ij")
    return grid_x.ravel(), grid_y.ravel()


def boxes(xs: np.ndarray, ys: np.ndarray, footprint: float, downsample: float) -> np.ndarray:
    """Tile boxes ``(n, 4)`` = x0, y0, x1, y1 in the pixels of an image ``downsample`` times smaller."""
    return np.stack([xs, ys, xs + footprint, ys + footprint], axis=1) / downsample


def tissue_signal(thumbnail: np.ndarray, background: str) -> np.ndarray:
    """Per-pixel tissue evidence in 0-255: larger means more likely tissue."""
    if background == "light" and thumbnail.shape[2] == 3:
        return color.rgb2hsv(thumbnail)[..., 1] * 255.0
    grey = thumbnail.mean(axis=2)
    return 255.0 - grey if background == "light" else grey


def tissue_mask(thumbnail: np.ndarray, background: str, tile_px: float) -> np.ndarray:
    """Boolean tissue mask of a ``(h, w, C)`` uint8 thumbnail (see the module contract)."""
    if background == "none":
        return np.ones(thumbnail.shape[:2], dtype=bool)
    signal = tissue_signal(thumbnail, background)
    threshold = filters.threshold_otsu(signal) if signal.min() < signal.max() else signal.max()
    tissue = signal > threshold
    if not tissue.any() or tissue.all() or signal[tissue].mean() - signal[~tissue].mean() < MIN_CONTRAST:
        return np.zeros(signal.shape, dtype=bool)
    tissue = morphology.closing(tissue, morphology.disk(1))
    tile_area = max(1.0, tile_px * tile_px)
    tissue = morphology.remove_small_objects(tissue, max_size=int(tile_area / 4))
    return morphology.remove_small_holes(tissue, max_size=int(tile_area))


def box_fractions(mask: np.ndarray, tile_boxes: np.ndarray) -> np.ndarray:
    """Fraction of each box that is True in ``mask``; box area beyond the mask counts as False."""
    height, width = mask.shape
    table = np.zeros((height + 1, width + 1), dtype=np.int64)
    table[1:, 1:] = mask.cumsum(axis=0, dtype=np.int64).cumsum(axis=1)
    x0, y0, x1, y1 = np.rint(tile_boxes).astype(np.int64).T
    area = np.maximum((x1 - x0) * (y1 - y0), 1)
    x0, x1 = np.clip(x0, 0, width), np.clip(x1, 0, width)
    y0, y1 = np.clip(y0, 0, height), np.clip(y1, 0, height)
    inside = table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0]
    return inside / area


def mask_downsample(
    image_size: tuple[int, int], mask_shape: tuple[int, ...], stated: float | None, path: Path
) -> float:
    """Level-0 pixels per mask pixel (see the module contract)."""
    width, height = image_size
    mask_height, mask_width = mask_shape[:2]
    factor = stated if stated is not None else width / mask_width
    if abs(width / factor - mask_width) > 1 or abs(height / factor - mask_height) > 1:
        how = (
            f"at the stated downsample {stated:g}"
            if stated is not None
            else "at one downsample factor for both axes"
        )
        raise InputError(
            path,
            None,
            f"mask size {mask_width}x{mask_height} does not match the image {width}x{height} {how} "
            f"(image/mask: {width / mask_width:.3g} in x, {height / mask_height:.3g} in y)",
        )
    return factor


def class_plane(values: np.ndarray, value_classes: dict[int, int]) -> np.ndarray:
    """Mask values → class numbers 1..K; values of no class → 0 (unlabelled)."""
    return class_plane_and_values(values, value_classes)[0]


def class_plane_and_values(
    values: np.ndarray, value_classes: dict[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """``class_plane`` and the distinct mask values it saw (for messages about unclaimed values)."""
    uniques, inverse = np.unique(values, return_inverse=True)
    lookup = np.array([value_classes.get(int(v), 0) for v in uniques], dtype=np.int64)
    return lookup[inverse].reshape(values.shape), uniques


@dataclass(frozen=True)
class TileClasses:
    """Per box: majority class (1..K, 0 when nothing is labelled) and how clear it is."""

    index: np.ndarray
    coverage: np.ndarray  # majority pixels / labelled pixels
    labelled: np.ndarray  # labelled pixels / box area
    tied: np.ndarray  # the two most frequent classes have equal counts


def tile_classes(plane: np.ndarray, tile_boxes: np.ndarray, n_classes: int) -> TileClasses:
    """Majority class of every box of a class plane (from ``class_plane``)."""
    n = len(tile_boxes)
    index, coverage, labelled, tied = np.zeros(n, np.int64), np.zeros(n), np.zeros(n), np.zeros(n, bool)
    height, width = plane.shape
    for i, (x0, y0, x1, y1) in enumerate(np.rint(tile_boxes).astype(np.int64)):
        area = max((x1 - x0) * (y1 - y0), 1)
        patch = plane[max(y0, 0) : max(min(y1, height), 0), max(x0, 0) : max(min(x1, width), 0)]
        counts = np.bincount(patch.ravel(), minlength=n_classes + 1)[1:]
        total = counts.sum()
        if total == 0:
            continue
        order = np.argsort(counts)[::-1]
        index[i] = order[0] + 1
        coverage[i] = counts[order[0]] / total
        labelled[i] = total / area
        tied[i] = n_classes > 1 and counts[order[0]] == counts[order[1]]
    return TileClasses(index, coverage, labelled, tied)
