"""The tiles of one image: kept where there is tissue, labelled, read and handed to the shard writer.

Contract of ``tile_source(dataset, sinks, source, rows, mask)``:
- Every sample-sheet row of ``source`` (the whole image, or its ``region``, checked to lie inside
  it and to hold a tile) is cut on the grid of ``biodl.data.image.grid``; tiles whose tissue
  fraction is below ``tissue.threshold`` are dropped as background.
- Labels: a label sheet gives each tile its row's class. A mask sheet gives the tile the
  majority class of its mask pixels (mask at any downsample, stated or inferred,
  ``biodl.data.image.tiling``); a tile is dropped as unlabelled when less than
  ``labels.min_labelled`` of it carries a class, and as ambiguous when the majority class
  covers less than ``labels.min_coverage`` of its labelled pixels or two classes tie.
- Kept tiles are read ``CHUNK_PIXELS`` at a time (on ``dataset.threads`` threads) and written to
  the row's split with float32 targets (binary: 1 for ``classes[1]``; multi-class: one-hot) and
  one metadata row each: image, group, level, x, y (level-0 pixels of the top-left corner),
  tissue_fraction, label. Training tiles feed the exact per-channel histogram
  (``ChannelHistogram``). The preview gets the tiled region and its kept tiles.
- ``Tally`` counts what happened to the tiles (per drop reason, per split and class, per row).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from biodl.data.image.formats import LabelImage
from biodl.data.image.grid import ImageGrid, Tiling, image_grid, read_tiles, row_region
from biodl.data.image.preview import Thumbnail, TilingPreview
from biodl.data.image.sample_sheet import SampleSheet, SheetRow
from biodl.data.image.sources import ImageSource
from biodl.data.image.tiling import boxes, class_plane_and_values, mask_downsample, tile_classes
from biodl.data.shards import ShardWriter

# Tiles read and handed to the shard writer at a time (memory: this many tiles of pixels).
CHUNK_PIXELS = 1 << 24


class ChannelHistogram:
    """Exact per-channel mean and standard deviation of uint8 tiles, from value counts."""

    def __init__(self) -> None:
        self.counts: np.ndarray | None = None

    def add(self, tiles: np.ndarray) -> None:
        counts = np.stack([np.bincount(tiles[..., c].ravel(), minlength=256) for c in range(tiles.shape[-1])])
        self.counts = counts if self.counts is None else self.counts + counts

    def mean_std(self) -> tuple[list[float], list[float]]:
        assert self.counts is not None, "no training tiles were added"
        values = np.arange(256, dtype=np.float64)
        total = self.counts.sum(axis=1)
        mean = self.counts @ values / total
        variance = self.counts @ values**2 / total - mean**2
        return [round(float(m), 4) for m in mean], [
            round(float(s), 4) for s in np.sqrt(np.maximum(variance, 0))
        ]


@dataclass
class Tally:
    """What happened to the tiles, for the log, the checks and ``dataset.json``."""

    considered: int = 0
    images: int = 0

    def __post_init__(self) -> None:
        self.dropped: Counter[str] = Counter()
        self.kept: Counter[tuple[str, str]] = Counter()  # (split, class) → tiles
        self.tissue_rows: Counter[int] = Counter()  # sheet line → tiles with enough tissue
        self.best_tissue: dict[int, float] = {}
        self.levels: set[int] = set()
        self.mask_values: set[int] = set()  # every value seen in the masks


@dataclass(frozen=True)
class DatasetTiling:
    """What every image of one dataset is tiled with."""

    sheet: SampleSheet
    tiling: Tiling
    classes: list[str]
    value_classes: dict[int, int]  # mask value → class number 1..K (mask sheets)
    row_splits: dict[int, str]  # sheet line → split
    threads: int


@dataclass(frozen=True)
class TileSinks:
    """Where the kept tiles go: the shard writer, the training histogram, the preview, the tally."""

    writer: ShardWriter
    histogram: ChannelHistogram
    preview: TilingPreview
    tally: Tally


@dataclass(frozen=True)
class MaskPlane:
    """One image's mask as class numbers (0: unlabelled), ``downsample`` level-0 pixels per pixel."""

    classes: np.ndarray
    downsample: float


@dataclass(frozen=True)
class KeptTiles:
    """Tiles of one region that are written: level-0 origins, tissue fractions, class numbers."""

    xs: np.ndarray
    ys: np.ndarray
    fractions: np.ndarray
    labels: np.ndarray


