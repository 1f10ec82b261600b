"""biodl.apply.slide_maps: heatmaps that line up with the slide, QuPath GeoJSON, slide aggregates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from biodl.apply.slide_maps import (
    Aggregation,
    aggregate,
    plot_heatmap,
    probability_raster,
    slide_metrics,
    tiles_geojson,
)
from biodl.apply.whole_slides import SlideMap
from biodl.evaluation.bootstrap import Resampling

CLASSES = ("stroma", "epithelium")


def _tiles(rows: list[tuple[int, int, float]], size: float = 64.0) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["x", "y", "p_epithelium"])
    frame.insert(0, "slide", "s")
    frame.insert(3, "size", size)
    frame.insert(4, "tissue_fraction", 1.0)
    frame["p_stroma"] = 1 - frame["p_epithelium"]
    return frame


def test_a_tile_lands_on_the_thumbnail_pixels_it_covers() -> None:
    # A 640 x 320 level-0 slide, thumbnail 8 times smaller (80 x 40); one scored tile at (128, 64).
    raster = probability_raster(_tiles([(128, 64, 0.75)]), "p_epithelium", (40, 80), 8)
    covered = np.zeros((40, 80), bool)
    covered[64 // 8 : (64 + 64) // 8, 128 // 8 : (128 + 64) // 8] = True  # rows 8-15, columns 16-23
    assert np.all(raster[covered] == 0.75)
    assert np.all(np.isnan(raster[~covered]))


def test_overlapping_tiles_are_averaged_and_edges_clipped() -> None:
    tiles = _tiles([(0, 0, 0.2), (32, 0, 0.6), (608, 288, 1.0)])  # the last overhangs the 640 x 320 slide
    raster = probability_raster(tiles, "p_epithelium", (40, 80), 8)
    np.testing.assert_allclose(raster[0, 0:4], 0.2)  # only the first tile (x 0-63; second starts at 32)
    np.testing.assert_allclose(raster[0, 4:8], 0.4)  # both
    np.testing.assert_allclose(raster[0, 8:12], 0.6)
    np.testing.assert_allclose(raster[36:40, 76:80], 1.0)
    assert np.isnan(raster[20, 40])


def test_heatmap_draws_the_raster_in_level0_coordinates(tmp_path: Path) -> None:
    thumbnail = np.full((40, 80, 3), 240, np.uint8)
    slide = SlideMap("s", _tiles([(128, 64, 0.75), (192, 64, 0.25)]), thumbnail, 8, (0, 0, 640, 320))
    path = tmp_path / "s.heatmap.png"
    fig = plot_heatmap(slide, CLASSES, path)
    ax = fig.axes[0]
    background, overlay = ax.get_images()
    assert background.get_extent() == overlay.get_extent() == [0.0, 640.0, 320.0, 0.0]
    drawn = overlay.get_array()
    assert drawn[8, 16] == 0.75 and drawn[8, 24] == 0.25 and np.ma.is_masked(drawn[0, 0])
    assert "P(epithelium)" in fig.axes[1].get_ylabel()  # the colour bar
    assert Image.open(path).size[0] > 300


def test_a_region_heatmap_shows_the_region_in_slide_coordinates(tmp_path: Path) -> None:
    thumbnail = np.full((40, 80, 3), 240, np.uint8)
    # The region x 128-320, y 64-192 of a 640 x 320 slide; its one tile at (192, 64).
    slide = SlideMap("r", _tiles([(192, 64, 0.75)]), thumbnail, 8, (128, 64, 192, 128))
    ax = plot_heatmap(slide, CLASSES, tmp_path / "r.heatmap.png").axes[0]
    assert ax.get_xlim() == (128.0, 320.0) and ax.get_ylim() == (192.0, 64.0)  # y down, as on the slide
    background, overlay = ax.get_images()
    assert overlay.get_extent() == [0.0, 640.0, 320.0, 0.0]  # the whole thumbnail, clipped by the axes
    drawn = overlay.get_array()
    # The tile covers slide x 192-255, y 64-127: thumbnail columns 24-31, rows 8-15.
    assert drawn[8, 24] == drawn[15, 31] == 0.75
    assert np.ma.is_masked(drawn[8, 23]) and np.ma.is_masked(drawn[16, 24])


def test_multiclass_heatmap_has_a_panel_per_class(tmp_path: Path) -> None:
    tiles = _tiles([(0, 0, 0.5)])
    tiles["p_other"] = 0.0
    slide = SlideMap("s", tiles, np.zeros((40, 80, 3), np.uint8), 8, (0, 0, 640, 320))
    fig = plot_heatmap(slide, ("stroma", "epithelium", "other"), tmp_path / "m.png")
    assert [ax.get_title().split(": ")[1].split(",")[0] for ax in fig.axes[:3]] == [
        "P(stroma)",
        "P(epithelium)",
        "P(other)",
    ]


def test_geojson_is_a_qupath_feature_collection() -> None:
    collection = tiles_geojson(_tiles([(128, 64, 0.75), (0, 0, 0.1)], size=64.5), CLASSES)
    text = json.dumps(collection)  # serialisable as it is
    assert json.loads(text)["type"] == "FeatureCollection"
    first, second = collection["features"]
    assert first["type"] == "Feature" and first["geometry"]["type"] == "Polygon"
    assert first["geometry"]["coordinates"] == [
        [[128.0, 64.0], [192.5, 64.0], [192.5, 128.5], [128.0, 128.5], [128.0, 64.0]]
    ]
    properties = first["properties"]
    assert properties["objectType"] == "tile"
    assert properties["classification"]["name"] == "epithelium"
    assert len(properties["classification"]["color"]) == 3
    assert properties["measurements"] == {"p_stroma": 0.25, "p_epithelium": 0.75}
    assert second["properties"]["classification"]["name"] == "stroma"
    assert first["properties"]["classification"]["color"] != second["properties"]["classification"]["color"]


def test_aggregates_match_a_hand_computation() -> None:
    scores = [0.9, 0.1, 0.5, 0.7, 0.3]
    tiles = _tiles([(64 * i, 0, s) for i, s in enumerate(scores)])
    row = aggregate(tiles, CLASSES, Aggregation("top_k_mean", top_k=2, quantile=0.75))
    assert row["tiles"] == 5
    assert row["mean_epithelium"] == pytest.approx(2.5 / 5)
    assert row["top2_epithelium"] == pytest.approx((0.9 + 0.7) / 2)
    # Sorted 0.1 0.3 0.5 0.7 0.9: the 0.75 quantile sits at position 3 = 0.7.
    assert row["q0.75_epithelium"] == pytest.approx(0.7)
    assert row["top2_stroma"] == pytest.approx((0.9 + 0.7) / 2)  # 1 - 0.1, 1 - 0.3
    assert row["score_epithelium"] == row["top2_epithelium"]
    assert row["predicted"] in CLASSES
    few = aggregate(tiles.iloc[:1], CLASSES, Aggregation("quantile", top_k=10, quantile=0.5))
    assert few["top10_epithelium"] == pytest.approx(0.9) and few["score_epithelium"] == pytest.approx(0.9)


def test_an_unknown_method_is_a_bug() -> None:
    with pytest.raises(ValueError, match="invalid aggregation"):
        Aggregation("median")


def test_slide_metrics_against_labels() -> None:
    table = pd.DataFrame(
        {
            "slide": [f"s{i}" for i in range(6)],
            "label": ["stroma", "epithelium", "stroma", "epithelium", "epithelium", "stroma"],
            "score_stroma": [0.8, 0.3, 0.6, 0.45, 0.1, 0.2],
            "score_epithelium": [0.2, 0.7, 0.4, 0.55, 0.9, 0.8],
        }
    )
    metrics = slide_metrics(table, CLASSES, Resampling(1, 200, 0.9)).set_index("metric")
    # Positives 0.7 0.55 0.9 against negatives 0.2 0.4 0.8: 7 of the 9 pairs ordered right.
    assert metrics.loc["auroc", "value"] == pytest.approx(7 / 9)
    assert metrics.loc["accuracy", "value"] == pytest.approx(5 / 6)  # s5 (0.8, stroma) called wrong
    assert metrics.loc["auroc", "ci_low"] <= 7 / 9 <= metrics.loc["auroc", "ci_high"]
    assert "f1_best" not in metrics.index and "threshold_best" not in metrics.index
