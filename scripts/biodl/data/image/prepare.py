"""The image preparation step: sample sheet → tiles in shards, ``metadata.tsv``, ``dataset.json``, preview.

Contract of ``prepare_image(name, spec, seed, dataset_json, metadata_tsv, shards_dir, preview_png, threads)``:
- Every row of the sample sheet (``biodl.data.image.sample_sheet``) is one image, the selected slices of a
  volume, or a region of either. Its tiles are ``tile.size`` output pixels square, read at
  ``tile.level`` or resampled to ``tile.mpp`` µm/px (``biodl.data.image.sources.choose_resolution``), on
  a grid with ``tile.stride`` (default: the size, no overlap); ``tile.edge: pad`` adds tiles
  overhanging the image's right and bottom edges, filled with background. A tile larger than
  its image or region is an error.
- Tissue: the image's thumbnail (``tissue.resolution`` pixels along a tile's side) is
  thresholded (``biodl.data.image.tiling.tissue_mask``); tiles whose tissue fraction is below
  ``tissue.threshold`` are dropped as background. A row with no tile reaching it is an error
  ("no tissue found").
- Labels: a label sheet gives each kept tile its image's class. A mask sheet gives the tile
  the majority class of its mask pixels (mask at any downsample, stated or inferred); a tile
  is dropped as unlabelled when less than ``labels.min_labelled`` of it carries a class, and
  as ambiguous when the majority class covers less than ``labels.min_coverage`` of its
  labelled pixels or two classes tie. Drops are counted by reason, logged and written to
  ``dataset.json`` (``tiling.dropped``).
- Splits: the sheet's ``split`` column, or whole groups drawn at random
  (``biodl.data.splits.grouped_random``, stratified by label for label sheets) with the config's
  seed; a group never spans two splits. Every class needs tiles in every split, else an
  error names the sheet and the counts.
- Only kept tiles are read, region by region, ``threads`` at a time, and written shard by
  shard (``biodl.data.shards``): ``x`` uint8 ``(n, size, size, channels)``, ``y`` float32 (binary:
  1 for ``classes[1]``; multi-class: one-hot). ``channel_mean`` / ``channel_std`` (0-255
  units) are computed exactly from the training tiles only (a histogram per channel).
- ``metadata.tsv``: image (``path``, or ``path#z=40`` for slice 40 of a volume cut along z),
  group, level, x and y (level-0 pixels of the tile's top-left corner, in the slice's rows and
  columns for volumes), tissue_fraction, label. The preview PNG (``biodl.data.image.preview``) shows the
  kept tiles over thumbnails.
- Any error leaves no output: shards are built in a temporary folder, and ``dataset.json``
  (which marks the dataset complete) is written last.
- ``image_grid(source, tiling)`` / ``ImageGrid.tiles`` / ``read_tiles`` are the tiling core
  on its own (grid, tissue fractions, pixels), without labels or writing; the benchmark
  ``benchmarks/tile_vs_histolab.py`` times them.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biodl.core.errors import InputError
from biodl.core.files import atomic_dir, write_json
from biodl.core.vocabulary import SPLITS
from biodl.data import splits
from biodl.data.image.preview import TilingPreview
from biodl.data.image.sample_sheet import SampleSheet, SheetRow, read_sample_sheet, resolve_classes
from biodl.data.image.sources import (
    ImageSource,
    LabelImage,
    Resolution,
    choose_resolution,
    open_mask,
    open_sources,
    read_tile,
)
from biodl.data.image.tiling import (
    box_fractions,
    boxes,
    class_plane,
    mask_downsample,
    tile_classes,
    tile_grid,
    tissue_mask,
)
from biodl.data.shards import ShardWriter, close_dataset, writer_for

log = logging.getLogger(__name__)

# Tiles read and handed to the shard writer at a time (memory: this many tiles of pixels).
CHUNK_PIXELS = 1 << 24
# Longest thumbnail side used for tissue detection, whatever the tile size (bounds its memory).
MAX_THUMBNAIL_SIDE = 8192
DROP_REASONS = ("background", "unlabelled", "ambiguous")


@dataclass(frozen=True)
class Tiling:
    """The settings of one dataset's tiling, from its config entry."""

    size: int
    stride: int
    level: int | None
    mpp: float | None
    pad: bool
    background: str
    tissue_threshold: float
    tissue_resolution: int
    min_coverage: float
    min_labelled: float
    mask_downsample: float | None
    axis: str
    percentiles: tuple[float, float]

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Tiling:
        tiles, tissue, labels = spec["tile"], spec["tissue"], spec["labels"]
        return cls(
            size=tiles["size"],
            stride=tiles["stride"] or tiles["size"],
            level=tiles["level"],
            mpp=tiles["mpp"],
            pad=tiles["edge"] == "pad",
            background=tissue["background"],
            tissue_threshold=tissue["threshold"],
            tissue_resolution=tissue["resolution"],
            min_coverage=labels["min_coverage"],
            min_labelled=labels["min_labelled"],
            mask_downsample=labels["mask_downsample"],
            axis=spec["nifti_axis"],
            percentiles=tuple(spec["intensity_percentiles"]),
        )

    @property
    def fill(self) -> int:
        """Pixel value outside an image: the background's."""
        return 255 if self.background == "light" else 0


