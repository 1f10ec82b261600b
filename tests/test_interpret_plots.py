"""Tests of biodl.interpret.figures: every figure is written, with the panels it promises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from biodl.interpret.figures import (
    FilterRow,
    plot_filter_matches,
    plot_image_grid,
    plot_importance,
    plot_logos,
    plot_overlays,
)
from biodl.interpret.motifs import Motif

rng = np.random.default_rng(0)


def motif(width: int, name: str) -> Motif:
    return Motif(name, name, rng.dirichlet(np.ones(4) * 0.3, width))


def test_filters_are_drawn_beside_their_aligned_matches(tmp_path: Path) -> None:
    rows = [
        FilterRow(
            motif(8, "filter3"),
            np.full(4, 0.25),
            "filter3",
            motif(12, "MA0001.1"),
            offset=-2,
            orientation="-",
        ),
        FilterRow(motif(8, "filter1"), np.full(4, 0.25), "filter1 (no match)"),
    ]
    fig = plot_filter_matches(rows, tmp_path / "logos.png")
    axes = fig.axes
    assert len(axes) == 4 and (tmp_path / "logos.png").stat().st_size > 5_000
    # Shared axis: filter columns 0..7, the match from column 2 (offset -2) to 13.
    assert axes[0].get_xlim() == axes[1].get_xlim() == (-0.5, 13.5)
    assert "reverse complement" in axes[1].get_title(loc="left")
    assert not axes[3].axison  # no match: a message instead of a logo


def test_a_long_filter_title_wraps_instead_of_running_into_the_match_title(tmp_path: Path) -> None:
    title = (
        "filter25: 57 sites (most in CTCF), influence +0.0160, core 13.2 bits, null q = 0.0014 "
        "and some more words"
    )
    rows = [FilterRow(motif(16, "f"), np.full(4, 0.25), title, motif(16, "MA0139.2"), offset=0)]
    fig = plot_filter_matches(rows, tmp_path / "logos.png")
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    # Matplotlib keeps a left-aligned title in a private Text; its extent is what a reader sees.
    left, right = (ax._left_title for ax in fig.axes[:2])
    assert left.get_text().count("\n") >= 1
    assert left.get_window_extent(renderer).x1 < right.get_window_extent(renderer).x0


def test_logos_figures_and_importance_bars(tmp_path: Path) -> None:
    plot_logos([rng.dirichlet(np.ones(4), 10)], ["max"], tmp_path / "p.png")
    fig = plot_logos(
        [rng.normal(size=(60, 4))], ["attr"], tmp_path / "a.png", kind="attribution", starts=[100]
    )
    assert fig.axes[0].get_xlim()[0] >= 99
    plot_image_grid(
        [rng.uniform(0, 255, (8, 8, 3)), rng.uniform(0, 1, (8, 8))],
        ["rgb", "map"],
        tmp_path / "g.png",
        columns=2,
    )
    plot_overlays(
        rng.uniform(0, 255, (2, 8, 8, 3)),
        rng.normal(size=(2, 8, 8, 3)),
        rng.uniform(0, 1, (2, 8, 8)),
        ["a", "b"],
        tmp_path / "o.png",
    )
    table = pd.DataFrame(
        {"feature": ["x", "y"], "importance_mean": [0.2, 0.01], "importance_std": [0.02, 0.01]}
    )
    fig = plot_importance(table, tmp_path / "i.png")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["y", "x"]  # most important on top
    for name in ("p.png", "a.png", "g.png", "o.png", "i.png"):
        assert (tmp_path / name).stat().st_size > 2_000
