"""Opening an image or mask file of any supported format: the reader is chosen by the file.

Contract:
- ``open_sources(path, axis, percentiles, slices)`` yields one ``ImageSource``
  (``biodl.data.image.sources``) per image in ``path``: one for a slide or a 2-D image, one per
  selected slice (``slices``, default all) for a NIfTI volume cut along ``axis``.
  - Formats OpenSlide opens (``.svs``, ``.ndpi``, ``.mrxs``, ``.scn``, tiled or pyramidal
    ``.tif``/``.tiff`` ...) are read region by region (``biodl.data.image.slides``).
  - Other TIFFs (tifffile), PNG, JPEG and other Pillow formats, and NIfTI volumes (nibabel) are
    loaded whole, one file at a time (``biodl.data.image.arrays``), their intensities scaled to
    0-255 between ``percentiles`` when they are not 8-bit.
  The source is closed when the generator moves on or is closed.
- ``open_mask(path, axis)`` reads a label mask (single-channel integer PNG/TIFF, or a NIfTI
  volume cut like its image) whole: masks are meant to be stored downsampled. Its values must
  be integers; ``LabelImage.plane(slice_index)`` is the mask of one image or slice.
- Unreadable, corrupt or unsupported files raise ``InputError`` naming the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openslide

from biodl.core.errors import InputError
from biodl.data.image.arrays import (
    AXES,
    ArraySource,
    as_channels,
    load_volume,
    read_pillow,
    read_tiff,
    to_uint8,
    volume_plane,
    volume_slices,
)
from biodl.data.image.slides import SlideSource
from biodl.data.image.sources import ImageSource

NIFTI_SUFFIXES = (".nii", ".nii.gz")
TIFF_SUFFIXES = (".tif", ".tiff")


def is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def open_sources(
    path: Path,
    axis: str = "axial",
    percentiles: tuple[float, float] = (0.5, 99.5),
    slices: set[int] | None = None,
) -> Iterator[ImageSource]:
    """The images in ``path`` (see the module contract); ``slices`` limits a volume's slices."""
    if is_nifti(path):
        yield from volume_slices(path, axis, percentiles, slices)
        return
    if _openslide_format(path):
        source: ImageSource = SlideSource(path)
    elif path.suffix.lower() in TIFF_SUFFIXES:
        pixels, mpp = read_tiff(path)
        source = ArraySource(path, str(path), as_channels(to_uint8(pixels, percentiles, path), path), mpp)
    else:
        source = ArraySource(
            path, str(path), as_channels(to_uint8(read_pillow(path), percentiles, path), path), None
        )
    try:
        yield source
    finally:
        source.close()


def _openslide_format(path: Path) -> str | None:
    try:
        return openslide.OpenSlide.detect_format(str(path))
    except openslide.OpenSlideError:
        return None


@dataclass(frozen=True)
class LabelImage:
    """A label mask: a 2-D array, or a RAS+ volume cut along ``axis`` like its image."""

    path: Path
    values: np.ndarray
    axis: int | None

    def plane(self, slice_index: int | None) -> np.ndarray:
        if self.axis is None:
            return self.values
        count = self.values.shape[self.axis]
        if slice_index is None or slice_index >= count:
            raise InputError(
                self.path,
                None,
                f"the mask volume has {count} slices; slice {slice_index} of its image has none",
            )
        return volume_plane(self.values, self.axis, slice_index)


def open_mask(path: Path, axis: str = "axial") -> LabelImage:
    """Read a label mask whole; its values must be integers."""
    if is_nifti(path):
        values, _ = load_volume(path)
        axis_index: int | None = AXES[axis]
    else:
        values = read_tiff(path)[0] if path.suffix.lower() in TIFF_SUFFIXES else read_pillow(path, mask=True)
        axis_index = None
        if values.ndim != 2:
            raise InputError(
                path, None, f"a mask must have one channel of integer labels, found shape {values.shape}"
            )
    if np.issubdtype(values.dtype, np.floating):
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise InputError(path, None, "a mask must hold integer labels, found fractional values")
        values = values.astype(np.int64)
    elif not np.issubdtype(values.dtype, np.integer) and values.dtype != bool:
        raise InputError(path, None, f"a mask must hold integer labels, found {values.dtype}")
    return LabelImage(path, values, axis_index)