class ChannelHistogram:
    """Exact per-channel mean and standard deviation of uint8 tiles, from value counts."""

    def __init__(self) -> None:
        self.counts: np.ndarray | None = None

    def add(self, tiles: np.ndarray) -> None:
        counts = np.stack([np.bincount(tiles[..., c].ravel(), minlength=256) for c in range(tiles.shape[-1])])
        self.counts = counts if self.counts is None else self.counts + counts

    def mean_std(self) -> tuple[list[float], list[float]]:
        assert self.counts is not None, "no training tiles were added"
        values = np.arange(256, dtype=np.float64)
        total = self.counts.sum(axis=1)
        mean = self.counts @ values / total
        variance = self.counts @ values**2 / total - mean**2
        return [round(float(m), 4) for m in mean], [
            round(float(s), 4) for s in np.sqrt(np.maximum(variance, 0))
        ]


@dataclass
class Tally:
    """What happened to the tiles, for the log, the checks and ``dataset.json``."""

    considered: int = 0
    images: int = 0

    def __post_init__(self) -> None:
        self.dropped: Counter[str] = Counter()
        self.kept: Counter[tuple[str, str]] = Counter()  # (split, class) → tiles
        self.tissue_rows: Counter[int] = Counter()  # sheet line → tiles with enough tissue
        self.best_tissue: dict[int, float] = {}
        self.levels: set[int] = set()


def prepare_image(
    name: str,
    spec: dict[str, Any],
    seed: int,
    dataset_json: Path,
    metadata_tsv: Path,
    shards_dir: Path,
    preview_png: Path,
    threads: int = 1,
) -> None:
    """Tile one image dataset (see the module contract)."""
    key = f"datasets.{name}"
    sheet = read_sample_sheet(spec["sample_sheet"])
    classes, value_classes = resolve_classes(spec.get("classes"), sheet, key)
    tiling = Tiling.from_spec(spec)
    row_splits = _row_splits(sheet, spec["split"], seed)
    tally = Tally()
    histogram = ChannelHistogram()
    preview = TilingPreview(classes, spec["preview"]["max_images"], spec["preview"]["max_px"])
    channels: list[int] = []
    with atomic_dir(shards_dir) as tmp:
        writer = writer_for("image", tmp, spec["shard_size"])
        for image, rows in _rows_by_image(sheet):
            mask = open_mask(rows[0].mask, tiling.axis) if rows[0].mask else None
            for source in open_sources(image, tiling.axis, tiling.percentiles, _wanted_slices(rows)):
                _check_channels(source, channels)
                ours = [
                    row
                    for row in rows
                    if source.slice_index is None or row.includes_slice(source.slice_index)
                ]
                _tile_source(
                    source,
                    ours,
                    row_splits,
                    mask,
                    sheet,
                    tiling,
                    classes,
                    value_classes,
                    writer,
                    histogram,
                    preview,
                    tally,
                    threads,
                )
                preview.prune()
            for row in rows:
                _require_tissue(row, sheet, tally, tiling)
        _check_class_per_split(sheet, classes, tally)
        task = "binary" if len(classes) == 2 else "multiclass"
        mean, std = histogram.mean_std()
        description = close_dataset(
            writer,
            {
                "name": name,
                "modality": "image",
                "task": task,
                "classes": classes,
                "targets": classes[1:] if task == "binary" else classes,
                "input_shape": [tiling.size, tiling.size, channels[0]],
                "seed": seed,
                "channel_mean": mean,
                "channel_std": std,
                "sample_sheet": str(sheet.path),
                "labels_from": sheet.labels_from,
                "tiling": _tiling_summary(tiling, tally),
            },
            str(sheet.path),
            metadata_tsv,
        )
        preview.save(preview_png)  # after every check, like the other outputs
    write_json(description, dataset_json)


