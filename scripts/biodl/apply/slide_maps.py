"""What a slide's tile scores become: a heatmap over the thumbnail, a QuPath overlay, slide scores.

Contract (tiles as ``biodl.apply.whole_slides`` scores them: level-0 ``x``, ``y`` of the top-left
corner, side ``size`` in level-0 pixels, ``p_<class>`` per class):
- ``probability_raster(tiles, column, shape, factor)`` is a ``(h, w)`` float array over a
  thumbnail ``factor`` times smaller than level 0: each thumbnail pixel holds the mean score of
  the tiles whose box ``[x, x + size) × [y, y + size)`` covers the pixel's centre, NaN where no
  tile does. So a tile lands exactly on the thumbnail pixels it covers (overlapping tiles
  averaged).
- ``plot_heatmap(slide, classes, path)`` writes a PNG: per mapped class (binary: the positive
  class; multi-class: each) a panel with the thumbnail in grey, the raster over it (viridis,
  0-1, semi-transparent, glass left clear), axes in the whole slide's level-0 pixels (the
  thumbnail drawn with the extent it covers at level 0) limited to the mapped rectangle (the
  whole slide, or the sheet row's region: a region's panel shows that region, its axes read in
  slide coordinates like the tiles TSV and the GeoJSON), a colour bar "P(class)" and a title
  with the slide's name and tile count; it returns the ``Figure``.
- ``tiles_geojson(tiles, classes)`` is a GeoJSON ``FeatureCollection`` that QuPath imports
  (File > Import objects): one ``Feature`` per tile, a closed ``Polygon`` of its box in
  level-0 pixels, ``properties``: ``objectType`` ``"tile"``, ``classification`` (the most
  probable class's ``name`` and ``color`` ``[r, g, b]``) and ``measurements`` (``p_<class>``).
- ``aggregate(tiles, classes, settings)`` gives a slide's scores per class from its tiles'
  scores: ``mean_<class>`` (mean over the tiles), ``top<k>_<class>`` (mean of the ``k``
  highest; all tiles when there are fewer), ``q<quantile>_<class>`` (the quantile, linear
  interpolation), plus ``tiles``; ``score_<class>`` repeats the ``method`` chosen, which
  ``predicted`` (the most probable class) and the slide-level metrics use.
- ``slide_metrics(table, classes, resampling)`` compares those scores with the
  sheet's slide labels with ``biodl.evaluation.metrics.compute_metrics`` (bootstrap intervals
  over slides); ``f1_best`` and ``threshold_best``, which need a separate validation set, are
  left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from biodl.core.files import atomic_path
from biodl.evaluation.bootstrap import Resampling
from biodl.evaluation.metrics import compute_metrics
from biodl.evaluation.predictions import Scores

if TYPE_CHECKING:  # whole_slides imports Keras, which the maps do without
    from biodl.apply.whole_slides import SlideMap

AGGREGATIONS = ("mean", "top_k_mean", "quantile")
HEATMAP_COLOURS = "viridis"
DPI = 150
PANEL_INCHES = 6.0
# Classification colours in QuPath (tab10 as 0-255 RGB), one per class in order.
CLASS_COLOURS = [[round(255 * c) for c in colour[:3]] for colour in colormaps["tab10"].colors]  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Aggregation:
    """How tile scores become slide scores: the ``method`` used for calls and metrics, its k and quantile."""

    method: str = "mean"
    top_k: int = 10
    quantile: float = 0.9

    def __post_init__(self) -> None:
        if self.method not in AGGREGATIONS or self.top_k < 1 or not 0 <= self.quantile <= 1:
            raise ValueError(f"invalid aggregation {self}")

    def column(self, name: str) -> str:
        """The column of class ``name`` that ``method`` fills."""
        prefix = {"mean": "mean", "top_k_mean": f"top{self.top_k}", "quantile": f"q{self.quantile:g}"}
        return f"{prefix[self.method]}_{name}"


def mapped_classes(classes: Sequence[str]) -> list[str]:
    """The classes drawn: the positive class of a binary model, every class otherwise."""
    return list(classes[1:]) if len(classes) == 2 else list(classes)


def probability_raster(tiles: pd.DataFrame, column: str, shape: tuple[int, int], factor: float) -> np.ndarray:
    """Mean score of the tiles covering each thumbnail pixel's centre (NaN: none)."""
    height, width = shape
    total = np.zeros(shape, dtype=np.float64)
    count = np.zeros(shape, dtype=np.int64)
    x, y, size = (tiles[c].to_numpy(np.float64) for c in ("x", "y", "size"))
    # Pixel i's centre (i + 0.5) * factor lies in [x, x + size) when i is in [first, last).
    first_x = np.clip(np.ceil(x / factor - 0.5), 0, width).astype(np.int64)
    last_x = np.clip(np.ceil((x + size) / factor - 0.5), 0, width).astype(np.int64)
    first_y = np.clip(np.ceil(y / factor - 0.5), 0, height).astype(np.int64)
    last_y = np.clip(np.ceil((y + size) / factor - 0.5), 0, height).astype(np.int64)
    for value, x0, x1, y0, y1 in zip(
        tiles[column].to_numpy(np.float64), first_x, last_x, first_y, last_y, strict=True
    ):
        total[y0:y1, x0:x1] += value
        count[y0:y1, x0:x1] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def plot_heatmap(slide: SlideMap, classes: Sequence[str], path: str | PathLike[str]) -> Figure:
    """The slide's probability map(s) over its thumbnail (see the module contract)."""
    shown = mapped_classes(classes)
    left, top, width, height = slide.bounds
    aspect = height / width
    fig = Figure(figsize=(PANEL_INCHES * len(shown), PANEL_INCHES * aspect + 0.8))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(shown), squeeze=False)[0]
    grey = slide.thumbnail.mean(axis=2) if slide.thumbnail.ndim == 3 else slide.thumbnail
    thumb_extent = (  # thumbnail pixels cover factor level-0 px each
        0.0,
        float(slide.thumbnail.shape[1] * slide.factor),
        float(slide.thumbnail.shape[0] * slide.factor),
        0.0,
    )
    for ax, name in zip(axes, shown, strict=True):
        raster = probability_raster(slide.tiles, f"p_{name}", slide.thumbnail.shape[:2], slide.factor)
        ax.imshow(grey, cmap="gray", vmin=0, vmax=255, extent=thumb_extent, interpolation="nearest")
        image = ax.imshow(
            np.ma.masked_invalid(raster),
            cmap=HEATMAP_COLOURS,
            vmin=0.0,
            vmax=1.0,
            alpha=0.65,
            extent=thumb_extent,
            interpolation="nearest",
        )
        ax.set_xlim(left, left + width)
        ax.set_ylim(top + height, top)
        ax.set_xlabel("x (level-0 pixels)")
        ax.set_ylabel("y (level-0 pixels)")
        ax.set_title(f"{slide.name}: P({name}), {len(slide.tiles)} tissue tiles", fontsize=10)
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02)
        bar.set_label(f"P({name}) per tile (glass: no tile)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    return fig


def tiles_geojson(tiles: pd.DataFrame, classes: Sequence[str]) -> dict[str, Any]:
    """The tiles as a QuPath-importable GeoJSON FeatureCollection (see the module contract)."""
    columns = [f"p_{name}" for name in classes]
    scores = tiles[columns].to_numpy(np.float64)
    best = scores.argmax(axis=1) if len(tiles) else np.zeros(0, np.int64)
    features = []
    for i, (x, y, size) in enumerate(tiles[["x", "y", "size"]].to_numpy(np.float64)):
        ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [[[float(a), float(b)] for a, b in ring]]},
                "properties": {
                    "objectType": "tile",
                    "classification": {
                        "name": classes[best[i]],
                        "color": CLASS_COLOURS[best[i] % len(CLASS_COLOURS)],
                    },
                    "measurements": {c: round(float(v), 6) for c, v in zip(columns, scores[i], strict=True)},
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def aggregate(tiles: pd.DataFrame, classes: Sequence[str], settings: Aggregation) -> dict[str, Any]:
    """One slide's scores per class from its tiles' scores (see the module contract)."""
    row: dict[str, Any] = {"tiles": len(tiles)}
    for name in classes:
        scores = np.sort(tiles[f"p_{name}"].to_numpy(np.float64))[::-1]
        row[f"mean_{name}"] = float(scores.mean())
        row[f"top{settings.top_k}_{name}"] = float(scores[: settings.top_k].mean())
        row[f"q{settings.quantile:g}_{name}"] = float(np.quantile(scores, settings.quantile))
    for name in classes:
        row[f"score_{name}"] = row[settings.column(name)]
    row["predicted"] = max(classes, key=lambda name: row[f"score_{name}"])
    return row


def slide_metrics(table: pd.DataFrame, classes: Sequence[str], resampling: Resampling) -> pd.DataFrame:
    """Slide-level metrics of the slide table's ``score_<class>`` against its ``label`` column."""
    task = "binary" if len(classes) == 2 else "multiclass"
    labels = table["label"].to_numpy(dtype=object)
    if task == "binary":
        y_true = (labels == classes[1]).astype(np.float64)[:, None]
        y_score = table[[f"score_{classes[1]}"]].to_numpy(np.float64)
        targets: tuple[str, ...] = (classes[1],)
    else:
        y_true = np.stack([(labels == name).astype(np.float64) for name in classes], axis=1)
        y_score = table[[f"score_{name}" for name in classes]].to_numpy(np.float64)
        y_score = y_score / y_score.sum(axis=1, keepdims=True)  # aggregated scores need not sum to 1
        targets = tuple(classes)
    scores = Scores(task, targets, y_true, y_score)
    metrics = compute_metrics(
        scores,
        scores,
        seed=resampling.seed,
        bootstrap=resampling.resamples,
        confidence=resampling.confidence,
    )
    return metrics[~metrics["metric"].isin(["f1_best", "threshold_best"])].reset_index(drop=True)
