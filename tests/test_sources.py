"""biodl.data.image.sources: the region-reading interface, the resolution tiles are read at, tiles."""

import numpy as np
import pytest
from image_fixtures import MPP, slide_pixels, write_pyramid

from biodl.core.errors import InputError
from biodl.data.image import sources
from biodl.data.image.formats import open_sources
from biodl.data.image.sources import choose_resolution, read_tile


@pytest.fixture
def pyramid(tmp_path):
    pixels = slide_pixels()
    return write_pyramid(tmp_path / "slide.tif", pixels), pixels


def test_levels_and_target_resolution(pyramid):
    source = next(generator := open_sources(pyramid[0]))
    assert choose_resolution(source, None, None) == sources.Resolution(0, 1.0, 1.0, MPP)
    assert choose_resolution(source, 1, None) == sources.Resolution(1, 2.0, 1.0, 2 * MPP)
    assert choose_resolution(source, None, 1.0) == sources.Resolution(1, 2.0, 1.0, 1.0)  # level 1 is 1 µm/px
    assert choose_resolution(source, None, 1.01).scale == 1.0  # within the tolerance: no resampling
    assert choose_resolution(source, None, 0.75) == sources.Resolution(0, 1.0, 1.5, 0.75)
    assert choose_resolution(source, None, 4.0) == sources.Resolution(
        1, 2.0, 4.0, 4.0
    )  # 8 level-0 px per output px
    with pytest.raises(InputError, match="level 2 requested but the image has 2 level"):
        choose_resolution(source, 2, None)
    generator.close()


def test_target_resolution_needs_metadata(tmp_path):
    path = write_pyramid(tmp_path / "nompp.tif", slide_pixels(), mpp=None)
    source = next(generator := open_sources(path))
    with pytest.raises(InputError) as caught:
        choose_resolution(source, None, 1.0)
    assert str(path) in str(caught.value) and "set tile.level" in str(caught.value)
    assert choose_resolution(source, 1, None).level == 1  # an explicit level still works
    generator.close()


def test_resampled_tile_averages_the_level_below(pyramid):
    path, pixels = pyramid
    source = next(generator := open_sources(path))
    resolution = choose_resolution(source, None, 0.75)  # 1.5 level-0 px per output px
    tile = read_tile(source, resolution, 32, 32, 16, fill=255)
    assert tile.shape == (16, 16, 3)
    expected = pixels[32:56, 32:56].reshape(8, 3, 8, 3, 3).mean(axis=(1, 3))
    assert np.abs(tile.reshape(8, 2, 8, 2, 3).mean(axis=(1, 3)) - expected).mean() < 8
    generator.close()


def test_resize_keeps_grey_images_grey_and_reduced_sizes_round_up():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
    assert sources.resize(grey, 4, 3) is grey  # same size: untouched
    assert sources.resize(grey, 2, 2).shape == (2, 2, 1)
    assert sources.resize(np.zeros((3, 4, 3), np.uint8), 8, 6).shape == (6, 8, 3)
    assert sources.reduced_size((10, 7), 4) == (3, 2) and sources.reduced_size((3, 3), 8) == (1, 1)