def _rows_by_image(sheet: SampleSheet) -> Iterator[tuple[Path, list[SheetRow]]]:
    """Rows grouped by image file, in sheet order, so each file is opened once."""
    by_image: dict[Path, list[SheetRow]] = {}
    for row in sheet.rows:
        by_image.setdefault(row.image, []).append(row)
    yield from by_image.items()


def _wanted_slices(rows: list[SheetRow]) -> set[int] | None:
    if any(row.slices is None for row in rows):
        return None
    return {i for row in rows for i in range(row.slices[0], row.slices[1] + 1)}  # type: ignore[index]


def _row_splits(sheet: SampleSheet, settings: dict[str, float], seed: int) -> dict[int, str]:
    """Sheet line → split: as given in the sheet, or whole groups drawn at random."""
    if sheet.rows[0].split is not None:
        return {row.line: row.split for row in sheet.rows}  # type: ignore[misc]
    strata = sheet.labels() if sheet.labels_from == "label" else None
    drawn = splits.grouped_random(
        [row.group for row in sheet.rows],
        strata,
        settings["validation_fraction"],
        settings["test_fraction"],
        seed,
        str(sheet.path),
    )
    return {row.line: str(split) for row, split in zip(sheet.rows, drawn)}


def _check_channels(source: ImageSource, channels: list[int]) -> None:
    if not channels:
        channels.append(source.channels)
    elif source.channels != channels[0]:
        raise InputError(
            source.name,
            None,
            f"has {source.channels} channel(s) but the dataset's first image has "
            f"{channels[0]}; every image of a dataset needs the same channels",
        )


@dataclass(frozen=True)
class ImageGrid:
    """One image made ready for tiling: where its tiles are read, and where its tissue is."""

    resolution: Resolution
    footprint: float  # level-0 pixels along a tile's side
    step: float  # level-0 pixels between neighbouring tiles
    factor: int  # level-0 pixels per thumbnail pixel
    thumbnail: np.ndarray
    tissue: np.ndarray  # on the thumbnail

    def tiles(
        self, region: tuple[int, int, int, int], pad_right: bool, pad_bottom: bool
    ) -> tuple[np.ndarray, ...]:
        """Origins (level-0 x, y) of the region's grid, and each tile's tissue fraction."""
        xs, ys = tile_grid(*region, self.footprint, self.step, pad_right, pad_bottom)
        return xs, ys, box_fractions(self.tissue, boxes(xs, ys, self.footprint, self.factor))


def image_grid(source: ImageSource, tiling: Tiling) -> ImageGrid:
    """Resolution, tile footprint and tissue mask of one image; a tile larger than the image is an error."""
    resolution = choose_resolution(source, tiling.level, tiling.mpp)
    footprint = tiling.size * resolution.downsample
    width, height = source.size
    if footprint > min(width, height):
        raise InputError(
            source.name,
            None,
            f"a tile ({tiling.size} px at level {resolution.level}, scale "
            f"{resolution.scale:.3g}) covers {footprint:.0f}x{footprint:.0f} level-0 px: "
            f"larger than the image ({width}x{height})",
        )
    # The thumbnail has tissue.resolution pixels along a tile's side (bounded in size).
    factor = max(
        1,
        math.floor(footprint / tiling.tissue_resolution),
        math.ceil(max(width, height) / MAX_THUMBNAIL_SIDE),
    )
    thumbnail = source.thumbnail(factor)
    tissue = tissue_mask(thumbnail, tiling.background, footprint / factor)
    return ImageGrid(resolution, footprint, tiling.stride * resolution.downsample, factor, thumbnail, tissue)


