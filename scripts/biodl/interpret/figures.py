"""Figures of the interpretation step: sequence logos, image maps and importance bars.

Contract: every function writes one PNG atomically through the styled figure of
``biodl.report.figures`` (Agg, 150 dpi) and returns the ``Figure``. Logos are drawn as glyph
paths in logomaker's classic colours.
- ``plot_filter_matches(rows, path)``: one row per filter (in the order given, e.g. by
  influence): the filter's information-content logo (bits against the sequences' background)
  beside its best database match (bits against a uniform background), on one shared axis so
  the aligned columns sit above each other (the match reverse-complemented for orientation
  ``-``); the title gives sites, influence, information and the null-calibrated q-value,
  wrapped to its panel's width so that it never runs into the match's title. A
  filter (or TF-MoDISco pattern) without a calibrated match is drawn alone.
- ``plot_marginalisation(table, path)``: per task, horizontal bars of each inserted motif's mean
  effect on the logit with its standard deviation over backgrounds, beside its shuffled
  control's.
- ``plot_logos(matrices, titles, path, kind)``: one logo per panel, stacked; ``kind`` is
  ``"probability"`` (drawn as information content against a uniform background) or
  ``"attribution"`` (heights as given, negative values below the axis); ``starts`` numbers
  the positions of a window cut from a longer sequence.
- ``plot_image_grid(images, titles, path, ...)``: a grid of images (H, W, C in 0-255, or
  single-channel maps drawn with a colour map); ``plot_overlays(tiles, saliency, cams, path)``:
  per tile, the tile, its saliency map and its Grad-CAM drawn over it.
- ``plot_importance(table, path)``: horizontal bars of mean importance with the standard
  deviation over permutations as error bars, most important on top.
"""

from __future__ import annotations

import functools
import math
import textwrap
from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Affine2D

from biodl.interpret.motifs import BASES, Motif, information_content
from biodl.report.figures import figure_file

# Widths keep each figure within about 1350 pixels at 150 dpi, so a browser window of 1400 pixels
# (beside the report's menu) shrinks it by at most a third and 8-point titles stay above 10 pixels.
LOGO_ROW = (4.5, 1.3)
# Characters of an 8-point title that fit above one LOGO_ROW panel; longer titles wrap rather
# than run into the neighbouring panel's.
LOGO_TITLE_CHARS = 60
ATTRIBUTION_ROW = (9.0, 1.6)
IMAGE_PANEL = (1.6, 1.6)
# Saliency and Grad-CAM panels: room for a colour bar and a two-line title.
OVERLAY_PANEL = (2.4, 2.2)
UNIFORM = np.full(4, 0.25)
# logomaker's "classic" scheme: A green, C blue, G orange, T red.
LOGO_COLOURS = {"A": "#008000", "C": "#0000ff", "G": "#ffa500", "T": "#ff0000"}


@dataclass(frozen=True)
class FilterRow:
    """One row of the filter-match figure."""

    motif: Motif
    background: np.ndarray
    title: str
    match: Motif | None = None
    offset: int = 0
    orientation: str = "+"


def _bits(probabilities: np.ndarray, bg: np.ndarray) -> pd.DataFrame:
    """Logo heights: each base's share of the position's information content."""
    ic = np.clip(information_content(probabilities, bg), 0, None)
    return pd.DataFrame(probabilities * ic[:, None], columns=list(BASES))


@functools.cache
def _glyph(base: str) -> Path:
    """The letter's outline scaled to the unit square (drawn once, then only transformed)."""
    path = TextPath((0, 0), base, size=1, prop=FontProperties(family="DejaVu Sans", weight="bold"))
    box = path.get_extents()
    return Affine2D().translate(-box.x0, -box.y0).scale(1 / box.width, 1 / box.height).transform_path(path)


