from pathlib import Path

import numpy as np
import pytest
from image_fixtures import slide_pixels

from biodl.core.errors import InputError
from biodl.data.image import tiling


@pytest.mark.parametrize(
    "extent, footprint, step, pad, expected",
    [
        (100, 25, 25, False, [0, 25, 50, 75]),  # exact fit
        (110, 25, 25, False, [0, 25, 50, 75]),  # the last 10 px cannot hold a tile: dropped
        (110, 25, 25, True, [0, 25, 50, 75, 100]),  # ... or covered by a tile padded past the edge
        (100, 25, 25, True, [0, 25, 50, 75]),  # nothing to pad when the tiles fit exactly
        (100, 40, 20, False, [0, 20, 40, 60]),  # 50% overlap
        (25, 25, 10, False, [0]),  # one tile exactly the size of the extent
        (100, 25.5, 25.5, False, [0, 26, 51]),  # fractional footprint (resampled tiles): rounded origins
    ],
)
def test_grid_positions(extent, footprint, step, pad, expected):
    assert tiling.grid(0, extent, footprint, step, pad).tolist() == expected
    assert tiling.grid(1000, extent, footprint, step, pad).tolist() == [1000 + e for e in expected]


def test_tile_grid_is_row_major_and_boxes_scale():
    xs, ys = tiling.tile_grid((10, 20, 50, 30), 20, 15, pad_right=False, pad_bottom=True)
    assert list(zip(xs.tolist(), ys.tolist(), strict=True)) == [
        (10, 20),
        (25, 20),
        (40, 20),
        (10, 35),
        (25, 35),
        (40, 35),
    ]
    np.testing.assert_array_equal(tiling.boxes(xs[:1], ys[:1], 20, 5), [[2, 4, 6, 8]])


def test_box_fractions_count_overhang_as_background():
    mask = np.zeros((10, 10), dtype=bool)
    mask[:5, :5] = True
    boxes = np.array(
        [[0, 0, 5, 5], [0, 0, 10, 10], [5, 5, 10, 10], [-5, -5, 5, 5], [8, 8, 12, 12]], dtype=float
    )
    np.testing.assert_allclose(tiling.box_fractions(mask, boxes), [1.0, 0.25, 0.0, 0.25, 0.0])


def test_tissue_mask_on_a_light_background_finds_the_tissue_only():
    pixels = slide_pixels()
    pixels[235:239, 190:194] = (60, 60, 60)  # grey dust on the glass: dark but not stained
    pixels[10:12, 10:12] = (200, 110, 170)  # a stained speck smaller than a quarter tile
    mask = tiling.tissue_mask(pixels, "light", tile_px=16)
    assert mask[32:224, 32:160].mean() > 0.99 and mask[32:224, 224:352].mean() > 0.99
    assert not mask[235:239, 190:194].any() and not mask[10:12, 10:12].any()
    assert mask.sum() == pytest.approx(2 * 128 * 192, rel=0.02)


def test_tissue_mask_fills_small_holes_but_keeps_glass_inside_the_section():
    pixels = slide_pixels()
    pixels[60:63, 60:63] = 245  # a small gap in the tissue
    pixels[80:180, 60:140] = 245  # a large glass area inside the left piece
    mask = tiling.tissue_mask(pixels, "light", tile_px=16)
    assert mask[60:63, 60:63].all()
    assert not mask[90:170, 70:130].any()


def test_tissue_mask_backgrounds():
    dark = np.zeros((64, 64, 1), dtype=np.uint8)
    dark[16:48, 16:48] = 180
    assert tiling.tissue_mask(dark, "dark", tile_px=8)[16:48, 16:48].all()
    assert tiling.tissue_mask(dark, "dark", tile_px=8).sum() == 32 * 32
    assert tiling.tissue_mask(dark, "none", tile_px=8).all()
    grey_slide = 255 - dark
    assert tiling.tissue_mask(grey_slide, "light", tile_px=8).sum() == 32 * 32


@pytest.mark.parametrize(
    "pixels",
    [
        np.full((64, 64, 3), 240, dtype=np.uint8),  # blank glass
        np.random.default_rng(0)
        .integers(238, 243, size=(64, 64, 3))
        .astype(np.uint8),  # glass with sensor noise
    ],
)
def test_no_tissue_on_blank_glass(pixels):
    assert not tiling.tissue_mask(pixels, "light", tile_px=8).any()


def test_mask_downsample_is_inferred_or_checked():
    path = Path("labels.png")
    assert tiling.mask_downsample((2220, 2967), (742, 555), None, path) == 4.0  # 2967 / 4 rounds to 742
    assert tiling.mask_downsample((1000, 800), (100, 125), None, path) == 8.0
    assert tiling.mask_downsample((1000, 800), (800, 1000), 1, path) == 1
    with pytest.raises(InputError) as caught:
        tiling.mask_downsample((1000, 800), (100, 100), None, path)
    assert caught.value.source == "labels.png" and "does not match the image 1000x800" in caught.value.problem
    with pytest.raises(InputError, match="at the stated downsample 4"):
        tiling.mask_downsample((1000, 800), (100, 125), 4, path)


def test_tile_classes_majority_coverage_labelled_and_ties():
    values = np.array(
        [
            [7, 7, 7, 7, 0, 0],
            [7, 7, 7, 9, 0, 0],
            [5, 5, 9, 9, 0, 9],
            [5, 5, 9, 9, 0, 0],
        ]
    )
    plane = tiling.class_plane(values, {7: 1, 5: 1, 9: 2})  # two mask values map to one class
    assert plane.tolist()[2] == [1, 1, 2, 2, 0, 2]
    boxes = np.array(
        [[0, 0, 4, 4], [2, 2, 4, 4], [4, 0, 6, 4], [0, 0, 2, 4], [2, 0, 6, 2], [1, 2, 3, 4]], dtype=float
    )
    found = tiling.tile_classes(plane, boxes, n_classes=2)
    assert found.index.tolist()[:5] == [1, 2, 2, 1, 1]
    np.testing.assert_allclose(found.coverage, [11 / 16, 1.0, 1.0, 1.0, 0.75, 0.5])
    np.testing.assert_allclose(found.labelled, [1.0, 1.0, 1 / 8, 1.0, 0.5, 1.0])
    assert found.tied.tolist() == [False, False, False, False, False, True]
    nothing = tiling.tile_classes(plane, np.array([[4, 3, 5, 4.0]]), n_classes=2)
    assert nothing.index.tolist() == [0] and nothing.labelled.tolist() == [0.0]
