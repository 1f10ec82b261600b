"""biodl.data.image.slides: whole-slide images read by region through OpenSlide."""

from pathlib import Path

import numpy as np
import pytest
from image_fixtures import MPP, slide_pixels, write_pyramid

from biodl.core.errors import InputError
from biodl.data.image import slides
from biodl.data.image.formats import open_sources


@pytest.fixture
def pyramid(tmp_path):
    pixels = slide_pixels()
    return write_pyramid(tmp_path / "slide.tif", pixels), pixels


def test_pyramidal_tiff_is_read_by_region_through_openslide(pyramid):
    path, pixels = pyramid
    generator = open_sources(path)
    source = next(generator)
    assert isinstance(source, slides.SlideSource)
    assert [(lv.width, lv.height, lv.downsample) for lv in source.levels] == [
        (384, 256, 1.0),
        (192, 128, 2.0),
    ]
    assert source.mpp == pytest.approx(MPP) and source.channels == 3
    np.testing.assert_array_equal(source.read_region(40, 50, 0, 30, 20, fill=255), pixels[50:70, 40:70])
    # Level-1 pixels, addressed by their level-0 top-left corner.
    np.testing.assert_array_equal(
        source.read_region(40, 50, 1, 10, 8, fill=255), pixels[::2, ::2][25:33, 20:30]
    )
    beyond = source.read_region(380, 250, 0, 8, 8, fill=7)
    np.testing.assert_array_equal(beyond[:6, :4], pixels[250:, 380:])
    assert (beyond[6:] == 7).all() and (beyond[:, 4:] == 7).all()


def test_slide_thumbnail_built_in_strips_equals_one_pass(pyramid, monkeypatch):
    path, pixels = pyramid
    source = next(generator := open_sources(path))
    whole = source.thumbnail(4)
    monkeypatch.setattr(slides, "STRIP_PIXELS", 192 * 10)  # ten level-1 rows per strip
    strips = source.thumbnail(4)
    assert whole.shape == strips.shape == (64, 96, 3)
    assert np.abs(whole.astype(int) - strips.astype(int)).max() <= 2
    block_means = pixels.reshape(64, 4, 96, 4, 3).mean(axis=(1, 3))
    assert np.abs(whole - block_means).mean() < 3
    generator.close()


def test_aperio_thumbnail_comes_from_the_file_and_matches_the_pixels(monkeypatch):
    demo = Path(__file__).resolve().parents[1] / "resources" / "images" / "cmu_small_region.svs"
    source = next(generator := open_sources(demo))
    assert source.size == (2220, 2967) and source.mpp == pytest.approx(0.499)
    embedded = source.thumbnail(16)  # the stored thumbnail is 3.87 times smaller: fine enough
    assert source.thumbnail(4).shape == (742, 555, 3)  # too coarse for 4: read from level 0
    monkeypatch.setattr(slides.SlideSource, "_embedded_thumbnail", lambda self, factor: None)
    decoded = source.thumbnail(16)
    assert embedded.shape == decoded.shape == (186, 139, 3)
    assert np.abs(embedded.astype(int) - decoded.astype(int)).mean() < 4
    generator.close()


def test_a_slide_openslide_cannot_open_is_named(tmp_path):
    path = tmp_path / "broken.svs"
    path.write_bytes(b"II*\x00garbage")
    with pytest.raises(InputError) as caught:
        slides.SlideSource(path)
    assert caught.value.source == str(path)
