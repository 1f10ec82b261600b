"""A trained tile model run over every tissue tile of whole slides, tiled exactly as at training.

Contract:
- Slides come from a sheet read by ``biodl.apply.slide_sheet``.
- ``SlideTiling.of_dataset(dataset)`` is the tiling the run's dataset was prepared with, read
  from its ``dataset.json`` (``tiling``: tile size, stride, level or µm/px, edge, tissue
  background, threshold and resolution, intensity percentiles): the tiles of a slide lie on the
  grid, at the resolution and with the tissue detection of preparation
  (``biodl.data.image.grid``); a dataset prepared before these were recorded is refused.
- ``load_tile_model(dataset_dir, model_paths)`` loads the run's network(s) on an image dataset
  (``biodl.evaluation.inference.load_model`` checks that the model takes the dataset's tile
  shape: a model whose input size differs is an ``InputError``); several paths are an
  ensemble, averaged. ``TileModel.predict(tiles)`` takes uint8 tiles in 0-255 (the channel
  normalisation is inside the saved model) and returns ``(n, classes)`` float64 probabilities,
  one column per class (binary: ``1 - p`` and ``p``).
- ``map_slide(model, slide, tiling, threads)`` scores every tissue tile of one slide: the
  whole image, or the sheet row's ``region``, on the training grid (as preparation tiles a
  sample-sheet row: the grid starts at the region's corner, tissue is found on the whole
  slide's thumbnail, ``tile.edge: pad`` adds overhanging tiles only at the slide's own right
  and bottom edges; ``biodl.data.image.grid.row_region``), tiles whose tissue fraction reaches
  ``tissue.threshold``, read ``chunk`` tiles at a time on
  ``threads`` threads and predicted chunk by chunk (the next chunk read while one is
  predicted), so memory is bounded by two chunks, not the slide. It returns a ``SlideMap``:
  the per-tile frame (``TILE_COLUMNS`` then ``p_<class>``; x, y: level-0 pixels of the tile's
  top-left corner in the whole slide's coordinates, a region's tiles included, so that every
  output lines up with the slide; size: its side in level-0 pixels), the whole slide's
  thumbnail the tissue was found on, its factor (level-0 pixels per thumbnail pixel) and the
  mapped rectangle (``bounds``). A slide (or region) without a tile reaching the threshold,
  and a region past the slide's edge or smaller than a tile, are ``InputError``s naming the
  slide and its sheet line; an unreadable slide is one naming the file
  (``biodl.data.image.formats``).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from os import PathLike
from typing import Any, cast

import keras
import numpy as np
import pandas as pd

from biodl.apply.slide_sheet import SlideRow
from biodl.apply.trained import open_run
from biodl.core.errors import InputError, require
from biodl.data.dataset import PreparedDataset
from biodl.data.format import read_manifest
from biodl.data.image.formats import open_sources
from biodl.data.image.grid import ImageGrid, Tiling, image_grid, read_tiles, row_region
from biodl.data.image.sources import ImageSource
from biodl.evaluation.inference import PREDICT_BATCH_SIZE

logger = logging.getLogger(__name__)

TILE_COLUMNS = ("slide", "x", "y", "size", "tissue_fraction")
# Tile pixels read and predicted at a time (a 64 px RGB tile is 12 KiB: 1365 tiles, 16 MiB).
CHUNK_PIXELS = 1 << 24
# dataset.json tiling fields the grid needs.
TILING_FIELDS = (
    "tile_size",
    "stride",
    "level",
    "mpp",
    "edge",
    "tissue_background",
    "tissue_threshold",
    "tissue_resolution",
    "intensity_percentiles",
)


@dataclass(frozen=True)
class SlideTiling:
    """The tiling of preparation and how many tiles are read and predicted at a time."""

    tiling: Tiling

    @property
    def chunk(self) -> int:
        size = self.tiling.size
        return max(1, CHUNK_PIXELS // (size * size * 3))

    @classmethod
    def of_dataset(cls, dataset: PreparedDataset) -> SlideTiling:
        manifest, raw = read_manifest(dataset.manifest)
        recorded: dict[str, Any] = raw.get("tiling") or {}
        missing = [key for key in TILING_FIELDS if key not in recorded]
        require(
            not missing,
            manifest,
            "tiling",
            f"does not record {', '.join(missing)}: the dataset was prepared by an older version; "
            f"prepare it again (delete {manifest.parent}) to map slides with its models",
        )
        low, high = recorded["intensity_percentiles"]
        tiling = Tiling(
            size=int(recorded["tile_size"]),
            stride=int(recorded["stride"]),
            level=recorded["level"],
            mpp=recorded["mpp"],
            pad=recorded["edge"] == "pad",
            background=str(recorded["tissue_background"]),
            tissue_threshold=float(recorded["tissue_threshold"]),
            tissue_resolution=int(recorded["tissue_resolution"]),
            min_coverage=0.0,  # labels: not used when mapping
            min_labelled=0.0,
            mask_downsample=None,
            axis="axial",
            percentiles=(float(low), float(high)),
        )
        require(
            tiling.size == dataset.input_shape[0],
            manifest,
            "tiling.tile_size",
            f"{tiling.size} differs from the input shape {list(dataset.input_shape)}",
        )
        return cls(tiling)


@dataclass(frozen=True)
class TileModel:
    """A run's tile network(s) and the image dataset they were trained on."""

    networks: tuple[keras.Model, ...]
    dataset: PreparedDataset

    @property
    def classes(self) -> tuple[str, ...]:
        return self.dataset.classes

    def predict(self, tiles: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, classes)`` of uint8 tiles ``(n, size, size, channels)``."""
        expected = tuple(self.dataset.input_shape)
        if tiles.ndim != 4 or tuple(tiles.shape[1:]) != expected:
            raise ValueError(
                f"expected tiles of shape (n, {', '.join(map(str, expected))}), got {tiles.shape}"
            )
        x = tiles.astype(np.float32)
        total = np.zeros((len(x), len(self.dataset.targets)), dtype=np.float64)
        for network in self.networks:
            total += np.asarray(network.predict(x, batch_size=PREDICT_BATCH_SIZE, verbose=0), np.float64)
        total /= len(self.networks)
        return np.concatenate([1 - total, total], axis=1) if self.dataset.task == "binary" else total


def load_tile_model(
    dataset_dir: str | PathLike[str], model_paths: Sequence[str | PathLike[str]]
) -> TileModel:
    """The run's tile model(s) on its image dataset (see the module contract)."""
    dataset, networks = open_run(dataset_dir, model_paths, "image", "mapping slides")
    logger.info(
        "loaded %d network(s) of %s: tiles %s, classes %s",
        len(networks),
        dataset.name,
        "x".join(map(str, dataset.input_shape)),
        ", ".join(dataset.classes),
    )
    return TileModel(networks, dataset)


