"""The large pyramidal TIFF the slide benchmarks share (benchmark only, never the workflow's).

``build_slide(path, copies, crop)``: the shipped Aperio slide (``resources/images/
cmu_small_region.svs``, 2220 x 2967 px at 0.499 µm/px, real H&E skin) read whole at level 0,
optionally cropped to ``crop`` x ``crop`` px, repeated ``copies`` (across, down) and written as
a tiled pyramidal TIFF (256 px tiles, deflate, levels 1, 1/2, 1/4, 1/8, its µm/px in the
resolution tags) that OpenSlide opens as a generic TIFF. Returns its width and height.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SLIDE = ROOT / "resources/images/cmu_small_region.svs"


def build_slide(path: Path, copies: tuple[int, int], crop: int | None) -> tuple[int, int]:
    """The shipped slide's level 0 repeated ``copies`` (across, down) as a pyramidal TIFF."""
    import openslide
    import tifffile

    with openslide.OpenSlide(str(SLIDE)) as slide:
        pixels = np.asarray(slide.read_region((0, 0), 0, slide.dimensions).convert("RGB"))
        mpp = float(slide.properties[openslide.PROPERTY_NAME_MPP_X])
    if crop is not None:
        pixels = pixels[1000 : 1000 + crop, 600 : 600 + crop]
    mosaic = np.tile(pixels, (copies[1], copies[0], 1))
    with tifffile.TiffWriter(path, bigtiff=True) as tiff:
        for level in range(4):
            reduced = mosaic[:: 2**level, :: 2**level] if level else mosaic
            # The full-resolution level carries the pixel size (pixels per centimetre).
            tiff.write(
                np.ascontiguousarray(reduced),
                tile=(256, 256),
                photometric="rgb",
                compression="zlib",
                subfiletype=1 if level else 0,
                resolution=None if level else (1e4 / mpp, 1e4 / mpp),
                resolutionunit=None if level else "CENTIMETER",
            )
    return mosaic.shape[1], mosaic.shape[0]