def _tile_source(
    source: ImageSource,
    rows: list[SheetRow],
    row_splits: dict[int, str],
    mask: LabelImage | None,
    sheet: SampleSheet,
    tiling: Tiling,
    classes: list[str],
    value_classes: dict[int, int],
    writer: ShardWriter,
    histogram: ChannelHistogram,
    preview: TilingPreview,
    tally: Tally,
    threads: int,
) -> None:
    """Tile every row's part of one image and write the kept tiles."""
    grid = image_grid(source, tiling)
    footprint = grid.footprint
    width, height = source.size
    plane, mask_factor = None, 1.0
    if mask is not None:
        values = mask.plane(source.slice_index)
        mask_factor = mask_downsample(source.size, values.shape, tiling.mask_downsample, mask.path)
        plane = class_plane(values, value_classes)
    tally.images += 1
    tally.levels.add(grid.resolution.level)
    for row in rows:
        region = _region(row, sheet, source)
        if footprint > min(region[2], region[3]):
            raise InputError(
                sheet.path,
                row.where,
                f"a tile covers {footprint:.0f}x{footprint:.0f} level-0 px: larger "
                f"than the region {region[2]}x{region[3]} of {source.name}",
            )
        xs, ys, fractions = grid.tiles(
            region,
            pad_right=tiling.pad and region[0] + region[2] >= width,
            pad_bottom=tiling.pad and region[1] + region[3] >= height,
        )
        tally.considered += len(xs)
        with_tissue = fractions >= tiling.tissue_threshold
        tally.dropped["background"] += int((~with_tissue).sum())
        tally.tissue_rows[row.line] += int(with_tissue.sum())
        tally.best_tissue[row.line] = max(
            tally.best_tissue.get(row.line, 0.0), float(fractions.max(initial=0.0))
        )
        xs, ys, fractions = xs[with_tissue], ys[with_tissue], fractions[with_tissue]
        labels = _labels(row, xs, ys, footprint, plane, mask_factor, classes, tiling, tally)
        keep = labels >= 0
        split = row_splits[row.line]
        _write(
            source,
            grid.resolution,
            row,
            split,
            xs[keep],
            ys[keep],
            fractions[keep],
            labels[keep],
            classes,
            tiling,
            writer,
            histogram,
            tally,
            threads,
        )
        preview.add(
            source.name,
            grid.thumbnail,
            grid.factor,
            region,
            split,
            boxes(xs[keep], ys[keep], footprint, 1.0),
            labels[keep],
        )


def _region(row: SheetRow, sheet: SampleSheet, source: ImageSource) -> tuple[int, int, int, int]:
    """The row's region (x, y, width, height in level-0 px), checked to lie inside the image."""
    width, height = source.size
    if row.region is None:
        return 0, 0, width, height
    r = row.region
    if r.x + r.width > width or r.y + r.height > height:
        raise InputError(
            sheet.path,
            row.where,
            f"region {r.x},{r.y},{r.width},{r.height} extends past the image "
            f"{source.name} ({width}x{height})",
        )
    return r.x, r.y, r.width, r.height


def _labels(
    row: SheetRow,
    xs: np.ndarray,
    ys: np.ndarray,
    footprint: float,
    plane: np.ndarray | None,
    mask_factor: float,
    classes: list[str],
    tiling: Tiling,
    tally: Tally,
) -> np.ndarray:
    """Class number (0..K-1) per tile, -1 for tiles dropped as unlabelled or ambiguous."""
    if plane is None:
        return np.full(len(xs), classes.index(row.label), dtype=np.int64)  # type: ignore[arg-type]
    found = tile_classes(plane, boxes(xs, ys, footprint, mask_factor), len(classes))
    unlabelled = found.labelled < tiling.min_labelled
    ambiguous = ~unlabelled & ((found.coverage < tiling.min_coverage) | found.tied)
    tally.dropped["unlabelled"] += int(unlabelled.sum())
    tally.dropped["ambiguous"] += int(ambiguous.sum())
    return np.where(unlabelled | ambiguous, -1, found.index - 1)