@dataclass(frozen=True)
class SlideMap:
    """One slide's tile scores, with the thumbnail the tissue was found on."""

    name: str
    tiles: pd.DataFrame
    thumbnail: np.ndarray  # of the whole slide
    factor: int  # level-0 pixels per thumbnail pixel
    bounds: tuple[int, int, int, int]  # the mapped rectangle: level-0 x, y, width, height


def map_slide(model: TileModel, row: SlideRow, tiling: SlideTiling, threads: int) -> SlideMap:
    """Score every tissue tile of one slide (see the module contract)."""
    # A generator: closing it closes the slide.
    sources = cast(Generator[ImageSource], open_sources(row.image, percentiles=tiling.tiling.percentiles))
    try:
        source = next(sources)
        _check_channels(source, model, row)
        grid = image_grid(source, tiling.tiling)
        bounds = row_region(source, row.region, grid.footprint, source.name, _where(row))
        xs, ys, fractions = _tissue_tiles(source, grid, tiling.tiling, row, bounds)
        scores = _score_tiles(model, source, grid, (xs, ys), tiling, threads)
    finally:
        sources.close()
    logger.info("%s: %d tissue tile(s) scored", row.name, len(xs))
    frame = pd.DataFrame(
        {
            "slide": row.name,
            "x": xs,
            "y": ys,
            "size": round(grid.footprint, 2),
            "tissue_fraction": np.round(fractions, 4),
        }
    )
    for j, name in enumerate(model.classes):
        frame[f"p_{name}"] = scores[:, j]
    return SlideMap(row.name, frame, grid.thumbnail, grid.factor, bounds)


def _score_tiles(
    model: TileModel,
    source: ImageSource,
    grid: ImageGrid,
    origins: tuple[np.ndarray, np.ndarray],
    tiling: SlideTiling,
    threads: int,
) -> np.ndarray:
    """Scores of the tiles at ``origins``, chunk by chunk; the next chunk is read while one is
    predicted (OpenSlide and Pillow release the GIL), so at most two chunks are in memory."""
    xs, ys = origins
    scores = np.empty((len(xs), len(model.classes)), dtype=np.float64)

    def read(start: int) -> np.ndarray:
        part = slice(start, start + tiling.chunk)
        return read_tiles(source, grid.resolution, xs[part], ys[part], tiling.tiling, threads)

    with ThreadPoolExecutor(1) as reader:
        pending = reader.submit(read, 0)
        for start in range(0, len(xs), tiling.chunk):
            pixels = pending.result()
            if start + tiling.chunk < len(xs):
                pending = reader.submit(read, start + tiling.chunk)
            scores[start : start + len(pixels)] = model.predict(pixels)
    return scores


def _check_channels(source: ImageSource, model: TileModel, row: SlideRow) -> None:
    expected = model.dataset.input_shape[-1]
    require(
        source.channels == expected,
        source.name,
        _where(row),
        f"has {source.channels} channel(s), the model's tiles have {expected}",
    )


def _where(row: SlideRow) -> str:
    return f"slide {row.name} ({row.where})"


def _tissue_tiles(
    source: ImageSource, grid: ImageGrid, tiling: Tiling, row: SlideRow, bounds: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origins and tissue fractions of the tiles in ``bounds`` that reach the tissue threshold."""
    xs, ys, fractions = grid.region_tiles(bounds, source.size, tiling.pad)
    keep = fractions >= tiling.tissue_threshold
    if not keep.any():
        raise InputError(
            source.name,
            _where(row),
            f"no tissue found: no tile reaches the tissue threshold {tiling.tissue_threshold} of "
            f"training (largest tissue fraction {float(fractions.max(initial=0.0)):.2f}; "
            f"tissue.background {tiling.background!r})",
        )
    return xs[keep], ys[keep], fractions[keep]
