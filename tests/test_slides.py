from pathlib import Path

import numpy as np
import pytest
from image_fixtures import MPP, brain_like_volume, slide_pixels, write_nifti, write_png, write_pyramid

from biodl.core.errors import InputError
from biodl.data.image import sources
from biodl.data.image.sources import choose_resolution, open_mask, open_sources, read_tile


def only(path: Path, **kwargs: object) -> sources.ImageSource:
    """The single source of a 2-D image file (kept open by holding the generator)."""
    sources = list(open_sources(path, **kwargs))  # type: ignore[arg-type]
    assert len(sources) == 1
    return sources[0]


@pytest.fixture
def pyramid(tmp_path):
    pixels = slide_pixels()
    return write_pyramid(tmp_path / "slide.tif", pixels), pixels


def test_pyramidal_tiff_is_read_by_region_through_openslide(pyramid):
    path, pixels = pyramid
    generator = open_sources(path)
    source = next(generator)
    assert isinstance(source, sources.SlideSource)
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
    monkeypatch.setattr(sources, "STRIP_PIXELS", 192 * 10)  # ten level-1 rows per strip
    strips = source.thumbnail(4)
    assert whole.shape == strips.shape == (64, 96, 3)
    assert np.abs(whole.astype(int) - strips.astype(int)).max() <= 2
    block_means = pixels.reshape(64, 4, 96, 4, 3).mean(axis=(1, 3))
    assert np.abs(whole - block_means).mean() < 3
    generator.close()


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


def test_png_modes_become_grey_or_rgb(tmp_path):
    rgb = slide_pixels(64, 48)
    assert only(write_png(tmp_path / "rgb.png", rgb)).channels == 3
    rgba = np.concatenate([rgb, np.full((48, 64, 1), 255, np.uint8)], axis=2)
    source = only(write_png(tmp_path / "rgba.png", rgba))
    np.testing.assert_array_equal(source.read_region(0, 0, 0, 64, 48, fill=0), rgb)
    grey = only(write_png(tmp_path / "grey.png", rgb[..., 0]))
    assert grey.channels == 1 and grey.mpp is None and grey.name == str(tmp_path / "grey.png")


def test_sixteen_bit_images_are_scaled_between_percentiles(tmp_path):
    values = np.tile(np.arange(0, 4000, 40, dtype=np.uint16), (10, 1))
    source = only(write_png(tmp_path / "deep.png", values), percentiles=(0.0, 100.0))
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


def test_aperio_thumbnail_comes_from_the_file_and_matches_the_pixels(monkeypatch):
    demo = Path(__file__).resolve().parents[1] / "resources" / "images" / "cmu_small_region.svs"
    source = next(generator := open_sources(demo))
    assert source.size == (2220, 2967) and source.mpp == pytest.approx(0.499)
    embedded = source.thumbnail(16)  # the stored thumbnail is 3.87 times smaller: fine enough
    assert source.thumbnail(4).shape == (742, 555, 3)  # too coarse for 4: read from level 0
    monkeypatch.setattr(sources.SlideSource, "_embedded_thumbnail", lambda self, factor: None)
    decoded = source.thumbnail(16)
    assert embedded.shape == decoded.shape == (186, 139, 3)
    assert np.abs(embedded.astype(int) - decoded.astype(int)).mean() < 4
    generator.close()
