"""biodl.data.image.grid: tiling settings resolved once, an image's grid and tissue, tiles read."""

import dataclasses

import numpy as np
import pytest
from image_fixtures import LEFT_TISSUE, slide_pixels, write_pyramid

from biodl.config.datasets import ImageDataset, check_dataset
from biodl.core.errors import InputError
from biodl.data.image.formats import open_sources
from biodl.data.image.grid import Tiling, image_grid, read_tiles


def image_spec(**settings: object) -> ImageDataset:
    spec = check_dataset("d", {"modality": "image", "sample_sheet": "no_sheet.tsv", **settings})
    assert isinstance(spec, ImageDataset)
    return spec


@pytest.fixture
def slide(tmp_path):
    pixels = slide_pixels()
    source = next(generator := open_sources(write_pyramid(tmp_path / "slide.tif", pixels)))
    yield source, pixels
    generator.close()


def test_settings_resolve_the_stride_edge_and_fill():
    defaults = Tiling.from_settings(image_spec())
    assert defaults.size == 256 and defaults.stride == 256 and not defaults.pad
    assert defaults.background == "light" and defaults.fill == 255 and defaults.percentiles == (0.5, 99.5)
    tiling = Tiling.from_settings(
        image_spec(
            tile={"size": 32, "stride": 16, "edge": "pad", "mpp": 1.0},
            tissue={"background": "dark", "threshold": 0.3, "resolution": 8},
            labels={"min_coverage": 0.8, "min_labelled": 0.2, "mask_downsample": 4},
            nifti_axis="coronal",
        )
    )
    assert tiling == Tiling(32, 16, None, 1.0, True, "dark", 0.3, 8, 0.8, 0.2, 4, "coronal", (0.5, 99.5))
    assert tiling.fill == 0


def test_tiles_inside_tissue_are_all_tissue_and_glass_is_none(slide):
    source, _ = slide
    tiling = dataclasses.replace(Tiling.from_settings(image_spec(tile={"size": 32})), tissue_resolution=8)
    grid = image_grid(source, tiling)
    assert grid.resolution.level == 0 and grid.footprint == 32 and grid.step == 32 and grid.factor == 4
    xs, ys, fractions = grid.tiles((0, 0, *source.size), pad_right=False, pad_bottom=False)
    assert len(xs) == (384 // 32) * (256 // 32)
    x0, y0, x1, y1 = LEFT_TISSUE
    inside = (xs >= x0) & (xs + 32 <= x1) & (ys >= y0) & (ys + 32 <= y1)
    assert inside.any() and (fractions[inside] == 1).all()
    assert (fractions[(xs == 0) & (ys == 0)] == 0).all()  # the glass corner


def test_a_tile_larger_than_the_image_names_it(slide):
    source, _ = slide
    with pytest.raises(InputError) as caught:
        image_grid(source, Tiling.from_settings(image_spec(tile={"size": 300})))
    assert caught.value.source == source.name and "larger than the image (384x256)" in caught.value.problem


def test_tiles_read_on_threads_are_the_pixels_at_their_origins(slide):
    source, pixels = slide
    tiling = Tiling.from_settings(image_spec(tile={"size": 16}))
    grid = image_grid(source, tiling)
    xs, ys = np.array([0, 40, 370]), np.array([0, 100, 250])
    alone = read_tiles(source, grid.resolution, xs, ys, tiling, threads=1)
    threaded = read_tiles(source, grid.resolution, xs, ys, tiling, threads=3)
    np.testing.assert_array_equal(alone, threaded)
    np.testing.assert_array_equal(alone[1], pixels[100:116, 40:56])
    assert (alone[2][6:] == tiling.fill).all() and (alone[2][:, 14:] == tiling.fill).all()  # past the edge
