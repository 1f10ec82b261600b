"""The sample sheet of an image dataset: its images, their labels or masks, groups and splits.

Contract:
- ``parse_region(sheet, where, text)`` reads one ``region`` cell (the apply slide sheet reads
  its own with it).
- ``read_sample_sheet(path)`` reads a CSV (``.csv``) or TSV (any other suffix) with a header,
  through ``biodl.core.text_input`` (any line ends, a byte-order mark, lines numbered as in the
  file), and returns a :class:`SampleSheet`, one :class:`SheetRow` per data line. Columns:

  ``image`` (required)  path of a slide, a 2-D image or a NIfTI volume;
  ``label`` or ``mask`` (exactly one of the two columns)  the image's class, or a label mask
      aligned to it (single-channel integer image, or a NIfTI volume on the same grid);
  ``group`` (optional)  what splits keep together (patient, slide, volume); default: the image;
  ``split`` (optional)  ``train``, ``validation`` or ``test`` for every row, fixed by the user;
  ``region`` (optional)  ``x,y,width,height`` in level-0 pixels: only this rectangle is tiled;
  ``slices`` (optional)  ``first-last`` (inclusive) slice indices of a volume; default: all.

  Empty optional cells take the default. Relative paths are resolved against the sheet's
  folder, so a sheet and its images move together; a path written with Windows separators
  (``images\\a.png``) that names no file is read with ``/``. No image is opened here, so the
  configuration check (``biodl.config``) reads the sheet cheaply before any job starts.
- Checked here, each as ``InputError(sheet, "line N", problem)``: missing or unknown columns,
  empty cells, files that do not exist, malformed regions and slice ranges, unknown split
  names, a group placed in two splits, rows of one image with different masks, and rows that
  select overlapping parts of one image (their tiles would share pixels, or be duplicated).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from biodl.core.errors import InputError, require_file
from biodl.core.text_input import csv_records
from biodl.core.vocabulary import SPLITS

REQUIRED_COLUMNS = ("image",)
LABEL_COLUMNS = ("label", "mask")
OPTIONAL_COLUMNS = ("group", "split", "region", "slices")


@dataclass(frozen=True)
class Region:
    """A rectangle in level-0 pixels: columns ``x .. x+width``, rows ``y .. y+height``."""

    x: int
    y: int
    width: int
    height: int

    def overlaps(self, other: Region) -> bool:
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )


@dataclass(frozen=True)
class SheetRow:
    line: int
    image: Path
    label: str | None
    mask: Path | None
    group: str
    split: str | None
    region: Region | None
    slices: tuple[int, int] | None  # first, last (inclusive)

    @property
    def where(self) -> str:
        return f"line {self.line}"

    def includes_slice(self, index: int) -> bool:
        return self.slices is None or self.slices[0] <= index <= self.slices[1]

    def overlaps(self, other: SheetRow) -> bool:
        """Whether the two rows select a common pixel of the same image."""
        if self.image != other.image:
            return False
        if (
            self.slices
            and other.slices
            and (self.slices[1] < other.slices[0] or other.slices[1] < self.slices[0])
        ):
            return False
        return self.region is None or other.region is None or self.region.overlaps(other.region)


@dataclass(frozen=True)
class SampleSheet:
    path: Path
    rows: tuple[SheetRow, ...]
    labels_from: str  # "label" (one class per image) or "mask"

    def files(self) -> Iterator[tuple[str, Path]]:
        """Every image and mask file once, with the line that first names it."""
        seen: set[Path] = set()
        for row in self.rows:
            for kind, path in (("image", row.image), ("mask", row.mask)):
                if path is not None and path not in seen:
                    seen.add(path)
                    yield f"{row.where} {kind}", path

    def labels(self) -> list[str]:
        """The per-image labels in sheet order (label sheets only)."""
        return [row.label for row in self.rows if row.label is not None]


def read_sample_sheet(path: str | PathLike[str]) -> SampleSheet:
    """Read and check a sample sheet (see the module contract)."""
    path = require_file(path, "sample sheet")
    delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    records = csv_records(path, "sample sheet", delimiter)
    columns = [c.strip() for c in next(records, (0, []))[1]]
    labels_from = _check_header(path, columns)
    rows = []
    for number, cells in records:
        if len(cells) > len(columns):
            raise InputError(path, f"line {number}", f"more cells than the {len(columns)} header columns")
        if any(cell.strip() for cell in cells):
            rows.append(_row(path, number, dict(zip(columns, cells, strict=False)), labels_from))
    if not rows:
        raise InputError(path, None, "the sample sheet lists no images")
    _check_splits(path, rows, "split" in columns)
    _check_same_image_rows(path, rows)
    return SampleSheet(path, tuple(rows), labels_from)


def _check_header(path: Path, columns: list[str]) -> str:
    allowed = (*REQUIRED_COLUMNS, *LABEL_COLUMNS, *OPTIONAL_COLUMNS)
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        raise InputError(path, "header", f"unknown column(s) {unknown}; allowed: {', '.join(allowed)}")
    if "image" not in columns:
        raise InputError(path, "header", f"the column 'image' is required; found {columns}")
    given = [c for c in LABEL_COLUMNS if c in columns]
    if len(given) != 1:
        raise InputError(
            path,
            "header",
            f"give exactly one of the columns 'label' (one class per image) or 'mask' "
            f"(a label mask per image); found {given or 'neither'}",
        )
    return given[0]


def _cell(record: dict[str, str], column: str) -> str:
    return (record.get(column) or "").strip()


def _file(sheet: Path, where: str, column: str, value: str) -> Path:
    if not value:
        raise InputError(sheet, where, f"empty {column!r} cell")
    path = Path(value) if Path(value).is_absolute() else sheet.parent / value
    if not path.is_file() and "\\" in value:  # a sheet written on Windows: images\a.png
        posix = Path(value.replace("\\", "/"))
        path = posix if posix.is_absolute() else sheet.parent / posix
    if not path.is_file():
        raise InputError(sheet, where, f"{column} file not found: {path}")
    return path


def _row(sheet: Path, number: int, record: dict[str, str], labels_from: str) -> SheetRow:
    where = f"line {number}"
    image = _file(sheet, where, "image", _cell(record, "image"))
    label = mask = None
    if labels_from == "label":
        label = _cell(record, "label")
        if not label:
            raise InputError(sheet, where, "empty 'label' cell")
    else:
        mask = _file(sheet, where, "mask", _cell(record, "mask"))
    split = _cell(record, "split") or None
    if split is not None and split not in SPLITS:
        raise InputError(sheet, where, f"split must be one of {', '.join(SPLITS)}, found {split!r}")
    return SheetRow(
        line=number,
        image=image,
        label=label,
        mask=mask,
        group=_cell(record, "group") or str(image),
        split=split,
        region=parse_region(sheet, where, _cell(record, "region")),
        slices=_slices(sheet, where, _cell(record, "slices")),
    )


def parse_region(sheet: Path, where: str, text: str) -> Region | None:
    """A ``region`` cell (``x,y,width,height``, whole level-0 pixels); None when it is empty."""
    if not text:
        return None
    try:
        x, y, width, height = (int(part) for part in text.split(","))
    except ValueError:
        raise InputError(
            sheet, where, f"region must be 'x,y,width,height' (whole level-0 pixels), found {text!r}"
        ) from None
    if x < 0 or y < 0 or width < 1 or height < 1:
        raise InputError(sheet, where, f"region needs x, y >= 0 and width, height >= 1, found {text!r}")
    return Region(x, y, width, height)


def _slices(sheet: Path, where: str, text: str) -> tuple[int, int] | None:
    if not text:
        return None
    first, _, last = text.partition("-")
    try:
        bounds = int(first), int(last or first)
    except ValueError:
        raise InputError(sheet, where, f"slices must be 'first-last' or one index, found {text!r}") from None
    if bounds[0] < 0 or bounds[1] < bounds[0]:
        raise InputError(sheet, where, f"slices need 0 <= first <= last, found {text!r}")
    return bounds


def _check_splits(sheet: Path, rows: list[SheetRow], has_split_column: bool) -> None:
    """Splits are given for every row or for none, and a group never spans two splits."""
    if has_split_column:
        for row in rows:
            if row.split is None:
                raise InputError(
                    sheet,
                    row.where,
                    "empty 'split' cell: give a split for every row, or drop the column "
                    "to split groups at random",
                )
    first_of_group: dict[str, SheetRow] = {}
    for row in rows:
        first = first_of_group.setdefault(row.group, row)
        if row.split != first.split:
            raise InputError(
                sheet,
                row.where,
                f"group {row.group!r} is in split {first.split!r} on {first.where} but in "
                f"{row.split!r} here; a group must stay in one split",
            )


def _check_same_image_rows(sheet: Path, rows: list[SheetRow]) -> None:
    by_image: dict[Path, list[SheetRow]] = {}
    for row in rows:
        for earlier in by_image.get(row.image, []):
            if row.mask != earlier.mask:
                raise InputError(
                    sheet,
                    row.where,
                    f"image {row.image} has mask {earlier.mask} on {earlier.where} but "
                    f"{row.mask} here; one image has one mask",
                )
            if row.overlaps(earlier):
                raise InputError(
                    sheet,
                    row.where,
                    f"selects part of image {row.image} that {earlier.where} selects too "
                    "(set non-overlapping regions or slice ranges)",
                )
        by_image.setdefault(row.image, []).append(row)


def resolve_classes(
    classes: Sequence[str] | Mapping[str, int | Sequence[int]] | None, sheet: SampleSheet, key: str
) -> tuple[list[str], dict[int, int]]:
    """Class names in order, and (mask sheets) each mask value's class number 1..K.

    Label sheets take ``classes`` as a list (default: the sheet's labels, sorted) and every
    label must be one of them; mask sheets need a mapping class name → mask value(s), each
    value in one class at most. ``key`` names the dataset in messages.
    """
    if sheet.labels_from == "mask":
        if not isinstance(classes, Mapping):
            raise InputError(
                "config",
                f"{key}.classes",
                "labels from masks need classes as a mapping class name → mask "
                "value(s), e.g. {stroma: [1], tumour: [2]}",
            )
        value_classes: dict[int, int] = {}
        for number, (name, values) in enumerate(classes.items(), start=1):
            for value in [values] if isinstance(values, int) else values:
                if value in value_classes:
                    owner = list(classes)[value_classes[value] - 1]
                    raise InputError(
                        "config",
                        f"{key}.classes.{name}",
                        f"mask value {value} already belongs to class {owner!r}",
                    )
                value_classes[value] = number
        names = list(classes)
    else:
        if isinstance(classes, Mapping):
            raise InputError(
                "config",
                f"{key}.classes",
                "per-image labels take classes as a list of names "
                "(a mapping to mask values is for mask sheets)",
            )
        names = list(classes) if classes else sorted(set(sheet.labels()))
        for row in sheet.rows:
            if row.label not in names:
                raise InputError(
                    sheet.path, row.where, f"label {row.label!r} is not one of the classes {names}"
                )
        value_classes = {}
    if len(names) < 2:
        raise InputError(
            "config", f"{key}.classes", f"a classification needs at least two classes, found {names}"
        )
    return names, value_classes
