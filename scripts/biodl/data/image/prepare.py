"""The image preparation step: sample sheet → tiles in shards, ``metadata.tsv``, ``dataset.json``, preview.

Contract of ``prepare_image(spec, seed, files, threads)``: from one dataset's typed settings
(``biodl.config.datasets.ImageDataset``), into ``files`` (``biodl.data.shards.ImageFiles``),
- Every row of the sample sheet (``biodl.data.image.sample_sheet``) is one image, the selected
  slices of a volume, or a region of either, opened by ``biodl.data.image.formats``. Its tiles
  are ``tile.size`` output pixels square, read at ``tile.level`` or resampled to ``tile.mpp``
  µm/px (``biodl.data.image.sources.choose_resolution``), on a grid with ``tile.stride``
  (default: the size, no overlap); ``tile.edge: pad`` adds tiles overhanging the image's right
  and bottom edges, filled with background. A tile larger than its image or region is an error.
- Tissue: the image's thumbnail (``tissue.resolution`` pixels along a tile's side) is
  thresholded (``biodl.data.image.tiling.tissue_mask``); tiles whose tissue fraction is below
  ``tissue.threshold`` are dropped as background (``biodl.data.image.grid``). A row with no
  tile reaching it is an error ("no tissue found").
- Labels: a label sheet gives each kept tile its image's class. A mask sheet gives the tile
  the majority class of its mask pixels (mask at any downsample, stated or inferred); a tile
  is dropped as unlabelled when less than ``labels.min_labelled`` of it carries a class, and
  as ambiguous when the majority class covers less than ``labels.min_coverage`` of its
  labelled pixels or two classes tie (``biodl.data.image.labelled_tiles``). Drops are counted
  by reason, logged and written to ``dataset.json`` (``tiling.dropped``).
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
  columns for volumes), tissue_fraction, label. The preview PNG (``biodl.data.image.preview``)
  shows the kept tiles over thumbnails.
- Any error leaves no output: shards are built in a temporary folder, and ``dataset.json``
  (which marks the dataset complete) is written last.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from biodl.config.datasets import ImageDataset, RandomSplit
from biodl.core.errors import InputError
from biodl.core.files import atomic_dir, write_json
from biodl.core.vocabulary import SPLITS
from biodl.data import splits
from biodl.data.image.formats import open_mask, open_sources
from biodl.data.image.grid import Tiling
from biodl.data.image.labelled_tiles import ChannelHistogram, DatasetTiling, Tally, TileSinks, tile_source
from biodl.data.image.preview import TilingPreview
from biodl.data.image.sample_sheet import SampleSheet, SheetRow, read_sample_sheet, resolve_classes
from biodl.data.image.sources import ImageSource
from biodl.data.shards import ImageFiles, close_dataset, writer_for

log = logging.getLogger(__name__)

DROP_REASONS = ("background", "unlabelled", "ambiguous")


def prepare_image(spec: ImageDataset, seed: int, files: ImageFiles, threads: int = 1) -> None:
    """Tile one image dataset (see the module contract)."""
    sheet = read_sample_sheet(spec.sample_sheet)
    classes, value_classes = resolve_classes(spec.classes, sheet, spec.key)
    tiling = Tiling.from_settings(spec)
    dataset = DatasetTiling(
        sheet, tiling, classes, value_classes, _row_splits(sheet, spec.split, seed), threads
    )
    tally = Tally()
    histogram = ChannelHistogram()
    preview = TilingPreview(classes, spec.preview.max_images, spec.preview.max_px)
    channels: list[int] = []
    with atomic_dir(files.shards) as tmp:
        sinks = TileSinks(writer_for("image", tmp, spec.shard_size), histogram, preview, tally)
        for image, rows in _rows_by_image(sheet):
            mask = open_mask(rows[0].mask, tiling.axis) if rows[0].mask else None
            for source in open_sources(image, tiling.axis, tiling.percentiles, _wanted_slices(rows)):
                _check_channels(source, channels)
                ours = [
                    row
                    for row in rows
                    if source.slice_index is None or row.includes_slice(source.slice_index)
                ]
                tile_source(dataset, sinks, source, ours, mask)
                preview.prune()
            for row in rows:
                _require_tissue(row, sheet, tally, tiling)
        _check_class_per_split(sheet, classes, value_classes, tally)
        task = "binary" if len(classes) == 2 else "multiclass"
        mean, std = histogram.mean_std()
        description = close_dataset(
            sinks.writer,
            {
                "name": spec.name,
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
            files.metadata,
        )
        preview.save(files.preview)  # after every check, like the other outputs
    write_json(description, files.dataset)


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


def _row_splits(sheet: SampleSheet, settings: RandomSplit, seed: int) -> dict[int, str]:
    """Sheet line → split: as given in the sheet, or whole groups drawn at random."""
    if sheet.rows[0].split is not None:
        return {row.line: row.split for row in sheet.rows}  # type: ignore[misc]
    strata = sheet.labels() if sheet.labels_from == "label" else None
    drawn = splits.grouped_random(
        [row.group for row in sheet.rows],
        strata,
        settings.validation_fraction,
        settings.test_fraction,
        seed,
        str(sheet.path),
    )
    return {row.line: str(split) for row, split in zip(sheet.rows, drawn, strict=True)}


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


def _check_class_per_split(
    sheet: SampleSheet, classes: list[str], value_classes: dict[int, int], tally: Tally
) -> None:
    table = {split: {c: tally.kept[(split, c)] for c in classes} for split in SPLITS}
    for split in SPLITS:
        missing = [c for c in classes if not table[split][c]]
        if missing:
            raise InputError(
                sheet.path,
                f"split {split!r}",
                f"no tiles of class(es) {', '.join(map(repr, missing))}; "
                f"every class needs tiles in every split (tiles per split "
                f"and class: {table}){_mask_values(classes, value_classes, tally)}",
            )


def _mask_values(classes: list[str], value_classes: dict[int, int], tally: Tally) -> str:
    """For masks: which values the masks hold, which the classes take, and which no class takes."""
    if not tally.mask_values:
        return ""
    taken = {
        name: sorted(v for v, k in value_classes.items() if k == number)
        for number, name in enumerate(classes, 1)
    }
    unclaimed = sorted(tally.mask_values - set(value_classes))
    absent = sorted(set(value_classes) - tally.mask_values)
    return (
        f"; the masks hold the values {sorted(tally.mask_values)}, the classes take {taken}"
        + (f"; values {unclaimed} belong to no class (unlabelled)" if unclaimed else "")
        + (f"; values {absent} are in no mask" if absent else "")
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
        "tissue_resolution": tiling.tissue_resolution,
        "intensity_percentiles": list(tiling.percentiles),
        "min_coverage": tiling.min_coverage,
        "min_labelled": tiling.min_labelled,
        "images": tally.images,
        "tiles_considered": tally.considered,
        "tiles_kept": sum(tally.kept.values()),
        "dropped": dropped,
    }
