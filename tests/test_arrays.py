"""biodl.data.image.arrays: 2-D images and slices of volumes, loaded whole."""

from pathlib import Path

import numpy as np
import pytest
from image_fixtures import brain_like_volume, only_source, slide_pixels, write_nifti, write_png

from biodl.core.errors import InputError
from biodl.data.image.arrays import to_uint8
from biodl.data.image.formats import open_sources


def test_png_modes_become_grey_or_rgb(tmp_path):
    rgb = slide_pixels(64, 48)
    assert only_source(write_png(tmp_path / "rgb.png", rgb)).channels == 3
    rgba = np.concatenate([rgb, np.full((48, 64, 1), 255, np.uint8)], axis=2)
    source = only_source(write_png(tmp_path / "rgba.png", rgba))
    np.testing.assert_array_equal(source.read_region(0, 0, 0, 64, 48, fill=0), rgb)
    grey = only_source(write_png(tmp_path / "grey.png", rgb[..., 0]))
    assert grey.channels == 1 and grey.mpp is None and grey.name == str(tmp_path / "grey.png")


def test_sixteen_bit_images_are_scaled_between_percentiles(tmp_path):
    values = np.tile(np.arange(0, 4000, 40, dtype=np.uint16), (10, 1))
    source = only_source(write_png(tmp_path / "deep.png", values), percentiles=(0.0, 100.0))
    pixels = source.read_region(0, 0, 0, 100, 10, fill=0)[..., 0]
    assert pixels.dtype == np.uint8 and pixels[0, 0] == 0 and pixels[0, -1] == 255
    assert np.all(np.diff(pixels[0].astype(int)) >= 0)


def test_nifti_slices_along_each_axis_with_names_and_orientation(tmp_path):
    volume, _ = brain_like_volume()
    volume[:, :, 40:] += 100  # a superior band, to check which way is up
    path = write_nifti(tmp_path / "head.nii.gz", volume, zooms=(1.0, 1.0, 2.0))
    sagittal = list(open_sources(path, axis="sagittal", slices={3, 5}))
    assert [s.name for s in sagittal] == [f"{path}#x=3", f"{path}#x=5"]
    assert [s.slice_index for s in sagittal] == [3, 5]
    first = sagittal[0]
    assert first.size == (40, 48) and first.channels == 1  # columns along y, rows along z
    assert first.mpp == pytest.approx(1500.0)  # in-plane voxels of 1 and 2 mm
    top = first.read_region(0, 0, 0, 40, 8, fill=0)[..., 0]
    bottom = first.read_region(0, 40, 0, 40, 8, fill=0)[..., 0]
    assert top[:, 10].mean() > bottom[:, 10].mean()  # superior (high z) is at the top
    assert len(list(open_sources(path, axis="axial"))) == 48
    with pytest.raises(InputError, match="slice 12 requested but the volume has 12 sagittal slices"):
        list(open_sources(path, axis="sagittal", slices={12}))


def test_to_uint8_scales_between_percentiles_and_keeps_bytes():
    path = Path("volume.nii.gz")
    values = np.array([[0.0, 20.0], [100.0, np.nan]], dtype=np.float32)
    np.testing.assert_array_equal(to_uint8(values, (0.0, 100.0), path), [[0, 51], [255, 0]])
    raw = np.array([[3, 200]], dtype=np.uint8)
    assert to_uint8(raw, (0.5, 99.5), path) is raw
    np.testing.assert_array_equal(to_uint8(np.full((2, 2), 7.0), (0.0, 100.0), path), np.zeros((2, 2)))
    with pytest.raises(InputError, match="holds no finite intensity values"):
        to_uint8(np.full((2, 2), np.nan), (0.0, 100.0), path)
