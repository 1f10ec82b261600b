"""Images behind one region-reading interface: whole-slide images, 2-D images, slices of volumes.

Contract:
- ``open_sources(path, axis, percentiles, slices)`` yields one :class:`ImageSource` per image in
  ``path``: one for a slide or a 2-D image, one per selected slice for a NIfTI volume.
  - Formats OpenSlide opens (``.svs``, ``.ndpi``, ``.mrxs``, ``.scn``, tiled or pyramidal
    ``.tif``/``.tiff`` ...) are read region by region from their pyramid and never loaded whole;
    memory stays bounded by the regions asked for (thumbnails are built strip by strip).
  - Other TIFFs (tifffile), PNG, JPEG and other Pillow formats, and NIfTI volumes (nibabel) are
    loaded whole, one file at a time.
  - A volume is reoriented to RAS+ (``nibabel.as_closest_canonical``) and cut along ``axis``
    (``sagittal`` = x, ``coronal`` = y, ``axial`` = z of that grid). A slice is shown as doctors
    read it: rows run from superior (or anterior, for axial slices) at the top, columns along
    the first remaining axis. Its name is ``<path>#<x|y|z>=<index>``.
- ``ImageSource.read_region(x, y, level, width, height, fill)`` returns ``uint8`` pixels
  ``(height, width, channels)`` of pyramid ``level``, with ``(x, y)`` the top-left corner in
  level-0 pixels (OpenSlide's convention); pixels outside the image take the value ``fill``.
  ``thumbnail(factor)`` returns the whole image reduced by the integer ``factor`` (box filter);
  a slide's embedded thumbnail is used when it covers the scanned area at least twice as
  finely (it saves decoding a whole level of a single-level slide).
- Channels: 1 (grey) or 3 (RGB); alpha is composited onto ``fill`` (OpenSlide marks unscanned
  areas transparent). Intensities that are not ``uint8`` (16-bit TIFF, NIfTI) are scaled to
  0-255 between the image's ``percentiles`` (a whole volume at once, so slices stay comparable).
- ``choose_resolution(source, level, mpp)`` picks the pyramid level (and any resampling) for
  a pyramid level or a target µm/px; µm/px comes from OpenSlide properties, TIFF resolution
  tags or NIfTI voxel sizes, and a target µm/px on an image without it is an error.
- ``open_mask(path, axis)`` reads a label mask (single-channel integer PNG/TIFF, or a NIfTI
  volume cut like its image) whole: masks are meant to be stored downsampled.
- Unreadable, corrupt or unsupported files raise ``InputError`` naming the file.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import openslide
import tifffile
from PIL import Image

from biodl.core.errors import InputError

log = logging.getLogger(__name__)

AXES = {"sagittal": 0, "coronal": 1, "axial": 2}
AXIS_LETTERS = "xyz"
NIFTI_SUFFIXES = (".nii", ".nii.gz")
TIFF_SUFFIXES = (".tif", ".tiff")
# What images can be, for messages about a file that is none of them.
READABLE = (
    "a whole-slide image OpenSlide opens (.svs, .ndpi, .mrxs, .scn, pyramidal TIFF ...), a PNG, JPEG or "
    "TIFF image, or a NIfTI volume (.nii, .nii.gz)"
)
# A level whose µm/px is within this relative distance of the target is used without resampling.
MPP_TOLERANCE = 0.02
# Pixels per strip while building a thumbnail from a slide (bounds the memory it needs).
STRIP_PIXELS = 1 << 24


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
            for (w, h), ds in zip(self._slide.level_dimensions, self._slide.level_downsamples, strict=False)
        )
        self.mpp = _mean_mpp(
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
        width, height = _reduced(self.size, factor)
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
        return _composite(
            np.asarray(stored.convert("RGBA").resize(_reduced(self.size, factor), Image.Resampling.BOX)), 255
        )

    def close(self) -> None:
        self._slide.close()


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
        return resize(self.pixels, *_reduced(self.size, factor), Image.Resampling.BOX)


def resize(
    pixels: np.ndarray, width: int, height: int, resample: Image.Resampling = Image.Resampling.BILINEAR
) -> np.ndarray:
    """Resize ``(h, w, C)`` uint8 pixels; Pillow's filters average over the source when shrinking."""
    if pixels.shape[1] == width and pixels.shape[0] == height:
        return pixels
    if pixels.shape[2] == 1:
        return np.asarray(Image.fromarray(pixels[..., 0]).resize((width, height), resample))[..., None]
    return np.asarray(Image.fromarray(pixels).resize((width, height), resample))


def _reduced(size: tuple[int, int], factor: int) -> tuple[int, int]:
    return max(1, math.ceil(size[0] / factor)), max(1, math.ceil(size[1] / factor))


def _composite(rgba: np.ndarray, fill: int) -> np.ndarray:
    """RGBA (OpenSlide: transparent = not scanned) → RGB over a ``fill`` background."""
    alpha = rgba[..., 3:]
    if alpha.min() == 255:
        return np.ascontiguousarray(rgba[..., :3])
    blended = rgba[..., :3] * (alpha / 255.0) + fill * (1 - alpha / 255.0)
    return np.rint(blended).astype(np.uint8)


def _mean_mpp(*values: object) -> float | None:
    numbers = []
    for value in values:
        try:
            numbers.append(float(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
    return float(np.mean(numbers)) if numbers and all(n > 0 for n in numbers) else None


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


def _as_channels(pixels: np.ndarray, path: Path) -> np.ndarray:
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
        yield from _volume_slices(path, axis, percentiles, slices)
        return
    if _openslide_format(path):
        source: ImageSource = SlideSource(path)
    elif path.suffix.lower() in TIFF_SUFFIXES:
        pixels, mpp = _read_tiff(path)
        source = ArraySource(path, str(path), _as_channels(to_uint8(pixels, percentiles, path), path), mpp)
    else:
        source = ArraySource(
            path, str(path), _as_channels(to_uint8(_read_pillow(path), percentiles, path), path), None
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


def _read_pillow(path: Path, mask: bool = False) -> np.ndarray:
    try:
        with Image.open(path) as image:
            image.load()
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


def _read_tiff(path: Path) -> tuple[np.ndarray, float | None]:
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
            mpp = _tiff_mpp(series.pages[0])
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


def _load_volume(path: Path) -> tuple[np.ndarray, tuple[float, ...]]:
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


def _plane(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    """One slice, rows from the high end of the last remaining axis (superior/anterior) down."""
    return np.take(volume, index, axis=axis).T[::-1]


def _volume_slices(
    path: Path, axis: str, percentiles: tuple[float, float], slices: set[int] | None
) -> Iterator[ImageSource]:
    values, zooms = _load_volume(path)
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
            path, name, np.ascontiguousarray(_plane(volume, axis_index, index))[..., None], mpp, index
        )


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
        return _plane(self.values, self.axis, slice_index)


def open_mask(path: Path, axis: str = "axial") -> LabelImage:
    """Read a label mask whole; its values must be integers."""
    if is_nifti(path):
        values, _ = _load_volume(path)
        axis_index: int | None = AXES[axis]
    else:
        values = (
            _read_tiff(path)[0] if path.suffix.lower() in TIFF_SUFFIXES else _read_pillow(path, mask=True)
        )
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
