"""Images loaded whole: 2-D images (TIFF, PNG, JPEG, other Pillow formats) and slices of NIfTI volumes.

Contract:
- ``ArraySource(path, name, pixels, mpp, slice_index)`` is a one-level ``ImageSource``
  (``biodl.data.image.sources``) over pixels held in memory.
- ``read_tiff`` reads level 0 of a TIFF's first image series with µm/px from its resolution
  tags; ``read_pillow`` reads any other image (palette and CMYK images become RGB, and a
  mask keeps its values). Channels become 1 (grey) or 3 (RGB): an alpha channel is dropped.
- ``to_uint8`` leaves ``uint8`` intensities as they are and scales others (16-bit TIFF, NIfTI)
  to 0-255 between the image's ``percentiles`` (a whole volume at once, so its slices stay
  comparable).
- ``load_volume`` reads a NIfTI volume reoriented to RAS+ (``nibabel.as_closest_canonical``)
  with its voxel sizes; ``volume_slices`` cuts it along ``axis`` (``sagittal`` = x,
  ``coronal`` = y, ``axial`` = z of that grid). A slice is shown as doctors read it
  (``volume_plane``): rows run from superior (or anterior, for axial slices) at the top,
  columns along the first remaining axis. Its name is ``<path>#<x|y|z>=<index>``, its µm/px
  the mean in-plane voxel size.
- Unreadable, corrupt or unsupported files raise ``InputError`` naming the file.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator
from pathlib import Path

import nibabel as nib
import numpy as np
import tifffile
from PIL import Image

from biodl.core.errors import InputError
from biodl.data.image.sources import READABLE, ImageSource, Level, reduced_size, resize

AXES = {"sagittal": 0, "coronal": 1, "axial": 2}
AXIS_LETTERS = "xyz"


class ArraySource(ImageSource):
    """An image held in memory (2-D images, slices of volumes): one level."""

    def __init__(
        self, path: Path, name: str, pixels: np.ndarray, mpp: float | None, slice_index: int | None = None
    ) -> None:
        self.path, self.name, self.mpp, self.slice_index = path, name, mpp, slice_index
        self.pixels = pixels
        self.levels = (Level(pixels.shape[1], pixels.shape[0], 1.0),)
        self.channels = pixels.shape[2]

    def read_region(self, x: int, y: int, level: int, width: int, height: int, fill: int) -> np.ndarray:
        out = np.full((height, width, self.channels), fill, dtype=np.uint8)
        image_width, image_height = self.size
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + width, image_width), min(y + height, image_height)
        if x1 > x0 and y1 > y0:
            out[y0 - y : y1 - y, x0 - x : x1 - x] = self.pixels[y0:y1, x0:x1]
        return out

    def thumbnail(self, factor: int) -> np.ndarray:
        return resize(self.pixels, *reduced_size(self.size, factor), Image.Resampling.BOX)


def to_uint8(values: np.ndarray, percentiles: tuple[float, float], path: Path) -> np.ndarray:
    """Intensities as uint8: unchanged when already uint8, else scaled between two percentiles."""
    if values.dtype == np.uint8:
        return values
    if values.dtype == bool:
        return values.astype(np.uint8) * 255
    finite = values[np.isfinite(values)] if np.issubdtype(values.dtype, np.floating) else values
    if finite.size == 0:
        raise InputError(path, None, "holds no finite intensity values")
    low, high = np.percentile(finite, percentiles)
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = (np.nan_to_num(values.astype(np.float32), nan=low) - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def as_channels(pixels: np.ndarray, path: Path) -> np.ndarray:
    """(h, w) or (h, w, C) → (h, w, 1 or 3); an alpha channel is dropped."""
    if pixels.ndim == 2:
        return pixels[..., None]
    if pixels.ndim == 3 and pixels.shape[2] in (1, 3):
        return pixels
    if pixels.ndim == 3 and pixels.shape[2] in (2, 4):
        return pixels[..., :-1]
    raise InputError(
        path, None, f"expected a 2-D grey or RGB image, found pixel array of shape {pixels.shape}"
    )


def read_pillow(path: Path, mask: bool = False) -> np.ndarray:
    try:
        with Image.open(path) as opened:
            opened.load()
            image: Image.Image = opened
            if not mask and image.mode in ("P", "CMYK", "YCbCr", "LAB", "HSV"):
                image = image.convert("RGB")
            elif image.mode == "1":
                image = image.convert("L")
            return np.asarray(image)
    except Image.DecompressionBombError as error:
        raise InputError(
            path, None, f"too large to load whole ({error}); store it as a tiled pyramidal TIFF"
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise InputError(
            path,
            None,
            f"not a readable image ({error}); expected a complete {'mask' if mask else 'image'} "
            f"file: {READABLE}",
        ) from error


def read_tiff(path: Path) -> tuple[np.ndarray, float | None]:
    """Level 0 of the first image series, with µm/px from the resolution tags when present."""
    # tifffile logs its own complaints about a damaged file; the InputError below is the one message.
    quiet = logging.getLogger("tifffile")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        with tifffile.TiffFile(path) as tiff:
            series = tiff.series[0]
            axes = series.axes
            pixels = series.asarray()
            mpp = _tiff_mpp(series.keyframe)
    except (tifffile.TiffFileError, OSError, ValueError, IndexError, RuntimeError, zlib.error) as error:
        # Truncated or corrupt tiles fail inside the decoder (zlib, or imagecodecs' RuntimeErrors).
        raise InputError(
            path,
            None,
            f"not a readable TIFF ({type(error).__name__}: {error}); expected a complete file: {READABLE}",
        ) from error
    finally:
        quiet.setLevel(level)
    if axes in ("CYX", "SYX") and pixels.shape[0] <= 4:
        pixels = np.moveaxis(pixels, 0, -1)
    elif axes not in ("YX", "YXS", "YXC"):
        raise InputError(
            path, None, f"expected a 2-D image (axes YX or YXS), found axes {axes} of shape {pixels.shape}"
        )
    return pixels, mpp


def _tiff_mpp(page: tifffile.TiffPage) -> float | None:
    microns_per_unit = {2: 25400.0, 3: 10000.0}.get(int(page.tags.valueof("ResolutionUnit", 1)))
    resolution = page.tags.valueof("XResolution")
    if microns_per_unit is None or not resolution or not resolution[0] or not resolution[1]:
        return None
    return microns_per_unit * resolution[1] / resolution[0]


def load_volume(path: Path) -> tuple[np.ndarray, tuple[float, ...]]:
    """The volume in RAS+ orientation and its voxel sizes (mm)."""
    try:
        image = nib.as_closest_canonical(nib.load(path))
        values = np.asanyarray(image.dataobj)
        zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    except Exception as error:  # nibabel raises many types (ImageFileError, EOFError, zlib.error ...)
        raise InputError(
            path,
            None,
            f"not a readable NIfTI volume ({type(error).__name__}: {error}); expected a "
            "complete NIfTI file (.nii or .nii.gz)",
        ) from error
    if values.ndim == 4 and values.shape[3] == 1:
        values = values[..., 0]
    if values.ndim != 3:
        raise InputError(path, None, f"expected a 3-D volume, found shape {values.shape}")
    return values, zooms


def volume_plane(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    """One slice, rows from the high end of the last remaining axis (superior/anterior) down."""
    return np.take(volume, index, axis=axis).T[::-1]


def volume_slices(
    path: Path, axis: str, percentiles: tuple[float, float], slices: set[int] | None
) -> Iterator[ImageSource]:
    values, zooms = load_volume(path)
    volume = to_uint8(values, percentiles, path)
    axis_index = AXES[axis]
    in_plane = [z for i, z in enumerate(zooms) if i != axis_index]
    mpp = 1000.0 * float(np.mean(in_plane))  # mm → µm
    count = volume.shape[axis_index]
    wanted = range(count) if slices is None else sorted(slices)
    beyond = [i for i in wanted if i >= count]
    if beyond:
        raise InputError(
            path,
            None,
            f"slice {beyond[0]} requested but the volume has {count} {axis} slices (0-{count - 1})",
        )
    for index in wanted:
        name = f"{path}#{AXIS_LETTERS[axis_index]}={index}"
        yield ArraySource(
            path, name, np.ascontiguousarray(volume_plane(volume, axis_index, index))[..., None], mpp, index
        )
