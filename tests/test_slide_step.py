"""biodl.apply.slide_step: a labelled sheet of slides → tile table, slide table, metrics, maps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from image_fixtures import slide_pixels, write_pyramid, write_sheet
from slide_fixtures import prepare_slides, red_model

from biodl.apply.slide_step import SlideJob, SlideSettings, apply_slides
from biodl.core.errors import InputError


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("step")
    prepared = prepare_slides(folder / "data", n=6)
    return prepared, red_model(folder / "model.keras")


def _outputs(folder: Path) -> dict[str, Path]:
    return {
        "tiles": folder / "tiles.tsv",
        "slides": folder / "slides.tsv",
        "metrics": folder / "slide_metrics.tsv",
        "maps": folder / "maps",
    }


SETTINGS = SlideSettings.from_validated(
    {"method": "top_k_mean", "top_k": 3, "quantile": 0.5}, {"bootstrap": 50, "confidence": 0.9}, 1
)


def test_a_labelled_sheet_gives_every_output(run: tuple[Path, Path], tmp_path: Path) -> None:
    prepared, model = run
    # The red model scores redder tiles higher: slides with pink tissue are labelled "right",
    # slides whose tissue is purple (far less red, still saturated: tissue) "left".
    rows = []
    for i in range(4):
        pixels = slide_pixels(seed=i)
        if i % 2:
            pixels[(pixels != 245).any(axis=2)] = [90, 60, 200]
        write_pyramid(tmp_path / f"s{i}.tif", pixels)
        rows.append([f"s{i}.tif", f"slide_{i}", "left" if i % 2 else "right"])
    sheet = write_sheet(tmp_path / "slides.tsv", ["image", "name", "label"], rows)
    outputs = _outputs(tmp_path / "out")
    apply_slides(SlideJob(prepared / "dataset.json", (model,), 3, 1), sheet, SETTINGS, outputs)

    tiles = pd.read_csv(outputs["tiles"], sep="\t")
    slides = pd.read_csv(outputs["slides"], sep="\t")
    assert list(slides["slide"]) == [f"slide_{i}" for i in range(4)]
    assert list(slides["label"]) == ["right", "left", "right", "left"]
    for slide in slides.itertuples():
        scores = np.sort(tiles.loc[tiles["slide"] == slide.slide, "p_right"].to_numpy())[::-1]
        assert slide.tiles == len(scores)
        assert slide.top3_right == pytest.approx(scores[:3].mean())
        assert slide.score_right == slide.top3_right
    pink, purple = slides["score_right"][::2], slides["score_right"][1::2]
    assert pink.min() > purple.max()

    metrics = pd.read_csv(outputs["metrics"], sep="\t").set_index(["metric", "target"])
    assert metrics.loc[("auroc", "right"), "value"] == 1.0  # every pink slide above every purple one
    assert metrics.loc[("n", "all"), "value"] == 4

    maps = sorted(p.name for p in outputs["maps"].iterdir())
    assert maps == sorted(
        [f"slide_{i}.geojson" for i in range(4)] + [f"slide_{i}.heatmap.png" for i in range(4)]
    )
    overlay = json.loads((outputs["maps"] / "slide_0.geojson").read_text())
    assert len(overlay["features"]) == (tiles["slide"] == "slide_0").sum()


def test_without_labels_the_metrics_file_has_only_its_header(run: tuple[Path, Path], tmp_path: Path) -> None:
    prepared, model = run
    write_pyramid(tmp_path / "a.tif", slide_pixels())
    sheet = write_sheet(tmp_path / "slides.tsv", ["image"], [["a.tif"]])
    outputs = _outputs(tmp_path / "out")
    apply_slides(SlideJob(prepared / "dataset.json", (model,), 3, 1), sheet, SETTINGS, outputs)
    assert outputs["metrics"].read_text().strip() == "metric\ttarget\tvalue\tci_low\tci_high"
    assert pd.read_csv(outputs["slides"], sep="\t")["slide"].tolist() == ["a"]


def test_regions_are_slides_of_the_outputs_in_slide_coordinates(
    run: tuple[Path, Path], tmp_path: Path
) -> None:
    prepared, model = run
    write_pyramid(tmp_path / "a.tif", slide_pixels())
    rows = [["a.tif", "", "left"], ["a.tif", "32,32,128,192", "left"], ["a.tif", "224,32,128,192", "right"]]
    sheet = write_sheet(tmp_path / "slides.tsv", ["image", "region", "label"], rows)
    outputs = _outputs(tmp_path / "out")
    apply_slides(SlideJob(prepared / "dataset.json", (model,), 3, 1), sheet, SETTINGS, outputs)
    slides = pd.read_csv(outputs["slides"], sep="\t", keep_default_na=False)
    assert list(slides["slide"]) == ["a", "a_32_32", "a_224_32"]
    assert list(slides["region"]) == ["", "32,32,128,192", "224,32,128,192"]
    tiles = pd.read_csv(outputs["tiles"], sep="\t")
    right = tiles[tiles["slide"] == "a_224_32"]
    assert len(right) and right["x"].min() >= 224 and (right["x"] + right["size"]).max() <= 352
    overlay = json.loads((outputs["maps"] / "a_224_32.geojson").read_text())
    corners = [feature["geometry"]["coordinates"][0][0] for feature in overlay["features"]]
    assert corners == right[["x", "y"]].astype(float).to_numpy().tolist()  # slide coordinates
    assert (outputs["maps"] / "a_32_32.heatmap.png").is_file()


def test_a_failing_slide_leaves_no_maps(run: tuple[Path, Path], tmp_path: Path) -> None:
    prepared, model = run
    write_pyramid(tmp_path / "a.tif", slide_pixels())
    write_pyramid(tmp_path / "glass.tif", np.full((256, 384, 3), 245, np.uint8))
    sheet = write_sheet(tmp_path / "slides.tsv", ["image"], [["a.tif"], ["glass.tif"]])
    outputs = _outputs(tmp_path / "out")
    with pytest.raises(InputError, match=r"glass\.tif, slide glass \(line 3\): no tissue found"):
        apply_slides(SlideJob(prepared / "dataset.json", (model,), 3, 1), sheet, SETTINGS, outputs)
    assert not outputs["maps"].exists() and not outputs["tiles"].exists()
