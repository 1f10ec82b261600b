"""A genome-browser-style figure of a scan around its top windows (no TensorFlow).

Contract:
- ``top_regions(scan, targets, count, flank)``: up to ``count`` regions ``(chrom, start, end)``
  (0-based, half-open) of ``flank`` bases either side of the best windows: windows ranked by their
  largest score over the tasks (ties in scan order); a window whose centre lies in a region
  already chosen is passed over, so the regions are distinct places. Clipped at 0 on the left.
- ``site_region(scan, targets, sites, stride, flank)``: with known sites, the region of ``flank``
  bases either side of the best-scoring window over a known site (``over_sites``), or None when
  no window is over one.
- ``plot_tracks(scan, targets, layout, sites, path)``: one panel per region of
  ``top_regions(scan, targets, TOP_REGIONS, flank_of(layout))``, then, with known sites, the
  ``site_region`` unless its window is already shown, as a genome browser draws it:
  a score track per task (the score of each window drawn over its ``stride``-wide bin, as in the
  bigWig), and below it, as boxes, the known sites (when given) and per task the windows scoring
  at least ``layout.threshold`` (the whole window, as in the BED). The x axis is the position on
  the chromosome, 0-based as in the BED and bigWig files, in whole bases with thousands
  separators (never an offset or scientific notation). An empty scan gives a figure saying so.
"""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from biodl.apply.known_sites import over_sites
from biodl.apply.scan import TrackLayout, above_threshold
from biodl.report.figures import figure_file

TOP_REGIONS = 3
Region = tuple[str, int, int]
SITE_COLOUR, WINDOW_COLOUR = "0.35", "tab:red"


def flank_of(layout: TrackLayout) -> int:
    """Bases shown either side of a top window: 20 strides, at least two window lengths."""
    return max(20 * layout.stride, 2 * layout.length)


def top_regions(scan: pd.DataFrame, targets: tuple[str, ...], count: int, flank: int) -> list[Region]:
    """Distinct regions around the best windows (see the module contract)."""
    if scan.empty:
        return []
    best = scan[list(targets)].to_numpy(np.float64).max(axis=1)
    regions: list[Region] = []
    for row in np.argsort(-best, kind="stable"):
        chrom, centre = str(scan["chrom"].iat[row]), int(scan["centre"].iat[row])
        if any(chrom == c and start <= centre < end for c, start, end in regions):
            continue
        regions.append((chrom, max(centre - flank, 0), centre + flank + 1))
        if len(regions) == count:
            break
    return regions


def site_region(
    scan: pd.DataFrame, targets: tuple[str, ...], sites: pd.DataFrame, stride: int, flank: int
) -> Region | None:
    """The region around the best window over a known site (see the module contract)."""
    over = over_sites(scan, sites, stride)
    if not over.any():
        return None
    best = scan[list(targets)].to_numpy(np.float64).max(axis=1)
    row = int(np.flatnonzero(over)[np.argmax(best[over])])
    centre = int(scan["centre"].iat[row])
    return str(scan["chrom"].iat[row]), max(centre - flank, 0), centre + flank + 1


def _regions(
    scan: pd.DataFrame, targets: tuple[str, ...], layout: TrackLayout, sites: pd.DataFrame | None
) -> list[Region]:
    regions = top_regions(scan, targets, TOP_REGIONS, flank_of(layout))
    site = None if sites is None else site_region(scan, targets, sites, layout.stride, flank_of(layout))
    if site is not None:
        centre = site[2] - flank_of(layout) - 1
        if not any(site[0] == c and start <= centre < end for c, start, end in regions):
            regions.append(site)
    return regions


def plot_tracks(
    scan: pd.DataFrame,
    targets: tuple[str, ...],
    layout: TrackLayout,
    sites: pd.DataFrame | None,
    path: str | PathLike[str],
) -> Figure:
    """Score tracks, known sites and windows above threshold around the top windows (contract)."""
    regions = _regions(scan, targets, layout, sites)
    lanes = len(targets) + (sites is not None)
    ratios = tuple(r for _ in regions for r in (3.0, 0.5 + 0.35 * lanes)) or None
    with figure_file(
        path, max(2 * len(regions), 1), 1, panel_size=(10.0, 1.6 if regions else 3.0), height_ratios=ratios
    ) as (
        fig,
        axes,
    ):
        if not regions:
            axes[0, 0].text(0.5, 0.5, "nothing scanned", ha="center", va="center")
            axes[0, 0].plot([], [])
        for k, region in enumerate(regions):
            _score_track(axes[2 * k, 0], scan, targets, layout, region)
            _boxes(axes[2 * k + 1, 0], scan, targets, layout, sites, region)
    return fig


def _in_region(frame: pd.DataFrame, region: Region, start: str, end: str) -> pd.DataFrame:
    chrom, first, last = region
    return frame[(frame["chrom"] == chrom) & (frame[end] > first) & (frame[start] < last)]


def _score_track(
    ax: Axes, scan: pd.DataFrame, targets: tuple[str, ...], layout: TrackLayout, region: Region
) -> None:
    chrom, first, last = region
    shown = _in_region(scan.assign(end=scan["centre"] + 1), region, "centre", "end")
    for task in targets:
        ax.step(shown["centre"], shown[task], where="mid", lw=1.2, label=task)
    ax.axhline(layout.threshold, color="0.5", lw=0.8, ls="--", label=f"threshold {layout.threshold:g}")
    if layout.probabilities:
        ax.set_ylim(0, 1.02)
    ax.set_ylabel("score")
    ax.set_title(f"{chrom}:{first:,}-{last:,}", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper right", frameon=False)
    _positions(ax, region, labels=False)


def _boxes(
    ax: Axes,
    scan: pd.DataFrame,
    targets: tuple[str, ...],
    layout: TrackLayout,
    sites: pd.DataFrame | None,
    region: Region,
) -> None:
    names: list[str] = []
    if sites is not None:
        known = _in_region(sites, region, "start", "end")
        ax.broken_barh(
            list(zip(known["start"], known["end"] - known["start"], strict=True)),
            (len(names) + 0.15, 0.7),
            color=SITE_COLOUR,
        )
        names.append("known sites")
    for task in targets:
        windows = _in_region(above_threshold(scan, task, layout), region, "start", "end")
        ax.broken_barh(
            list(zip(windows["start"], windows["end"] - windows["start"], strict=True)),
            (len(names) + 0.15, 0.7),
            facecolor=WINDOW_COLOUR,
            edgecolor="white",
            alpha=0.5,
        )
        names.append(f"{task} ≥ {layout.threshold:g}")
    ax.set_ylim(len(names), 0)
    ax.set_yticks(np.arange(len(names)) + 0.5, names, fontsize=7)
    ax.grid(False)
    ax.plot([], [])  # has_data() is true without boxes too
    _positions(ax, region, labels=True)
    ax.set_xlabel(f"position on {region[0]} (0-based, as in the BED and bigWig files)")


def _positions(ax: Axes, region: Region, labels: bool) -> None:
    _, first, last = region
    ax.set_xlim(first, last)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{int(round(x)):,}" if labels else ""))
