"""biodl.apply.slide_sheet: the slides a slides target maps, each problem named by its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from image_fixtures import slide_pixels, write_pyramid, write_sheet

from biodl.apply.slide_sheet import read_slide_sheet
from biodl.core.errors import InputError
from biodl.data.image.sample_sheet import Region


def _sheet(folder: Path, rows: list[list[object]], header: tuple[str, ...] = ("image", "name")) -> Path:
    return write_sheet(folder / "slides.tsv", list(header), rows)


def test_sheet_names_labels_and_defaults(tmp_path: Path) -> None:
    write_pyramid(tmp_path / "a.tif", slide_pixels())
    write_pyramid(tmp_path / "b.tif", slide_pixels(seed=1))
    sheet = read_slide_sheet(
        _sheet(tmp_path, [["a.tif", "", "left"], ["b.tif", "second", "right"]], ("image", "name", "label")),
        ("left", "right"),
    )
    assert [(r.name, r.label, r.line) for r in sheet.rows] == [("a", "left", 2), ("second", "right", 3)]
    assert sheet.labelled and sheet.rows[0].image == tmp_path / "a.tif"


def test_regions_are_read_as_in_the_image_sample_sheet(tmp_path: Path) -> None:
    write_pyramid(tmp_path / "a.tif", slide_pixels())
    rows: list[list[object]] = [["a.tif", ""], ["a.tif", " 32,0,64,96 "], ["a.tif", "0,0,96,96"]]
    sheet = read_slide_sheet(_sheet(tmp_path, rows, ("image", "region")), None)
    whole, first, overlapping = sheet.rows
    assert whole.region is None and whole.name == "a"
    assert first.region == Region(32, 0, 64, 96) and first.name == "a_32_0"
    assert overlapping.region == Region(0, 0, 96, 96)  # regions may overlap: mapping trains nothing


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        (
            ("image", "region"),
            [["a.tif", "1,2,3"]],
            r"line 2: region must be 'x,y,width,height' \(whole level-0 pixels\), found '1,2,3'",
        ),
        (
            ("image", "region"),
            [["a.tif", "0,0,0,5"]],
            r"line 2: region needs x, y >= 0 and width, height >= 1",
        ),
        (("slide", "label"), [["a.tif", "left"]], r"line 1: expected the columns image"),
        (("image", "label"), [["a.tif", "middle"]], r"line 2: label 'middle' is not a class of the model"),
        (
            ("image", "name"),
            [["a.tif", "x"], ["a.tif", "x"]],
            r"line 3: slide name 'x' is already used on line 2",
        ),
        (("image",), [["missing.tif"]], r"line 2: image not found: missing.tif"),
        (("image", "name"), [["a.tif", "a b"]], r"line 2: slide name 'a b' names output files"),
        (("image",), [], r"no slide"),
        (("image", "label"), [["a.tif", ""]], r"line 2: empty label cell"),
        (("image",), [["brain.nii.gz"]], r"line 2: a volume is not a slide"),
    ],
)
def test_bad_sheets_name_the_line(tmp_path: Path, header: tuple[str, ...], rows: list, message: str) -> None:
    write_pyramid(tmp_path / "a.tif", slide_pixels())
    (tmp_path / "brain.nii.gz").write_bytes(b"not read")
    with pytest.raises(InputError, match=rf"slides\.tsv, {message}" if "line" in message else message):
        read_slide_sheet(_sheet(tmp_path, rows, header), ("left", "right"))


def test_without_classes_labels_are_not_checked(tmp_path: Path) -> None:
    write_pyramid(tmp_path / "a.tif", slide_pixels())
    sheet = read_slide_sheet(_sheet(tmp_path, [["a.tif", "anything"]], ("image", "label")), None)
    assert sheet.rows[0].label == "anything"