def _logo(ax, heights: pd.DataFrame, start: int = 0) -> None:
    """A sequence logo: at each position the bases stacked by height, positive ones above the
    axis (largest on top) and negative ones below. Drawn as one path collection per base, with
    logomaker's classic colours: hundreds of panels take seconds, where logomaker's glyph per
    character took about one second per panel."""
    values = heights[list(BASES)].to_numpy(dtype=np.float64)
    paths: dict[str, list[Path]] = {b: [] for b in BASES}
    for i, row in enumerate(values):
        x = start + i - 0.45
        up, down = 0.0, 0.0
        for j in np.argsort(np.abs(row), kind="stable"):
            h = row[j]
            if h == 0:
                continue
            if h > 0:
                y, up = up, up + h
            else:
                y, down = down + h, down + h
            paths[BASES[j]].append(
                Affine2D().scale(0.9, abs(h)).translate(x, y).transform_path(_glyph(BASES[j]))
            )
    for base, items in paths.items():
        if items:
            ax.add_collection(PathCollection(items, facecolors=LOGO_COLOURS[base], edgecolors="none"))
    low = min(float(np.clip(values, None, 0).sum(axis=1).min(initial=0)), 0.0)
    high = max(float(np.clip(values, 0, None).sum(axis=1).max(initial=0)), 1e-6)
    ax.set_xlim(start - 0.5, start + len(values) - 0.5)
    ax.set_ylim(low, high)
    ax.grid(False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.ticklabel_format(axis="x", useOffset=False, style="plain")  # genome positions as they are
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.plot([], [])  # has_data() is true for an all-zero logo too


def plot_filter_matches(
    rows: list[FilterRow],
    path: str | PathLike[str],
    title: str = "First-layer filters (by influence) and their best database match",
) -> Figure:
    """Filters (or patterns) beside their best matches, aligned (see the module contract)."""
    n = max(len(rows), 1)
    with figure_file(path, n, 2, panel_size=LOGO_ROW) as (fig, axes):
        for row, (left, right) in zip(rows, axes, strict=False):
            # Shared axis: filter columns 0..w-1, the match starting at -offset.
            match_start = -row.offset
            lo = min(0, match_start)
            hi = max(row.motif.width, match_start + (row.match.width if row.match else 0))
            _logo(left, _bits(row.motif.probabilities, row.background))
            left.set_title(textwrap.fill(row.title, LOGO_TITLE_CHARS), fontsize=8, loc="left")
            if row.match is None:
                right.text(
                    0.5,
                    0.5,
                    "no match at the null-calibrated q-value cut-off",
                    ha="center",
                    va="center",
                    transform=right.transAxes,
                )
                right.set_axis_off()
                right.plot([], [])  # keeps the panel visible
                continue
            match = row.match if row.orientation == "+" else row.match.reverse_complement()
            _logo(right, _bits(match.probabilities, UNIFORM), start=match_start)
            strand = "" if row.orientation == "+" else " (reverse complement)"
            match_title = f"{row.match.id} {row.match.name}{strand}"
            right.set_title(textwrap.fill(match_title, LOGO_TITLE_CHARS), fontsize=8, loc="left")
            for ax in (left, right):
                ax.set_xlim(lo - 0.5, hi - 0.5)
                ax.set_ylim(0, 2)
                ax.set_ylabel("bits")
        if not rows:
            axes[0, 0].text(0.5, 0.5, "nothing to draw", ha="center", va="center")
            axes[0, 0].plot([], [])
        fig.suptitle(title, y=1.0)
    return fig


def plot_logos(
    matrices: list[np.ndarray],
    titles: list[str],
    path: str | PathLike[str],
    kind: str = "probability",
    starts: list[int] | None = None,
) -> Figure:
    """One logo per panel (see the module contract); ``starts``: first position of each."""
    starts = starts or [0] * len(matrices)
    longest = max((len(m) for m in matrices), default=1)
    size = ATTRIBUTION_ROW if longest > 40 else LOGO_ROW
    with figure_file(path, max(len(matrices), 1), 1, panel_size=size) as (fig, axes):
        for matrix, title, start, ax in zip(matrices, titles, starts, axes[:, 0], strict=False):
            if kind == "probability":
                _logo(ax, _bits(matrix, UNIFORM), start)
                ax.set_ylim(0, 2)
                ax.set_ylabel("bits")
            else:
                _logo(ax, pd.DataFrame(matrix, columns=list(BASES)), start)
                ax.axhline(0, color="0.5", lw=0.5)
                ax.set_ylabel("attribution")
            ax.set_title(title, fontsize=8, loc="left")
        axes[-1, 0].set_xlabel("position (bases)")
    return fig


def _show(ax, image: np.ndarray, cmap: str | None = None) -> None:
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 3:
        ax.imshow(np.clip(image / 255.0, 0, 1), interpolation="nearest")
    else:
        ax.imshow(image, cmap=cmap or "gray", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def plot_image_grid(
    images: list[np.ndarray],
    titles: list[str],
    path: str | PathLike[str],
    *,
    columns: int = 8,
    cmap: str | None = None,
    title: str = "",
) -> Figure:
    """Images in a grid, ``columns`` per row."""
    columns = max(1, min(columns, len(images)))
    rows = max(1, math.ceil(len(images) / columns))
    with figure_file(path, rows, columns, panel_size=IMAGE_PANEL) as (fig, axes):
        for image, name, ax in zip(images, titles, axes.flat, strict=False):
            _show(ax, image, cmap)
            ax.set_title(name, fontsize=7)
        if title:
            fig.suptitle(title, y=1.0)
    return fig


def plot_overlays(
    tiles: np.ndarray, saliency: np.ndarray, cams: np.ndarray, titles: list[str], path: str | PathLike[str]
) -> Figure:
    """Per tile: the tile, |gradient| (max over channels, scaled to the tile's largest) and
    Grad-CAM over the tile, each map with its colour bar."""
    with figure_file(path, max(len(tiles), 1), 3, panel_size=OVERLAY_PANEL) as (fig, axes):
        for tile, sal, cam, name, (a, b, c) in zip(tiles, saliency, cams, titles, axes, strict=False):
            _show(a, tile)
            a.set_title(name, fontsize=7, loc="left")
            magnitude = np.abs(sal).max(axis=-1)
            _show(b, magnitude / max(float(magnitude.max()), 1e-12), cmap="magma")
            b.images[0].set_clim(0, 1)
            fig.colorbar(b.images[0], ax=b, fraction=0.046, pad=0.03, label="|gradient| / max")
            b.set_title("saliency", fontsize=7)
            _show(c, tile)
            overlay = c.imshow(cam, cmap="jet", alpha=0.45, vmin=0, vmax=1, interpolation="bilinear")
            fig.colorbar(overlay, ax=c, fraction=0.046, pad=0.03, label="Grad-CAM (0-1)")
            c.set_title("Grad-CAM", fontsize=7)
    return fig


def plot_importance(table: pd.DataFrame, path: str | PathLike[str], title: str = "") -> Figure:
    """Permutation importance bars, most important on top."""
    table = table.sort_values("importance_mean")
    with figure_file(path, panel_size=(6.0, max(2.5, 0.25 * len(table) + 1))) as (fig, axes):
        ax = axes[0, 0]
        ax.barh(
            table["feature"],
            table["importance_mean"],
            xerr=table["importance_std"],
            color="#4c72b0",
            ecolor="0.3",
        )
        ax.axvline(0, color="0.4", lw=0.8)
        ax.set_xlabel("drop in test performance when permuted")
        ax.set_title(title, fontsize=9)
    return fig


def plot_marginalisation(table: pd.DataFrame, path: str | PathLike[str]) -> Figure:
    """Insertion effects and their controls, one panel per task (see the module contract)."""
    tasks = list(dict.fromkeys(table["task"])) if len(table) else [""]
    height = max(2.0, 0.45 * max((table["task"] == t).sum() for t in tasks) + 1.2)
    with figure_file(path, len(tasks), 1, panel_size=(7.0, height)) as (fig, axes):
        for task, ax in zip(tasks, axes[:, 0], strict=True):
            part = table[table["task"] == task]
            if not len(part):
                ax.text(0.5, 0.5, "no motif to insert (nothing matched)", ha="center", va="center")
                ax.plot([], [])
                continue
            at = np.arange(len(part))
            ax.barh(
                at + 0.2, part["effect_mean"], 0.4, xerr=part["effect_sd"], color="#4c72b0", label="motif"
            )
            ax.barh(
                at - 0.2,
                part["control_mean"],
                0.4,
                xerr=part["control_sd"],
                color="0.7",
                label="shuffled control",
            )
            ax.set_yticks(at, part["motif"])
            ax.invert_yaxis()
            ax.axvline(0, color="0.4", lw=0.8)
            ax.set_xlabel("change of the logit when inserted (mean ± sd over backgrounds)")
            ax.set_title(
                f"task {task}: {int(part['backgrounds'].iloc[0])} backgrounds", fontsize=9, loc="left"
            )
            ax.legend(fontsize=7, loc="best")
    return fig
