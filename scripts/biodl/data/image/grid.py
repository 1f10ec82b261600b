"""The tiling core of one image: where its tiles lie, how much tissue each holds, their pixels.

Contract:
- ``Tiling.from_settings(spec)`` resolves an image dataset's settings
  (``biodl.config.datasets.ImageDataset``) once: the stride (default: the tile size, no
  overlap), whether edge tiles are padded, the fill value outside an image (the background's).
- ``image_grid(source, tiling)`` picks the resolution (``tile.level`` or ``tile.mpp``,
  ``biodl.data.image.sources.choose_resolution``), the tile footprint and step in level-0 pixels,
  and finds tissue on a thumbnail with ``tissue.resolution`` pixels along a tile's side (its
  longest side at most ``MAX_THUMBNAIL_SIDE``; ``biodl.data.image.tiling.tissue_mask``). A tile
  larger than the image raises ``InputError`` naming the image.
- ``ImageGrid.tiles(region, pad_right, pad_bottom)`` gives the level-0 origins of a region's
  tiles, row by row, and each tile's tissue fraction; ``ImageGrid.region_tiles(region, size,
  pad)`` pads (``tile.edge: pad``) only where the region reaches the image's right or bottom
  edge, as preparation and slide mapping both tile a sheet row.
- ``row_region(source, region, footprint, sheet, where)`` is the rectangle a sheet row selects
  (its ``region``, or the whole image): a region extending past the image, or smaller than a
  tile, raises ``InputError(sheet, where, ...)``.
- ``read_tiles`` reads tiles at given origins as uint8 ``(n, size, size, channels)``, on
  ``threads`` threads (the same pixels whatever the number).
The benchmark ``benchmarks/tile_vs_histolab.py`` times these on their own.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from os import PathLike

import numpy as np

from biodl.config.datasets import ImageDataset
from biodl.core.errors import InputError
from biodl.data.image.sample_sheet import Region
from biodl.data.image.sources import ImageSource, Resolution, choose_resolution, read_tile
from biodl.data.image.tiling import box_fractions, boxes, tile_grid, tissue_mask

# Longest thumbnail side used for tissue detection, whatever the tile size (bounds its memory).
MAX_THUMBNAIL_SIDE = 8192


@dataclass(frozen=True)
class Tiling:
    """The settings of one dataset's tiling, with the derived values resolved."""

    size: int
    stride: int
    level: int | None
    mpp: float | None
    pad: bool
    background: str
    tissue_threshold: float
    tissue_resolution: int
    min_coverage: float
    min_labelled: float
    mask_downsample: float | None
    axis: str
    percentiles: tuple[float, float]

    @classmethod
    def from_settings(cls, spec: ImageDataset) -> Tiling:
        tile, tissue, labels = spec.tile, spec.tissue, spec.labels
        return cls(
            size=tile.size,
            stride=tile.stride or tile.size,
            level=tile.level,
            mpp=tile.mpp,
            pad=tile.edge == "pad",
            background=tissue.background,
            tissue_threshold=tissue.threshold,
            tissue_resolution=tissue.resolution,
            min_coverage=labels.min_coverage,
            min_labelled=labels.min_labelled,
            mask_downsample=labels.mask_downsample,
            axis=spec.nifti_axis,
            percentiles=spec.intensity_percentiles,
        )

    @property
    def fill(self) -> int:
        """Pixel value outside an image: the background's."""
        return 255 if self.background == "light" else 0


@dataclass(frozen=True)
class ImageGrid:
    """One image made ready for tiling: where its tiles are read, and where its tissue is."""

    resolution: Resolution
    footprint: float  # level-0 pixels along a tile's side
    step: float  # level-0 pixels between neighbouring tiles
    factor: int  # level-0 pixels per thumbnail pixel
    thumbnail: np.ndarray
    tissue: np.ndarray  # on the thumbnail

    def tiles(
        self, region: tuple[int, int, int, int], pad_right: bool, pad_bottom: bool
    ) -> tuple[np.ndarray, ...]:
        """Origins (level-0 x, y) of the region's grid, and each tile's tissue fraction."""
        xs, ys = tile_grid(region, self.footprint, self.step, pad_right, pad_bottom)
        return xs, ys, box_fractions(self.tissue, boxes(xs, ys, self.footprint, self.factor))

    def region_tiles(
        self, region: tuple[int, int, int, int], size: tuple[int, int], pad: bool
    ) -> tuple[np.ndarray, ...]:
        """``tiles`` of a region of an image of ``size`` (level-0 width, height): edge tiles are
        padded only along the image's own right and bottom edges, never inside it."""
        x, y, width, height = region
        return self.tiles(
            region, pad_right=pad and x + width >= size[0], pad_bottom=pad and y + height >= size[1]
        )


def row_region(
    source: ImageSource, region: Region | None, footprint: float, sheet: str | PathLike[str], where: str
) -> tuple[int, int, int, int]:
    """The rectangle (level-0 x, y, width, height) a sheet row selects, checked against the image."""
    width, height = source.size
    if region is None:
        return 0, 0, width, height  # image_grid refuses a tile larger than the image
    r = region
    if r.x + r.width > width or r.y + r.height > height:
        raise InputError(
            sheet,
            where,
            f"region {r.x},{r.y},{r.width},{r.height} extends past the image "
            f"{source.name} ({width}x{height})",
        )
    if footprint > min(r.width, r.height):
        raise InputError(
            sheet,
            where,
            f"a tile covers {footprint:.0f}x{footprint:.0f} level-0 px: larger "
            f"than the region {r.width}x{r.height} of {source.name}",
        )
    return r.x, r.y, r.width, r.height


def image_grid(source: ImageSource, tiling: Tiling) -> ImageGrid:
    """Resolution, tile footprint and tissue mask of one image; a tile larger than the image is an error."""
    resolution = choose_resolution(source, tiling.level, tiling.mpp)
    footprint = tiling.size * resolution.downsample
    width, height = source.size
    if footprint > min(width, height):
        raise InputError(
            source.name,
            None,
            f"a tile ({tiling.size} px at level {resolution.level}, scale "
            f"{resolution.scale:.3g}) covers {footprint:.0f}x{footprint:.0f} level-0 px: "
            f"larger than the image ({width}x{height})",
        )
    # The thumbnail has tissue.resolution pixels along a tile's side (bounded in size).
    factor = max(
        1,
        math.floor(footprint / tiling.tissue_resolution),
        math.ceil(max(width, height) / MAX_THUMBNAIL_SIDE),
    )
    thumbnail = source.thumbnail(factor)
    tissue = tissue_mask(thumbnail, tiling.background, footprint / factor)
    return ImageGrid(resolution, footprint, tiling.stride * resolution.downsample, factor, thumbnail, tissue)


def read_tiles(
    source: ImageSource, resolution: Resolution, xs: np.ndarray, ys: np.ndarray, tiling: Tiling, threads: int
) -> np.ndarray:
    """The tiles at level-0 origins ``xs``, ``ys``, as uint8 ``(n, size, size, channels)``."""
    out = np.empty((len(xs), tiling.size, tiling.size, source.channels), dtype=np.uint8)

    def read(i: int) -> None:
        out[i] = read_tile(source, resolution, int(xs[i]), int(ys[i]), tiling.size, tiling.fill)

    if threads > 1 and len(xs) > 1:
        # OpenSlide and Pillow release the GIL while decoding, so region reads overlap.
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(read, range(len(xs))))
    else:
        for i in range(len(xs)):
            read(i)
    return out
