"""Tiny generated images for the image tests: a pyramidal TIFF slide, PNGs, NIfTI volumes; and
``only_source``, the one source of a 2-D image file.

The synthetic slide is white glass with two pink "tissue" rectangles; its label mask marks the
left rectangle class 1 and the right one class 2, so every tile's expected tissue and label
follow from the coordinates.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import tifffile
from PIL import Image

from biodl.data.image.formats import open_sources
from biodl.data.image.sources import ImageSource

PINK = (200, 110, 170)
SLIDE_SIZE = (384, 256)  # width, height at level 0
LEFT_TISSUE = (32, 32, 160, 224)  # x0, y0, x1, y1
RIGHT_TISSUE = (224, 32, 352, 224)
MPP = 0.5


def slide_pixels(width: int = SLIDE_SIZE[0], height: int = SLIDE_SIZE[1], seed: int = 0) -> np.ndarray:
    """White glass with two noisy pink rectangles (the two tissue pieces)."""
    rng = np.random.default_rng(seed)
    pixels = np.full((height, width, 3), 245, dtype=np.uint8)
    for x0, y0, x1, y1 in (LEFT_TISSUE, RIGHT_TISSUE):
        if x1 <= width and y1 <= height:
            noise = rng.integers(-20, 21, size=(y1 - y0, x1 - x0, 3))
            pixels[y0:y1, x0:x1] = np.clip(np.array(PINK) + noise, 0, 255)
    return pixels


def write_pyramid(path: Path, pixels: np.ndarray, levels: int = 2, mpp: float | None = MPP) -> Path:
    """A tiled pyramidal TIFF that OpenSlide opens (generic-tiff): level k is 2**k times smaller."""
    resolution = {"resolution": (1e4 / mpp, 1e4 / mpp), "resolutionunit": "CENTIMETER"} if mpp else {}
    with tifffile.TiffWriter(path) as tiff:
        for level in range(levels):
            step = 2**level
            reduced = pixels[::step, ::step] if step > 1 else pixels
            tiff.write(
                np.ascontiguousarray(reduced),
                tile=(32, 32),
                photometric="rgb",
                compression="zlib",
                subfiletype=1 if level else 0,
                **(resolution if level == 0 else {}),
            )
    return path


def slide_mask(downsample: int = 4) -> np.ndarray:
    """Labels of the synthetic slide: 0 glass, 1 left tissue, 2 right tissue, ``downsample`` times smaller."""
    width, height = SLIDE_SIZE
    mask = np.zeros((height // downsample, width // downsample), dtype=np.uint8)
    for label, (x0, y0, x1, y1) in ((1, LEFT_TISSUE), (2, RIGHT_TISSUE)):
        mask[y0 // downsample : y1 // downsample, x0 // downsample : x1 // downsample] = label
    return mask


def write_png(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels).save(path)
    return path


def brain_like_volume(shape: tuple[int, int, int] = (12, 40, 48)) -> tuple[np.ndarray, np.ndarray]:
    """A float volume with a bright box on a dark background, and a label volume: 1 below mid-z, 2 above."""
    volume = np.zeros(shape, dtype=np.float32)
    labels = np.zeros(shape, dtype=np.int16)
    volume[:, 4:36, 4:44] = 800.0
    labels[:, 4:36, 4:24] = 1
    labels[:, 4:36, 24:44] = 2
    return volume, labels


def write_nifti(path: Path, values: np.ndarray, zooms: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> Path:
    nib.save(nib.Nifti1Image(values, np.diag([*zooms, 1.0])), path)
    return path


def write_sheet(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    lines = ["\t".join(header)] + ["\t".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def only_source(path: Path, **kwargs: object) -> ImageSource:
    """The single source of a 2-D image file (an array source holds no open file)."""
    sources = list(open_sources(path, **kwargs))  # type: ignore[arg-type]
    assert len(sources) == 1
    return sources[0]
