"""One image behind a region-reading interface, whatever its format, and where its tiles are read.

Contract:
- ``ImageSource`` is one image: a slide (``biodl.data.image.slides``), a 2-D image or one slice of a
  volume (``biodl.data.image.arrays``); ``biodl.data.image.formats.open_sources`` opens them.
  It has pyramid ``levels`` (level 0 is full resolution), ``mpp`` (µm/px at level 0, when
  known), ``channels`` (1 grey or 3 RGB, always ``uint8``), a ``name`` used in messages and
  metadata, and ``slice_index`` for a volume's slice.
- ``ImageSource.read_region(x, y, level, width, height, fill)`` returns ``uint8`` pixels
  ``(height, width, channels)`` of pyramid ``level``, with ``(x, y)`` the top-left corner in
  level-0 pixels (OpenSlide's convention); pixels outside the image take the value ``fill``.
  ``thumbnail(factor)`` returns the whole image reduced by the integer ``factor`` (box filter),
  ``reduced_size(size, factor)`` pixels large.
- ``choose_resolution(source, level, mpp)`` picks the pyramid level (and any resampling) for
  a pyramid level or a target µm/px; a target µm/px on an image without it is an error, as is
  a level the image does not have. ``read_tile`` reads one square tile there.
- ``resize`` shrinks or enlarges ``(h, w, C)`` uint8 pixels with Pillow (averaging when shrinking).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from biodl.core.errors import InputError

log = logging.getLogger(__name__)

# What images can be, for messages about a file that is none of them.
READABLE = (
    "a whole-slide image OpenSlide opens (.svs, .ndpi, .mrxs, .scn, pyramidal TIFF ...), a PNG, JPEG or "
    "TIFF image, or a NIfTI volume (.nii, .nii.gz)"
)
# A level whose µm/px is within this relative distance of the target is used without resampling.
MPP_TOLERANCE = 0.02


@dataclass(frozen=True)
class Level:
    width: int
    height: int
    downsample: float


@dataclass(frozen=True)
class Resolution:
    """Where tiles are read: pyramid ``level``, resampled by ``scale`` level pixels per output pixel."""

    level: int
    level_downsample: float
    scale: float
    mpp: float | None  # µm per output pixel, when known

    @property
    def downsample(self) -> float:
        """Level-0 pixels per output pixel."""
        return self.level_downsample * self.scale


class ImageSource:
    """One image: its pyramid levels, resolution and channels, read by region."""

    path: Path
    name: str
    levels: tuple[Level, ...]
    mpp: float | None
    channels: int
    slice_index: int | None = None

    @property
    def size(self) -> tuple[int, int]:
        """Width and height at level 0."""
        return self.levels[0].width, self.levels[0].height

    def read_region(self, x: int, y: int, level: int, width: int, height: int, fill: int) -> np.ndarray:
        raise NotImplementedError

    def thumbnail(self, factor: int) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        """Release the file; the default source holds none."""


def resize(
    pixels: np.ndarray, width: int, height: int, resample: Image.Resampling = Image.Resampling.BILINEAR
) -> np.ndarray:
    """Resize ``(h, w, C)`` uint8 pixels; Pillow's filters average over the source when shrinking."""
    if pixels.shape[1] == width and pixels.shape[0] == height:
        return pixels
    if pixels.shape[2] == 1:
        return np.asarray(Image.fromarray(pixels[..., 0]).resize((width, height), resample))[..., None]
    return np.asarray(Image.fromarray(pixels).resize((width, height), resample))


def reduced_size(size: tuple[int, int], factor: int) -> tuple[int, int]:
    """Width and height of an image of ``size`` reduced by ``factor`` (at least one pixel each)."""
    return max(1, math.ceil(size[0] / factor)), max(1, math.ceil(size[1] / factor))


def choose_resolution(source: ImageSource, level: int | None, mpp: float | None) -> Resolution:
    """The level to read (and the resampling) for a pyramid ``level`` or a target ``mpp``."""
    if level is not None:
        if level >= len(source.levels):
            raise InputError(
                source.name,
                None,
                f"level {level} requested but the image has {len(source.levels)} "
                f"level(s) (0-{len(source.levels) - 1})",
            )
        downsample = source.levels[level].downsample
        return Resolution(level, downsample, 1.0, source.mpp * downsample if source.mpp else None)
    if mpp is None:
        return Resolution(0, 1.0, 1.0, source.mpp)
    if source.mpp is None:
        raise InputError(
            source.name,
            None,
            f"has no µm/px metadata, so tile.mpp={mpp} cannot be honoured; set tile.level instead",
        )
    wanted = mpp / source.mpp  # level-0 pixels per output pixel
    fine_enough = [i for i, lv in enumerate(source.levels) if lv.downsample <= wanted * (1 + MPP_TOLERANCE)]
    chosen = max(fine_enough, key=lambda i: source.levels[i].downsample) if fine_enough else 0
    scale = wanted / source.levels[chosen].downsample
    if abs(scale - 1) <= MPP_TOLERANCE:
        scale = 1.0
    elif scale < 1:
        log.warning(
            "%s: %.3g µm/px is finer than the image's %.3g µm/px; tiles are upsampled",
            source.name,
            mpp,
            source.mpp,
        )
    return Resolution(chosen, source.levels[chosen].downsample, scale, mpp)


def read_tile(
    source: ImageSource, resolution: Resolution, x: int, y: int, size: int, fill: int
) -> np.ndarray:
    """One ``size``×``size`` tile whose top-left corner is at level-0 ``(x, y)``."""
    side = max(1, round(size * resolution.scale))
    pixels = source.read_region(x, y, resolution.level, side, side, fill)
    return resize(pixels, size, size)
