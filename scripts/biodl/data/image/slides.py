"""Whole-slide images read region by region through OpenSlide, never loaded whole.

Contract:
- ``SlideSource(path)`` is an ``ImageSource`` (``biodl.data.image.sources``) for any format
  OpenSlide opens (``.svs``, ``.ndpi``, ``.mrxs``, ``.scn``, tiled or pyramidal ``.tif``/``.tiff``
  ...): its pyramid levels, µm/px from OpenSlide's properties, 3 channels. Memory stays bounded
  by the regions asked for: a thumbnail is built strip by strip from the best level, or taken
  from the slide's embedded thumbnail when that covers the scanned area at least twice as
  finely (it saves decoding a whole level of a single-level slide).
- Alpha (OpenSlide marks unscanned areas transparent) is composited onto ``fill``.
- A file OpenSlide cannot open or a region it cannot read raises ``InputError`` naming the
  file (and the level and region).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openslide
from PIL import Image

from biodl.core.errors import InputError
from biodl.data.image.sources import ImageSource, Level, reduced_size

# Pixels per strip while building a thumbnail from a slide (bounds the memory it needs).
STRIP_PIXELS = 1 << 24


class SlideSource(ImageSource):
    """A whole-slide image read through OpenSlide."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        try:
            self._slide = openslide.OpenSlide(str(path))
        except openslide.OpenSlideError as error:
            raise InputError(path, None, f"cannot open the slide ({error})") from error
        self.levels = tuple(
            Level(w, h, float(ds))
            for (w, h), ds in zip(self._slide.level_dimensions, self._slide.level_downsamples, strict=True)
        )
        self.mpp = mean_mpp(
            self._slide.properties.get(openslide.PROPERTY_NAME_MPP_X),
            self._slide.properties.get(openslide.PROPERTY_NAME_MPP_Y),
        )
        self.channels = 3

    def read_region(self, x: int, y: int, level: int, width: int, height: int, fill: int) -> np.ndarray:
        return _composite(np.asarray(self._read_rgba(x, y, level, width, height)), fill)

    def _read_rgba(self, x: int, y: int, level: int, width: int, height: int) -> Image.Image:
        try:
            return self._slide.read_region((x, y), level, (width, height))
        except openslide.OpenSlideError as error:
            raise InputError(
                self.path,
                f"level {level} region x={x} y={y} {width}x{height}",
                f"cannot read the slide ({error})",
            ) from error

    def thumbnail(self, factor: int) -> np.ndarray:
        """The slide's own thumbnail when it will do, else the best level read strip by strip."""
        embedded = self._embedded_thumbnail(factor)
        if embedded is not None:
            return embedded
        level = self._slide.get_best_level_for_downsample(factor)
        level_width, level_height = self.levels[level].width, self.levels[level].height
        per_pixel = factor / self.levels[level].downsample  # level pixels per thumbnail pixel
        width, height = reduced_size(self.size, factor)
        rows_per_strip = max(1, int(STRIP_PIXELS / (level_width * per_pixel)))
        strips = []
        for top in range(0, height, rows_per_strip):
            bottom = min(height, top + rows_per_strip)
            first, last = round(top * per_pixel), min(level_height, round(bottom * per_pixel))
            y = round(first * self.levels[level].downsample)
            # Shrunk as a Pillow image before any copy into numpy: the full-size strip is the costly part.
            strip = self._read_rgba(0, y, level, level_width, max(1, last - first))
            strips.append(
                _composite(np.asarray(strip.resize((width, bottom - top), Image.Resampling.BOX)), 255)
            )
        return np.concatenate(strips)

    def _embedded_thumbnail(self, factor: int) -> np.ndarray | None:
        """The thumbnail stored in the file (Aperio and others), shrunk to ``factor``, if it shows
        the scanned area (same aspect ratio as level 0, within 1%) at least twice as finely, so
        averaging outweighs its compression artefacts."""
        try:
            stored = self._slide.associated_images.get("thumbnail")
        except openslide.OpenSlideError:
            return None
        if stored is None:
            return None
        width, height = self.size
        across, down = width / stored.width, height / stored.height
        if abs(across - down) > 0.01 * across or 2 * across > factor:
            return None
        shrunk = stored.convert("RGBA").resize(reduced_size(self.size, factor), Image.Resampling.BOX)
        return _composite(np.asarray(shrunk), 255)

    def close(self) -> None:
        self._slide.close()


def _composite(rgba: np.ndarray, fill: int) -> np.ndarray:
    """RGBA (OpenSlide: transparent = not scanned) → RGB over a ``fill`` background."""
    alpha = rgba[..., 3:]
    if alpha.min() == 255:
        return np.ascontiguousarray(rgba[..., :3])
    blended = rgba[..., :3] * (alpha / 255.0) + fill * (1 - alpha / 255.0)
    return np.rint(blended).astype(np.uint8)


def mean_mpp(*values: object) -> float | None:
    numbers = []
    for value in values:
        try:
            numbers.append(float(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
    return float(np.mean(numbers)) if numbers and all(n > 0 for n in numbers) else None
