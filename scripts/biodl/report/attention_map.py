"""The attention map of attention-MIL bags: which tiles of a slide the model looked at.

Contract:
- ``chosen_bags(predictions, dataset, split)`` picks the bags to draw from ``predictions.tsv``
  (one row per bag, ``biodl.training.mil``): per class, among the split's bags of that class,
  the one the model gives the highest probability of its true class and the one it gives the
  lowest (one bag when the class has one), as ``ChosenBag`` (group, class, that probability,
  ``"highest"`` / ``"lowest"``), in class order.
- ``grid_positions(xs, ys)`` turns the level-0 origins of one image's tiles in one group into
  grid columns and rows (0-based from the top-left tile): the grid step is estimated from the
  smallest gaps between distinct origins, so steps that are not whole level-0 pixels (tiles
  resampled to ``tile.mpp``) still land on their cells. A single tile is cell (0, 0).
- ``bag_layout(tiles, stride_cells)`` lays one bag's group out on a grid of cells of one
  stride: ``tiles`` is every tile of the group in the split (``image``, ``x``, ``y``), each
  image's grid side by side, one empty cell apart; a tile covers ``stride_cells`` cells a side
  (its size over the stride). ``heat_map(layout, relative)`` is the heat ``(rows, columns)``
  of ``relative`` attention (a tile's weight times the bag's number of attended tiles, so 1 is a
  uniform weight; NaN for a tile the bag's sample left out): a cell covered by several
  overlapping tiles takes their mean, NaN where no attended tile lies. ``mosaic(layout, pixels,
  cell_pixels)`` places the tiles' uint8 pixels (in the rows of ``tiles``) at their cells,
  ``cell_pixels`` pixels per cell, on white.
- ``plot_attention_maps(attention, predictions, dataset, path, title)`` draws, for the
  ``chosen_bags`` of the test split, one row per bag: the heat of relative attention (one colour
  scale for every bag, with its colour bar) and beside it the tiles from the prepared dataset's
  shards, the 5 most attended outlined; written atomically as a PNG
  (``biodl.report.figures.save_png``). ``attention`` is ``attention.tsv`` (``split``, ``group``,
  ``image``, ``x``, ``y``, ``attention``); its tiles are matched to ``metadata.tsv`` by image and
  origin, and a tile that is not there raises ``InputError`` naming the file and the tile.
"""

from __future__ import annotations

import dataclasses
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle
from PIL import Image

from biodl.core.errors import InputError, require, require_file
from biodl.data.dataset import PreparedDataset, ShardRows, input_shards, load_metadata
from biodl.data.manifest import read_manifest
from biodl.evaluation.predictions import read_predictions
from biodl.report.figures import figure_file

# Longest side of a bag's tile mosaic in pixels: a whole-slide bag of thousands of tiles is drawn
# smaller per cell rather than as a picture of gigabytes.
MAX_MOSAIC_SIDE = 1024
OUTLINED = 5  # most attended tiles outlined on the mosaic
COLOUR_MAP = "magma"
# How much larger than the smallest gap between tile origins a gap may be and still be one step
# (resampled grids round their origins to whole pixels).
STEP_TOLERANCE = 1.5


@dataclasses.dataclass(frozen=True)
class ChosenBag:
    group: str
    label: str
    probability: float  # of the true class
    rank: str  # "highest" or "lowest" among the bags of its class


def chosen_bags(
    predictions: str | PathLike[str], dataset: PreparedDataset, split: str = "test"
) -> list[ChosenBag]:
    """Per class, its bags of highest and lowest probability of the true class (see the contract)."""
    scores = read_predictions(predictions, dataset, per_bag=True)[split]
    frame = pd.read_csv(predictions, sep="\t", dtype=str, keep_default_na=False)
    groups = frame.loc[frame["split"] == split, "group"].to_numpy()
    if dataset.task == "binary":
        truth = scores.y_true[:, 0].astype(int)
        probability = np.where(truth == 1, scores.y_score[:, 0], 1 - scores.y_score[:, 0])
    else:
        truth = np.argmax(scores.y_true, axis=1)
        probability = scores.y_score[np.arange(len(truth)), truth]
    chosen = []
    for k, label in enumerate(dataset.classes):
        members = np.flatnonzero(truth == k)
        ordered = members[np.argsort(-probability[members], kind="stable")]
        for rank, i in zip(("highest", "lowest"), dict.fromkeys([*ordered[:1], *ordered[-1:]]), strict=False):
            chosen.append(ChosenBag(str(groups[i]), label, float(probability[i]), rank))
    return chosen


