"""biodl.apply.whole_slides: slides tiled as at training, every tissue tile scored, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from image_fixtures import write_pyramid, write_sheet
from slide_fixtures import TILE, hand_score, level1_tile, prepare_slides, red_model

from biodl.apply.slide_sheet import read_slide_sheet
from biodl.apply.whole_slides import SlideTiling, load_tile_model, map_slide
from biodl.core.errors import InputError
from biodl.core.vocabulary import SPLITS
from biodl.data.dataset import load_metadata, open_dataset


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_slides(tmp_path_factory.mktemp("slides"), n=6)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return red_model(tmp_path_factory.mktemp("model") / "model.keras")


def _sheet(folder: Path, rows: list[list[object]], header: tuple[str, ...] = ("image", "name")) -> Path:
    return write_sheet(folder / "slides.tsv", list(header), rows)


def test_every_tissue_tile_is_scored_as_by_hand(prepared: Path, model_file: Path, tmp_path: Path) -> None:
    model = load_tile_model(prepared, [model_file])
    sheet = read_slide_sheet(_sheet(tmp_path, [[prepared.parent / "slide2.tif", "s2"]]), model.classes)
    mapped = map_slide(model, sheet.rows[0], SlideTiling.of_dataset(model.dataset), threads=2)
    tiles = mapped.tiles
    assert list(tiles.columns) == ["slide", "x", "y", "size", "tissue_fraction", "p_left", "p_right"]
    assert (tiles["slide"] == "s2").all() and (tiles["size"] == 2 * TILE).all()
    assert (tiles["tissue_fraction"] >= 0.5).all()
    # Every tile preparation kept from this slide is mapped, on the same grid.
    dataset = open_dataset(prepared)
    kept = {
        (int(row.x), int(row.y))
        for split in SPLITS
        for row in load_metadata(dataset, split).itertuples()
        if Path(row.image).name == "slide2.tif"
    }
    mapped_xy = set(zip(tiles["x"].tolist(), tiles["y"].tolist(), strict=True))
    assert kept and kept <= mapped_xy
    expected = [hand_score(level1_tile(2, x, y)) for x, y in zip(tiles["x"], tiles["y"], strict=True)]
    np.testing.assert_allclose(tiles["p_right"], expected, rtol=1e-5)
    np.testing.assert_allclose(tiles["p_left"], 1 - np.asarray(expected), rtol=1e-5)
    assert tiles["p_right"].std() > 0.01  # the tiles do not all score alike


def test_a_region_is_its_part_of_the_slide_grid_in_slide_coordinates(
    prepared: Path, model_file: Path, tmp_path: Path
) -> None:
    model = load_tile_model(prepared, [model_file])
    tiling = SlideTiling.of_dataset(model.dataset)
    image = prepared.parent / "slide1.tif"
    rows: list[list[object]] = [[image, "whole", ""], [image, "", "64,64,256,128"]]
    sheet = _sheet(tmp_path, rows, ("image", "name", "region"))
    whole_row, region_row = read_slide_sheet(sheet, model.classes).rows
    whole = map_slide(model, whole_row, tiling, threads=1)
    part = map_slide(model, region_row, tiling, threads=1)
    assert part.name == "slide1_64_64" and part.bounds == (64, 64, 256, 128)
    assert whole.bounds == (0, 0, 384, 256) and part.thumbnail.shape == whole.thumbnail.shape
    # The slide's grid starts at 0 with a 64 px step, so the region's tiles are the slide's tiles
    # lying inside x 64-320, y 64-192, at the same slide coordinates and with the same scores.
    x, y = whole.tiles["x"], whole.tiles["y"]
    inside = whole.tiles[(x >= 64) & (x + 64 <= 320) & (y >= 64) & (y + 64 <= 192)].reset_index(drop=True)
    assert len(part.tiles) == len(inside) >= 4
    np.testing.assert_array_equal(part.tiles[["x", "y"]], inside[["x", "y"]])
    np.testing.assert_allclose(part.tiles["p_right"], inside["p_right"], rtol=1e-6)
    first = part.tiles.iloc[0]
    assert first["p_right"] == pytest.approx(hand_score(level1_tile(1, first["x"], first["y"])), rel=1e-5)


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ("320,0,128,64", r"region 320,0,128,64 extends past the image \S*slide1\.tif \(384x256\)"),
        ("64,64,32,32", r"a tile covers 64x64 level-0 px: larger than the region 32x32"),
        ("0,0,64,64", r"no tissue found"),
    ],
)
def test_a_bad_region_is_refused_naming_the_slide_and_line(
    prepared: Path, model_file: Path, tmp_path: Path, region: str, message: str
) -> None:
    model = load_tile_model(prepared, [model_file])
    sheet = _sheet(tmp_path, [[prepared.parent / "slide1.tif", "r", region]], ("image", "name", "region"))
    row = read_slide_sheet(sheet, model.classes).rows[0]
    with pytest.raises(InputError, match=rf"slide1\.tif, slide r \(line 2\): {message}"):
        map_slide(model, row, SlideTiling.of_dataset(model.dataset), threads=1)


def test_chunks_give_the_same_scores(prepared: Path, model_file: Path, tmp_path: Path) -> None:
    model = load_tile_model(prepared, [model_file])
    row = read_slide_sheet(_sheet(tmp_path, [[prepared.parent / "slide0.tif", "s0"]]), model.classes).rows[0]
    tiling = SlideTiling.of_dataset(model.dataset)
    whole = map_slide(model, row, tiling, threads=1).tiles

    class Small(SlideTiling):
        @property
        def chunk(self) -> int:
            return 3

    chunked = map_slide(model, row, Small(tiling.tiling), threads=1).tiles
    assert len(whole) > 3
    np.testing.assert_allclose(chunked["p_right"], whole["p_right"], rtol=1e-6)


def test_a_slide_without_tissue_is_refused(prepared: Path, model_file: Path, tmp_path: Path) -> None:
    glass = write_pyramid(tmp_path / "glass.tif", np.full((256, 384, 3), 245, np.uint8))
    model = load_tile_model(prepared, [model_file])
    row = read_slide_sheet(_sheet(tmp_path, [[glass, "glass"]]), model.classes).rows[0]
    with pytest.raises(InputError, match=r"glass\.tif, slide glass \(line 2\): no tissue found"):
        map_slide(model, row, SlideTiling.of_dataset(model.dataset), threads=1)


def test_an_unreadable_slide_names_the_file(prepared: Path, model_file: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.svs"
    broken.write_bytes(b"II*\x00" + bytes(range(256)) * 8)
    model = load_tile_model(prepared, [model_file])
    row = read_slide_sheet(_sheet(tmp_path, [[broken, "broken"]]), model.classes).rows[0]
    with pytest.raises(InputError, match=r"broken\.svs"):
        map_slide(model, row, SlideTiling.of_dataset(model.dataset), threads=1)


def test_a_model_of_another_tile_size_is_refused(prepared: Path, tmp_path: Path) -> None:
    other = red_model(tmp_path / "other.keras", size=TILE * 2)
    with pytest.raises(
        InputError, match=r"other\.keras, input: model takes inputs of shape \(None, 64, 64, 3\)"
    ):
        load_tile_model(prepared, [other])


def test_a_dna_dataset_is_refused(make_dataset, model_file: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"mapping slides needs an image dataset"):
        load_tile_model(make_dataset(), [model_file])


def test_a_dataset_without_the_tiling_record_is_refused(prepared: Path, tmp_path: Path) -> None:
    copy = tmp_path / "old"
    copy.mkdir()
    description = json.loads((prepared / "dataset.json").read_text())
    del description["tiling"]["tissue_resolution"]
    (copy / "dataset.json").write_text(json.dumps(description))
    dataset = open_dataset(copy)
    with pytest.raises(InputError, match=r"tiling: does not record tissue_resolution.*prepare it again"):
        SlideTiling.of_dataset(dataset)
