"""Preview of a tiling for the report: kept tiles drawn over image thumbnails.

Contract:
- ``TilingPreview(classes, max_images, max_px)`` collects, image by image (``add(thumbnail,
  region, split, tile_boxes, tile_classes)``), a ``Thumbnail`` (shrunk to at most ``max_px`` on
  its longer side), the kept tiles (level-0 box, class) and the tiled regions with their split.
  It keeps only the images it may show, so memory stays bounded by a few thumbnails whatever
  the number of images.
- Shown: up to ``max_images`` images, taken in turn from each split (train, validation, test)
  as the one with the most kept tiles there, so every split appears when it can.
- ``save(path)`` draws one panel per image (tile outlines coloured by class, regions dashed and
  named by split, a scale bar one tile long labelled with its size in level-0 pixels), with text
  of at least 10 points (above 10 pixels when the figure is fitted into a 1400-pixel window),
  writes the PNG atomically and returns the figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection
from matplotlib.colors import Colormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from biodl.core.files import atomic_path
from biodl.core.vocabulary import SPLITS
from biodl.data.image.sources import resize

TEXT_POINTS = 10


def _scale_bar(ax: Axes, boxes: np.ndarray, downsample: float) -> None:
    """A bar one tile long (``boxes`` in thumbnail pixels), labelled in level-0 pixels."""
    if not len(boxes):
        return
    length = float(np.median(boxes[:, 2] - boxes[:, 0]))
    bar = AnchoredSizeBar(
        ax.transData,
        length,
        f"{length * downsample:.0f} px (one tile)",
        "lower right",
        pad=0.3,
        color="black",
        frameon=True,
        size_vertical=max(length / 8, 1),
        fontproperties={"size": TEXT_POINTS},
    )
    bar.patch.set_alpha(0.7)
    ax.add_artist(bar)


@dataclass(frozen=True)
class Thumbnail:
    """A reduced view of one whole image."""

    name: str  # the image's name (``ImageSource.name``)
    pixels: np.ndarray  # (h, w, C) uint8
    downsample: float  # level-0 pixels per thumbnail pixel


@dataclass
class ImagePanel:
    name: str
    thumbnail: np.ndarray
    downsample: float  # level-0 pixels per thumbnail pixel
    boxes: list[np.ndarray] = field(default_factory=list)  # (n, 4) level-0 x0, y0, x1, y1
    classes: list[np.ndarray] = field(default_factory=list)  # (n,) class numbers 0..K-1
    regions: list[tuple[tuple[float, float, float, float], str]] = field(default_factory=list)
    per_split: dict[str, int] = field(default_factory=dict)


class TilingPreview:
    def __init__(self, classes: list[str], max_images: int, max_px: int) -> None:
        self.classes = classes
        self.max_images = max_images
        self.max_px = max_px
        self.panels: dict[str, ImagePanel] = {}

    def add(
        self,
        thumbnail: Thumbnail,
        region: tuple[float, float, float, float],
        split: str,
        tile_boxes: np.ndarray,
        tile_classes: np.ndarray,
    ) -> None:
        """Record one tiled region (level-0 x, y, width, height) of the image ``thumbnail`` shows."""
        name, pixels = thumbnail.name, thumbnail.pixels
        if name not in self.panels:
            shrink = max(1.0, max(pixels.shape[:2]) / self.max_px)
            height, width = (max(1, round(s / shrink)) for s in pixels.shape[:2])
            self.panels[name] = ImagePanel(
                name, resize(pixels, width, height), thumbnail.downsample * pixels.shape[1] / width
            )
        panel = self.panels[name]
        panel.boxes.append(tile_boxes)
        panel.classes.append(tile_classes)
        panel.regions.append((region, split))
        panel.per_split[split] = panel.per_split.get(split, 0) + len(tile_boxes)

    def prune(self) -> None:
        """Forget the images that can no longer be shown (call between images)."""
        if len(self.panels) > 2 * self.max_images:
            keep = set(self.chosen(2 * self.max_images))
            self.panels = {name: panel for name, panel in self.panels.items() if name in keep}

    def chosen(self, limit: int) -> list[str]:
        """Up to ``limit`` image names, round-robin over splits, most kept tiles first."""
        ranked = {
            split: sorted(
                (p for p in self.panels.values() if p.per_split.get(split)), key=lambda p: -p.per_split[split]
            )
            for split in SPLITS
        }
        names: list[str] = []
        while len(names) < limit and any(ranked.values()):
            for split in SPLITS:
                while ranked[split] and ranked[split][0].name in names:
                    ranked[split].pop(0)
                if ranked[split] and len(names) < limit:
                    names.append(ranked[split].pop(0).name)
        return names

    def save(self, path: Path) -> Figure:
        names = self.chosen(self.max_images)
        columns = min(3, max(1, len(names)))
        rows = max(1, -(-len(names) // columns))
        figure = Figure(figsize=(4.2 * columns, 4.6 * rows))
        FigureCanvasAgg(figure)
        axes = figure.subplots(rows, columns, squeeze=False)
        colours = colormaps["tab10" if len(self.classes) <= 10 else "tab20"]
        for ax in axes.ravel():
            ax.axis("off")
        for ax, name in zip(axes.ravel(), names, strict=False):
            self._draw(ax, self.panels[name], colours)
        handles = [Line2D([], [], color=colours(i), lw=2, label=c) for i, c in enumerate(self.classes)]
        figure.legend(
            handles=handles,
            loc="lower center",
            ncol=min(len(self.classes), 6),
            frameon=False,
            fontsize=TEXT_POINTS,
        )
        figure.tight_layout(rect=(0, 0.06, 1, 1))
        with atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=110)
        return figure

    def _draw(self, ax: Axes, panel: ImagePanel, colours: Colormap) -> None:
        shown = panel.thumbnail[..., 0] if panel.thumbnail.shape[2] == 1 else panel.thumbnail
        ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, interpolation="nearest")
        scale = 1 / panel.downsample
        tile_boxes = np.concatenate(panel.boxes) * scale
        classes = np.concatenate(panel.classes)
        rectangles = [Rectangle((x0, y0), x1 - x0, y1 - y0) for x0, y0, x1, y1 in tile_boxes]
        ax.add_collection(
            PatchCollection(
                rectangles, facecolor="none", edgecolor=[colours(c) for c in classes], linewidth=0.7
            )
        )
        for (x, y, width, height), split in panel.regions:
            ax.add_patch(
                Rectangle(
                    (x * scale, y * scale),
                    width * scale,
                    height * scale,
                    fill=False,
                    edgecolor="black",
                    linestyle="--",
                    linewidth=1,
                )
            )
            ax.text(
                x * scale + 2,
                y * scale + 2,
                split,
                va="top",
                fontsize=TEXT_POINTS,
                bbox={"facecolor": "white", "alpha": 0.7, "pad": 1, "linewidth": 0},
            )
        counts = ", ".join(
            f"{split} {panel.per_split[split]}" for split in SPLITS if split in panel.per_split
        )
        ax.set_title(f"{Path(panel.name).name}\ntiles: {counts}", fontsize=TEXT_POINTS)
        _scale_bar(ax, tile_boxes, panel.downsample)