def grid_positions(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid columns and rows of one image's tile origins (see the module contract)."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    gaps = np.concatenate([np.diff(np.unique(xs)), np.diff(np.unique(ys))])
    if not len(gaps):
        return np.zeros(len(xs), dtype=int), np.zeros(len(ys), dtype=int)
    step = gaps[gaps < STEP_TOLERANCE * gaps.min()].mean()
    return np.rint((xs - xs.min()) / step).astype(int), np.rint((ys - ys.min()) / step).astype(int)


@dataclasses.dataclass(frozen=True)
class BagLayout:
    """Where a bag's tiles lie: top-left cell of each tile, the grid's shape, cells per tile side."""

    columns: np.ndarray
    rows: np.ndarray
    shape: tuple[int, int]
    stride_cells: int


def bag_layout(tiles: pd.DataFrame, stride_cells: int) -> BagLayout:
    """The cells of a group's tiles, its images side by side (see the module contract)."""
    columns, rows = np.zeros(len(tiles), dtype=int), np.zeros(len(tiles), dtype=int)
    offset = 0
    for image in dict.fromkeys(tiles["image"]):
        at = np.flatnonzero((tiles["image"] == image).to_numpy())
        image_columns, rows[at] = grid_positions(tiles["x"].to_numpy()[at], tiles["y"].to_numpy()[at])
        columns[at] = image_columns + offset
        offset = int(columns[at].max()) + stride_cells + 1  # the next image one empty cell further
    shape = (int(rows.max()) + stride_cells, int(columns.max()) + stride_cells)
    return BagLayout(columns, rows, shape, stride_cells)


def heat_map(layout: BagLayout, relative: np.ndarray) -> np.ndarray:
    """Mean relative attention of the attended tiles covering each cell; NaN where none does."""
    total, count = np.zeros(layout.shape), np.zeros(layout.shape)
    side = layout.stride_cells
    for column, row, value in zip(layout.columns, layout.rows, relative, strict=True):
        if not np.isnan(value):
            total[row : row + side, column : column + side] += value
            count[row : row + side, column : column + side] += 1
    heat = np.full(layout.shape, np.nan)
    np.divide(total, count, out=heat, where=count > 0)
    return heat


def mosaic(layout: BagLayout, pixels: np.ndarray, cell_pixels: int) -> np.ndarray:
    """The tiles' pixels at their cells, ``cell_pixels`` per cell, on white."""
    side = layout.stride_cells * cell_pixels
    height, width = (n * cell_pixels for n in layout.shape)
    canvas = np.full((height, width, pixels.shape[-1]), 255, dtype=np.uint8)
    for column, row, tile in zip(layout.columns, layout.rows, pixels, strict=True):
        # Pillow takes (h, w) for one channel, (h, w, 3) for colour; tiles are float32 0-255 as read.
        image = Image.fromarray(
            np.ascontiguousarray(np.squeeze(tile.astype(np.uint8), axis=_channel_axis(tile)))
        )
        resized = np.asarray(image.resize((side, side), Image.Resampling.BOX)).reshape(side, side, -1)
        top, left = row * cell_pixels, column * cell_pixels
        canvas[top : top + side, left : left + side] = resized
    return canvas


def plot_attention_maps(
    attention: str | PathLike[str],
    predictions: str | PathLike[str],
    dataset: PreparedDataset,
    path: str | PathLike[str],
    title: str,
    split: str = "test",
) -> None:
    """The attention of the chosen bags beside their tiles, one row per bag (see the contract)."""
    bags = chosen_bags(predictions, dataset, split)
    require(bool(bags), predictions, f"split {split}", "no bag to draw")
    tiles = _split_tiles(Path(attention), dataset, split)
    stride, size = _tile_stride(dataset)
    stride_cells = max(1, round(size / stride))
    pixels = ShardRows(input_shards(dataset, split))
    panels = []
    for bag in bags:
        group = tiles[tiles["group"] == bag.group].reset_index(drop=True)
        layout = bag_layout(group, stride_cells)
        relative = group["relative"].to_numpy(dtype=float)
        cell_pixels = max(1, min(stride, MAX_MOSAIC_SIDE // max(layout.shape)))
        tiles_shown = mosaic(layout, pixels.read(group["row"].to_numpy()), cell_pixels)
        panels.append((bag, layout, relative, heat_map(layout, relative), tiles_shown, cell_pixels))
    top = max(float(np.nanmax(panel[3])) for panel in panels)
    with figure_file(path, nrows=len(panels), ncols=2, panel_size=(4.5, 4.0)) as (fig, axes):
        for (bag, layout, relative, heat, tiles_shown, cell_pixels), (heat_ax, tile_ax) in zip(
            panels, axes, strict=True
        ):
            shown = heat_ax.imshow(heat, cmap=COLOUR_MAP, vmin=0, vmax=top, interpolation="nearest")
            heat_ax.set_facecolor("0.85")  # cells without an attended tile
            heat_ax.set_title(
                f"{Path(bag.group).name}: {bag.label}, p({bag.label}) = {bag.probability:.2f} ({bag.rank})\n"
                f"{int(np.sum(~np.isnan(relative)))} of {len(relative)} tiles attended",
                fontsize=9,
            )
            # Every bag on one colour scale, so bags compare; one bar per row keeps the layout tight.
            fig.colorbar(shown, ax=heat_ax, fraction=0.046, pad=0.04, label="attention x tiles (1 = uniform)")
            tile_ax.imshow(np.squeeze(tiles_shown, axis=_channel_axis(tiles_shown)), cmap="gray")
            _outline_most_attended(tile_ax, layout, relative, cell_pixels)
            tile_ax.set_title(f"tiles (outlined: up to {OUTLINED} above uniform attention)", fontsize=9)
            for ax in (heat_ax, tile_ax):
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
        fig.suptitle(title)


def _split_tiles(attention: Path, dataset: PreparedDataset, split: str) -> pd.DataFrame:
    """Every tile of the split's metadata with its row and relative attention (NaN: not attended)."""
    weights = pd.read_csv(require_file(attention, "attention table"), sep="\t", dtype={"image": str})
    missing = [c for c in ("split", "group", "image", "x", "y", "attention") if c not in weights.columns]
    require(not missing, attention, "header", f"missing column(s) {', '.join(missing)}")
    weights = weights[weights["split"] == split]
    weights = weights.assign(
        relative=weights["attention"] * weights.groupby("group")["attention"].transform("size")
    )
    metadata = load_metadata(dataset, split)
    tiles = metadata[["group", "image", "x", "y"]].assign(row=np.arange(len(metadata)))
    merged = tiles.merge(weights[["image", "x", "y", "relative"]], on=["image", "x", "y"], how="left")
    unmatched = weights.merge(tiles, on=["image", "x", "y"], how="left", indicator=True)
    lost = unmatched[unmatched["_merge"] == "left_only"]
    if len(lost):
        first = lost.iloc[0]
        raise InputError(
            attention,
            f"tile {first['image']} x={first['x']} y={first['y']}",
            f"not a {split} tile of {dataset.name}'s metadata.tsv; expected the run's own dataset",
        )
    return merged


def _tile_stride(dataset: PreparedDataset) -> tuple[int, int]:
    """The tiling's stride and tile size in output pixels (the stride defaults to the size)."""
    size = int(dataset.input_shape[0])
    tiling = read_manifest(dataset.manifest)[1].get("tiling", {})
    return int(tiling.get("stride") or size), size


def _channel_axis(pixels: np.ndarray) -> tuple[int, ...]:
    """The channel axis to drop for Pillow and imshow: that of a one-channel image only."""
    return (-1,) if pixels.shape[-1] == 1 else ()


def _outline_most_attended(ax: Axes, layout: BagLayout, relative: np.ndarray, cell_pixels: int) -> None:
    """Outline the most attended tiles, those above a uniform weight only (ties mean nothing)."""
    side = layout.stride_cells * cell_pixels
    weights = np.nan_to_num(relative, nan=-np.inf)
    for i in np.argsort(-weights, kind="stable")[:OUTLINED]:
        if weights[i] > 1:
            # Inset by a pixel, so neighbouring outlined tiles keep separate boxes.
            corner = (layout.columns[i] * cell_pixels + 0.5, layout.rows[i] * cell_pixels + 0.5)
            ax.add_patch(Rectangle(corner, side - 2, side - 2, fill=False, edgecolor="cyan", linewidth=1.2))