def tile_source(
    dataset: DatasetTiling,
    sinks: TileSinks,
    source: ImageSource,
    rows: list[SheetRow],
    mask: LabelImage | None,
) -> None:
    """Tile every row's part of one image and write the kept tiles (see the module contract)."""
    grid = image_grid(source, dataset.tiling)
    plane = None
    if mask is not None:
        values = mask.plane(source.slice_index)
        factor = mask_downsample(source.size, values.shape, dataset.tiling.mask_downsample, mask.path)
        classes, seen = class_plane_and_values(values, dataset.value_classes)
        sinks.tally.mask_values.update(int(value) for value in seen)
        plane = MaskPlane(classes, factor)
    sinks.tally.images += 1
    sinks.tally.levels.add(grid.resolution.level)
    tiler = _SourceTiler(dataset, sinks, source, grid, plane)
    for row in rows:
        tiler.tile_row(row)


@dataclass(frozen=True)
class _SourceTiler:
    """One image on its grid, with its mask: tiles its rows one by one."""

    dataset: DatasetTiling
    sinks: TileSinks
    source: ImageSource
    grid: ImageGrid
    mask: MaskPlane | None

    def tile_row(self, row: SheetRow) -> None:
        tiling, tally, footprint = self.dataset.tiling, self.sinks.tally, self.grid.footprint
        region = row_region(self.source, row.region, footprint, self.dataset.sheet.path, row.where)
        xs, ys, fractions = self.grid.region_tiles(region, self.source.size, tiling.pad)
        tally.considered += len(xs)
        with_tissue = fractions >= tiling.tissue_threshold
        tally.dropped["background"] += int((~with_tissue).sum())
        tally.tissue_rows[row.line] += int(with_tissue.sum())
        tally.best_tissue[row.line] = max(
            tally.best_tissue.get(row.line, 0.0), float(fractions.max(initial=0.0))
        )
        xs, ys, fractions = xs[with_tissue], ys[with_tissue], fractions[with_tissue]
        labels = self._labels(row, xs, ys)
        keep = labels >= 0
        split = self.dataset.row_splits[row.line]
        self._write(row, split, KeptTiles(xs[keep], ys[keep], fractions[keep], labels[keep]))
        self.sinks.preview.add(
            Thumbnail(self.source.name, self.grid.thumbnail, self.grid.factor),
            region,
            split,
            boxes(xs[keep], ys[keep], footprint, 1.0),
            labels[keep],
        )

    def _labels(self, row: SheetRow, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Class number (0..K-1) per tile, -1 for tiles dropped as unlabelled or ambiguous."""
        classes, tiling, tally = self.dataset.classes, self.dataset.tiling, self.sinks.tally
        if self.mask is None:
            assert row.label is not None, "a label sheet has a label in every row"
            return np.full(len(xs), classes.index(row.label), dtype=np.int64)
        tile_boxes = boxes(xs, ys, self.grid.footprint, self.mask.downsample)
        found = tile_classes(self.mask.classes, tile_boxes, len(classes))
        unlabelled = found.labelled < tiling.min_labelled
        ambiguous = ~unlabelled & ((found.coverage < tiling.min_coverage) | found.tied)
        tally.dropped["unlabelled"] += int(unlabelled.sum())
        tally.dropped["ambiguous"] += int(ambiguous.sum())
        return np.where(unlabelled | ambiguous, -1, found.index - 1)

    def _write(self, row: SheetRow, split: str, kept: KeptTiles) -> None:
        """Read the kept tiles chunk by chunk and hand them to the shard writer."""
        dataset, sinks, resolution = self.dataset, self.sinks, self.grid.resolution
        size = dataset.tiling.size
        chunk = max(1, CHUNK_PIXELS // (size * size))
        for start in range(0, len(kept.xs), chunk):
            part = slice(start, start + chunk)
            pixels = read_tiles(
                self.source, resolution, kept.xs[part], kept.ys[part], dataset.tiling, dataset.threads
            )
            if split == "train":
                sinks.histogram.add(pixels)
            names = np.array(dataset.classes, dtype=object)[kept.labels[part]]
            meta = pd.DataFrame(
                {
                    "image": self.source.name,
                    "group": row.group,
                    "level": resolution.level,
                    "x": kept.xs[part],
                    "y": kept.ys[part],
                    "tissue_fraction": np.round(kept.fractions[part], 4),
                    "label": names,
                }
            )
            sinks.writer.add(split, pixels, targets(kept.labels[part], len(dataset.classes)), meta)
            for label in names:
                sinks.tally.kept[(split, label)] += 1


def targets(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """float32 targets: binary (n, 1) with 1 for the second class; multi-class one-hot (n, K)."""
    if n_classes == 2:
        return labels.astype(np.float32)[:, None]
    return np.eye(n_classes, dtype=np.float32)[labels]
