"""The ``apply_slides`` step: a trained tile model mapped over a sheet of whole slides.

Contract of ``apply_slides(job, sheet, settings, outputs)`` (``job``: a ``SlideJob``, the run's
``dataset.json`` and model file(s), the seed, the threads; ``settings``: a ``SlideSettings``,
the aggregation and the bootstrap of the slide-level metrics), writing atomically:
- ``tiles`` (TSV): every tissue tile of every slide, in sheet order then row by row
  (``biodl.apply.whole_slides``: slide, x, y, size, tissue_fraction, ``p_<class>``);
- ``slides`` (TSV): one row per slide: slide, image, region (when the sheet gives regions:
  ``x,y,width,height``, empty for a whole slide), label (when the sheet gives labels),
  tiles, the aggregated scores and ``predicted`` (``biodl.apply.slide_maps.aggregate``);
- ``metrics`` (TSV, ``metric, target, value, ci_low, ci_high``): slide-level metrics against
  the sheet's labels (``biodl.apply.slide_maps.slide_metrics``), bootstrap over slides; only the
  header when the sheet gives no labels (logged);
- ``maps`` (folder): per slide ``<slide>.heatmap.png`` (probability over the thumbnail) and
  ``<slide>.geojson`` (the tiles for QuPath). A sheet row with a ``region`` is one "slide" of
  the outputs (its tiles only; its heatmap shows the region); every coordinate is in the whole
  slide's level-0 pixels, so the GeoJSONs of several regions of one slide overlay it together.
Slides are mapped one at a time, so memory is bounded by one slide's thumbnail and a chunk of
tiles.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from biodl.apply.slide_maps import Aggregation, aggregate, plot_heatmap, slide_metrics, tiles_geojson
from biodl.apply.slide_sheet import SlideRow, SlideSheet, read_slide_sheet
from biodl.apply.whole_slides import TILE_COLUMNS, SlideTiling, TileModel, load_tile_model, map_slide
from biodl.core.files import atomic_dir, atomic_path, write_tsv
from biodl.evaluation.bootstrap import Resampling
from biodl.evaluation.metrics import METRIC_COLUMNS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlideJob:
    """A trained image run and how to run it."""

    dataset: Path
    models: tuple[Path, ...]
    seed: int
    threads: int

    @classmethod
    def of_rule(cls, snakemake: Any) -> SlideJob:
        """``input.dataset``, ``input.models``, ``params.seed`` and ``threads`` of the rule."""
        return cls(
            Path(snakemake.input.dataset),
            tuple(Path(path) for path in snakemake.input.models),
            snakemake.params.seed,
            snakemake.threads,
        )

    def load(self) -> TileModel:
        from biodl.training.device import configure_tensorflow  # TensorFlow: only when a job runs

        configure_tensorflow(self.seed, self.threads)
        return load_tile_model(self.dataset, self.models)


@dataclass(frozen=True)
class SlideSettings:
    """How slide scores are aggregated and their metrics bootstrapped."""

    aggregation: Aggregation
    resampling: Resampling

    @classmethod
    def from_validated(
        cls, aggregate: Mapping[str, Any], evaluation: Mapping[str, Any], seed: int
    ) -> SlideSettings:
        """From a validated target's ``aggregate`` and the ``evaluation`` section (defaults filled)."""
        return cls(
            Aggregation(aggregate["method"], aggregate["top_k"], aggregate["quantile"]),
            Resampling(seed, evaluation["bootstrap"], evaluation["confidence"]),
        )


def apply_slides(
    job: SlideJob, sheet_path: str | Path, settings: SlideSettings, outputs: Mapping[str, str | Path]
) -> None:
    model = job.load()
    sheet = read_slide_sheet(sheet_path, model.classes)
    tiling = SlideTiling.of_dataset(model.dataset)
    tile_frames, slide_rows = [], []
    with atomic_dir(outputs["maps"]) as maps:
        for row in sheet.rows:
            mapped = map_slide(model, row, tiling, job.threads)
            plot_heatmap(mapped, model.classes, maps / f"{row.name}.heatmap.png")
            with atomic_path(maps / f"{row.name}.geojson") as tmp:
                tmp.write_text(json.dumps(tiles_geojson(mapped.tiles, model.classes)) + "\n")
            tile_frames.append(mapped.tiles)
            slide_rows.append(
                {"slide": row.name, "image": str(row.image), **_row_columns(sheet, row)}
                | aggregate(mapped.tiles, model.classes, settings.aggregation)
            )
    columns = [*TILE_COLUMNS, *(f"p_{name}" for name in model.classes)]
    write_tsv(pd.concat(tile_frames, ignore_index=True)[columns], outputs["tiles"])
    table = pd.DataFrame(slide_rows)
    write_tsv(table, outputs["slides"])
    write_tsv(_metrics(sheet, table, model, settings), outputs["metrics"])


def _row_columns(sheet: SlideSheet, row: SlideRow) -> dict[str, str]:
    """The region and label of a sheet row, as columns of the slide table when the sheet has them."""
    columns = {}
    if sheet.regional:
        r = row.region
        columns["region"] = "" if r is None else f"{r.x},{r.y},{r.width},{r.height}"
    if sheet.labelled:
        assert row.label is not None, "a labelled sheet has a label in every row"
        columns["label"] = row.label
    return columns


def _metrics(
    sheet: SlideSheet, table: pd.DataFrame, model: TileModel, settings: SlideSettings
) -> pd.DataFrame:
    if not sheet.labelled:
        logger.info("the slide sheet gives no labels: no slide-level metrics")
        return pd.DataFrame(columns=METRIC_COLUMNS)
    logger.info(
        "slide-level metrics over %d slide(s), scores aggregated by %s",
        len(table),
        settings.aggregation.method,
    )
    return slide_metrics(table, model.classes, settings.resampling)