def _write(
    source: ImageSource,
    resolution: Resolution,
    row: SheetRow,
    split: str,
    xs: np.ndarray,
    ys: np.ndarray,
    fractions: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    tiling: Tiling,
    writer: ShardWriter,
    histogram: ChannelHistogram,
    tally: Tally,
    threads: int,
) -> None:
    """Read the kept tiles chunk by chunk and hand them to the shard writer."""
    chunk = max(1, CHUNK_PIXELS // (tiling.size * tiling.size))
    for start in range(0, len(xs), chunk):
        part = slice(start, start + chunk)
        pixels = read_tiles(source, resolution, xs[part], ys[part], tiling, threads)
        if split == "train":
            histogram.add(pixels)
        names = np.array(classes, dtype=object)[labels[part]]
        meta = pd.DataFrame(
            {
                "image": source.name,
                "group": row.group,
                "level": resolution.level,
                "x": xs[part],
                "y": ys[part],
                "tissue_fraction": np.round(fractions[part], 4),
                "label": names,
            }
        )
        writer.add(split, pixels, _targets(labels[part], len(classes)), meta)
        for label in names:
            tally.kept[(split, label)] += 1


def read_tiles(
    source: ImageSource, resolution: Resolution, xs: np.ndarray, ys: np.ndarray, tiling: Tiling, threads: int
) -> np.ndarray:
    """The tiles at level-0 origins ``xs``, ``ys``, as uint8 ``(n, size, size, channels)``."""
    out = np.empty((len(xs), tiling.size, tiling.size, source.channels), dtype=np.uint8)

    def read(i: int) -> None:
        out[i] = read_tile(source, resolution, int(xs[i]), int(ys[i]), tiling.size, tiling.fill)

    if threads > 1 and len(xs) > 1:
        # OpenSlide and Pillow release the GIL while decoding, so region reads overlap.
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(read, range(len(xs))))
    else:
        for i in range(len(xs)):
            read(i)
    return out


def _targets(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """float32 targets: binary (n, 1) with 1 for the second class; multi-class one-hot (n, K)."""
    if n_classes == 2:
        return labels.astype(np.float32)[:, None]
    return np.eye(n_classes, dtype=np.float32)[labels]


def _require_tissue(row: SheetRow, sheet: SampleSheet, tally: Tally, tiling: Tiling) -> None:
    if tally.tissue_rows[row.line] == 0:
        part = ", ".join(
            p
            for p in (
                f"region {row.region}" if row.region else "",
                f"slices {row.slices[0]}-{row.slices[1]}" if row.slices else "",
            )
            if p
        )
        raise InputError(
            row.image,
            f"sample sheet {sheet.path} {row.where}" + (f" ({part})" if part else ""),
            f"no tissue found: no tile reaches the tissue threshold {tiling.tissue_threshold} (largest "
            f"tissue fraction {tally.best_tissue.get(row.line, 0.0):.2f}; tissue.background is "
            f"{tiling.background!r})",
        )


def _check_class_per_split(sheet: SampleSheet, classes: list[str], tally: Tally) -> None:
    table = {split: {c: tally.kept[(split, c)] for c in classes} for split in SPLITS}
    for split in SPLITS:
        missing = [c for c in classes if not table[split][c]]
        if missing:
            raise InputError(
                sheet.path,
                f"split {split!r}",
                f"no tiles of class(es) {', '.join(map(repr, missing))}; "
                f"every class needs tiles in every split (tiles per split "
                f"and class: {table})",
            )


def _tiling_summary(tiling: Tiling, tally: Tally) -> dict[str, Any]:
    dropped = {reason: int(tally.dropped[reason]) for reason in DROP_REASONS}
    log.info(
        "%d image(s), %d tile positions: kept %d, dropped %s",
        tally.images,
        tally.considered,
        sum(tally.kept.values()),
        dropped,
    )
    return {
        "tile_size": tiling.size,
        "stride": tiling.stride,
        "level": tiling.level,
        "mpp": tiling.mpp,
        "levels_read": sorted(tally.levels),
        "edge": "pad" if tiling.pad else "drop",
        "tissue_background": tiling.background,
        "tissue_threshold": tiling.tissue_threshold,
        "min_coverage": tiling.min_coverage,
        "min_labelled": tiling.min_labelled,
        "images": tally.images,
        "tiles_considered": tally.considered,
        "tiles_kept": sum(tally.kept.values()),
        "dropped": dropped,
    }
