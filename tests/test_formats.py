"""biodl.data.image.formats: the reader of an image or mask is chosen by the file."""

import numpy as np
import pytest
import tifffile
from image_fixtures import brain_like_volume, slide_pixels, write_nifti, write_png, write_pyramid

from biodl.core.errors import InputError
from biodl.data.image.arrays import ArraySource
from biodl.data.image.formats import open_mask, open_sources
from biodl.data.image.slides import SlideSource


def test_each_format_gets_its_reader(tmp_path):
    pixels = slide_pixels()
    pyramid = write_pyramid(tmp_path / "slide.tif", pixels)
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, pixels, photometric="rgb")  # not tiled: OpenSlide does not take it
    png = write_png(tmp_path / "image.png", pixels)
    for path, kind in ((pyramid, SlideSource), (plain, ArraySource), (png, ArraySource)):
        generator = open_sources(path)
        source = next(generator)
        assert type(source) is kind and source.size == (384, 256) and source.channels == 3
        np.testing.assert_array_equal(source.read_region(10, 20, 0, 8, 4, fill=0), pixels[20:24, 10:18])
        generator.close()


@pytest.mark.parametrize(
    "name, content",
    [
        ("broken.png", b"\x89PNG\r\n\x1a\nnot really"),
        ("broken.svs", b"II*\x00garbage"),
        ("broken.nii.gz", b"\x1f\x8b\x08\x00garbage"),
        ("broken.tif", b"MM\x00*\x00\x00\x00\x08garbage"),
    ],
)
def test_unreadable_images_name_the_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        list(open_sources(path))
    assert caught.value.source == str(path)


def test_masks_are_integer_planes(tmp_path):
    labels = np.array([[0, 1], [2, 3]], dtype=np.uint8)
    mask = open_mask(write_png(tmp_path / "m.png", labels))
    np.testing.assert_array_equal(mask.plane(None), labels)
    with pytest.raises(InputError, match="one channel"):
        open_mask(write_png(tmp_path / "rgb.png", np.zeros((4, 4, 3), np.uint8)))
    with pytest.raises(InputError, match="fractional"):
        open_mask(write_nifti(tmp_path / "f.nii.gz", np.full((2, 2, 2), 0.5, np.float32)))
    _, volume = brain_like_volume()
    planes = open_mask(write_nifti(tmp_path / "labels.nii.gz", volume), axis="sagittal")
    assert planes.plane(3).shape == (48, 40)
    with pytest.raises(InputError, match="the mask volume has 12 slices"):
        planes.plane(12)
