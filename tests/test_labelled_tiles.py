"""biodl.data.image.labelled_tiles: one image's tiles kept, labelled from its row or mask, written."""

from pathlib import Path

import numpy as np
import pytest
from image_fixtures import slide_mask, slide_pixels, write_png, write_pyramid, write_sheet

from biodl.config.datasets import ImageDataset, check_dataset
from biodl.core.errors import InputError
from biodl.data.image.formats import open_mask, open_sources
from biodl.data.image.grid import Tiling
from biodl.data.image.labelled_tiles import (
    ChannelHistogram,
    DatasetTiling,
    Tally,
    TileSinks,
    targets,
    tile_source,
)
from biodl.data.image.preview import TilingPreview
from biodl.data.image.sample_sheet import read_sample_sheet
from biodl.data.shards import writer_for


def tiling(**tile: object) -> Tiling:
    spec = check_dataset(
        "d",
        {
            "modality": "image",
            "sample_sheet": "no_sheet.tsv",
            "tile": {"size": 32, **tile},
            "tissue": {"background": "none", "threshold": 0.0},
        },
    )
    assert isinstance(spec, ImageDataset)
    return Tiling.from_settings(spec)


def tile_sheet(tmp_path: Path, header: list[str], row: list[object], classes: list[str]) -> tuple:
    """Tile the one image of a one-row sheet (its split: train); return the sinks and the labels written."""
    sheet = read_sample_sheet(write_sheet(tmp_path / "sheet.tsv", header, [row]))
    (tmp_path / "shards").mkdir()
    sinks = TileSinks(
        writer_for("image", tmp_path / "shards", 1000),
        ChannelHistogram(),
        TilingPreview(classes, 3, 100),
        Tally(),
    )
    value_classes = {1: 1, 2: 2} if "mask" in header else {}
    dataset = DatasetTiling(sheet, tiling(), classes, value_classes, {2: "train"}, threads=2)
    first = sheet.rows[0]
    mask = open_mask(first.mask) if first.mask else None
    generator = open_sources(first.image)
    tile_source(dataset, sinks, next(generator), list(sheet.rows), mask)
    generator.close()
    sinks.writer.close()
    return sinks, np.load(tmp_path / "shards" / "train-00000.y.npy")


def test_a_label_sheet_gives_every_tissue_tile_the_row_class(tmp_path):
    write_pyramid(tmp_path / "slide.tif", slide_pixels())
    sinks, y = tile_sheet(tmp_path, ["image", "label"], ["slide.tif", "tumour"], ["normal", "tumour"])
    n = (384 // 32) * (256 // 32)
    assert sinks.tally.considered == n and sinks.tally.kept[("train", "tumour")] == n
    np.testing.assert_array_equal(y, np.ones((n, 1)))
    assert sinks.histogram.counts is not None and sinks.histogram.counts.sum() == n * 32 * 32 * 3
    assert sinks.tally.images == 1 and sinks.tally.levels == {0}


def test_a_mask_labels_tiles_by_majority_and_drops_unlabelled_ones(tmp_path):
    write_pyramid(tmp_path / "slide.tif", slide_pixels())
    write_png(tmp_path / "mask.png", slide_mask(4))
    sinks, y = tile_sheet(tmp_path, ["image", "mask"], ["slide.tif", "mask.png"], ["left", "right"])
    tally = sinks.tally
    kept = tally.kept[("train", "left")] + tally.kept[("train", "right")]
    assert kept + tally.dropped["unlabelled"] + tally.dropped["ambiguous"] == tally.considered
    assert tally.kept[("train", "left")] and tally.kept[("train", "right")] and tally.dropped["unlabelled"]
    panel = sinks.preview.panels[str(tmp_path / "slide.tif")]
    labels = np.concatenate(panel.classes)
    x0 = np.concatenate(panel.boxes)[:, 0]
    np.testing.assert_array_equal(labels, (x0 >= 192).astype(int))  # right tissue starts at x = 224
    np.testing.assert_array_equal(y[:, 0], labels)


def test_a_region_past_the_image_names_the_sheet_line(tmp_path):
    write_pyramid(tmp_path / "slide.tif", slide_pixels())
    with pytest.raises(InputError) as caught:
        tile_sheet(tmp_path, ["image", "label", "region"], ["slide.tif", "a", "300,0,100,50"], ["a", "b"])
    assert caught.value.source == str(tmp_path / "sheet.tsv") and caught.value.where == "line 2"
    assert "extends past the image" in caught.value.problem


def test_channel_histogram_is_exact_over_chunks():
    rng = np.random.default_rng(0)
    tiles = rng.integers(0, 256, size=(10, 4, 4, 3), dtype=np.uint8)
    histogram = ChannelHistogram()
    histogram.add(tiles[:3])
    histogram.add(tiles[3:])
    mean, std = histogram.mean_std()
    flat = tiles.reshape(-1, 3).astype(float)
    np.testing.assert_allclose(mean, flat.mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(std, flat.std(axis=0), atol=1e-4)


def test_targets_of_binary_and_multiclass_tiles():
    np.testing.assert_array_equal(targets(np.array([1, 0]), 2), [[1.0], [0.0]])
    np.testing.assert_array_equal(targets(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    assert targets(np.array([1]), 3).dtype == np.float32
