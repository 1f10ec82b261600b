"""The sheet of slides a ``slides`` apply target maps (no TensorFlow: the workflow reads it for its inputs).

Contract: ``read_slide_sheet(path, classes)`` reads the slides to map: a CSV (``.csv``) or TSV
(any other suffix) with a header, through ``biodl.core.text_input``. Columns: ``image``
(required: a slide OpenSlide opens, or a 2-D image; relative paths against the sheet's folder, kept relative;
a NIfTI volume is refused), ``name`` (optional: the slide's name in the outputs, default the
file's stem, ``<stem>_<x>_<y>`` for a region), ``label`` (optional: the slide's class, one of
``classes`` unless that is None; when the column is there every row needs one), ``region``
(optional: ``x,y,width,height`` in level-0 pixels, only that rectangle is mapped; read by the
image sample sheet's parser, ``biodl.data.image.sample_sheet.parse_region``, so the format and
its errors are the same; an empty cell maps the whole slide). Regions of one slide may overlap:
mapping trains nothing. Names must be unique and made of letters, digits, ``_``, ``.`` and
``-`` (they name files). Each problem raises ``InputError(sheet, "line N", ...)``. No image is
opened here (that a region lies inside its slide is checked when the slide is mapped).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from biodl.core.errors import InputError, require, require_file
from biodl.core.text_input import csv_records
from biodl.data.image.sample_sheet import Region, parse_region

SHEET_COLUMNS = ("image", "name", "label", "region")
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
NIFTI_SUFFIXES = (".nii", ".nii.gz")


@dataclass(frozen=True)
class SlideRow:
    """One slide to map: its file, its name in the outputs, its class when the sheet gives it, the
    rectangle mapped when the sheet gives one (else the whole slide)."""

    line: int
    image: Path
    name: str
    label: str | None
    region: Region | None = None

    @property
    def where(self) -> str:
        return f"line {self.line}"


@dataclass(frozen=True)
class SlideSheet:
    path: Path
    rows: tuple[SlideRow, ...]

    @property
    def labelled(self) -> bool:
        return bool(self.rows) and self.rows[0].label is not None

    @property
    def regional(self) -> bool:
        """Whether a row maps a region rather than its whole slide."""
        return any(row.region is not None for row in self.rows)


def read_slide_sheet(path: str | PathLike[str], classes: Sequence[str] | None) -> SlideSheet:
    """Read and check a sheet of slides (see the module contract)."""
    path = require_file(path, "slide sheet")
    records = csv_records(path, "slide sheet", "," if path.suffix.lower() == ".csv" else "\t")
    header = next(records, None)
    require(
        header is not None, path, "line 1", "no header: expected the columns image[, name][, label][, region]"
    )
    assert header is not None
    columns = [cell.strip() for cell in header[1]]
    unknown = [c for c in columns if c not in SHEET_COLUMNS]
    require(
        not unknown and "image" in columns and len(set(columns)) == len(columns),
        path,
        f"line {header[0]}",
        f"expected the columns image (required), name, label and region (optional), each once; "
        f"found {columns}",
    )
    rows = [_row(path, columns, line, cells, classes) for line, cells in records]
    require(bool(rows), path, None, "no slide: the sheet has a header but no row")
    seen: dict[str, int] = {}
    for row in rows:
        if row.name in seen:
            raise InputError(
                path, row.where, f"slide name {row.name!r} is already used on line {seen[row.name]}"
            )
        seen[row.name] = row.line
    return SlideSheet(path, tuple(rows))


def _row(
    path: Path, columns: list[str], line: int, cells: list[str], classes: Sequence[str] | None
) -> SlideRow:
    where = f"line {line}"
    require(len(cells) == len(columns), path, where, f"expected {len(columns)} cells, found {len(cells)}")
    cell = dict(zip(columns, cells, strict=True))
    require(bool(cell["image"]), path, where, "empty image cell")
    image = path.parent / cell["image"]
    require(image.is_file(), path, where, f"image not found: {cell['image']}")
    require(
        not image.name.lower().endswith(NIFTI_SUFFIXES),
        path,
        where,
        "a volume is not a slide: give slides or 2-D images",
    )
    region = parse_region(path, where, cell.get("region", "").strip())
    stem = image.name.split(".")[0]
    name = cell.get("name") or (stem if region is None else f"{stem}_{region.x}_{region.y}")
    require(
        NAME_PATTERN.fullmatch(name) is not None,
        path,
        where,
        f"slide name {name!r} names output files: use letters, digits, _, . and - only",
    )
    label = cell.get("label")
    require(label != "", path, where, "empty label cell: give every slide its class, or drop the column")
    if label is not None and classes is not None:
        require(
            label in classes,
            path,
            where,
            f"label {label!r} is not a class of the model ({', '.join(classes)})",
        )
    return SlideRow(line, image, name, label, region)
