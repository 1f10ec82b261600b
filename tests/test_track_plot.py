"""biodl.apply.track_plot: the regions around the top windows, and what each panel draws."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from biodl.apply.scan import TrackLayout
from biodl.apply.track_plot import flank_of, plot_tracks, site_region, top_regions

LAYOUT = TrackLayout(stride=10, length=40, threshold=0.5, probabilities=True)


def scan() -> pd.DataFrame:
    centres = np.arange(100, 5000, 10)
    a = np.full(len(centres), 0.1)
    a[centres == 1000] = 0.95
    a[centres == 1010] = 0.9  # inside the first region: passed over
    a[centres == 3000] = 0.8
    b = np.full(len(centres), 0.2)
    b[centres == 4000] = 0.85
    return pd.DataFrame({"chrom": "chr1", "centre": centres, "a": a, "b": b})


def test_top_regions_are_distinct_places_around_the_best_windows() -> None:
    assert flank_of(LAYOUT) == 200 and flank_of(TrackLayout(50, 200, 0.5, True)) == 1000
    assert top_regions(scan(), ("a", "b"), 3, 200) == [
        ("chr1", 800, 1201),
        ("chr1", 3800, 4201),
        ("chr1", 2800, 3201),
    ]
    assert top_regions(scan(), ("a",), 1, 2000) == [("chr1", 0, 3001)]  # clipped at 0
    assert top_regions(scan().iloc[:0], ("a",), 3, 200) == []


def test_panels_draw_scores_sites_and_windows_above_threshold(tmp_path: Path) -> None:
    sites = pd.DataFrame({"chrom": ["chr1", "chr2"], "start": [990, 990], "end": [1030, 1030]})
    figure = plot_tracks(scan(), ("a", "b"), LAYOUT, sites, tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 0
    axes = [ax for ax in figure.axes if ax.get_visible()]
    assert len(axes) == 6  # three regions, each a track and its boxes
    track, boxes = axes[0], axes[1]
    assert track.get_title(loc="left") == "chr1:800-1,201" and track.get_xlim() == (800, 1201)
    assert [line.get_label() for line in track.get_lines()][:2] == ["a", "b"]
    assert [label.get_text() for label in boxes.get_yticklabels()] == ["known sites", "a ≥ 0.5", "b ≥ 0.5"]
    bars = [collection.get_paths() for collection in boxes.collections]
    # One site on chr1 here (chr2's is elsewhere); a: the windows centred on 1000 and 1010; b: none.
    assert [len(paths) for paths in bars] == [1, 2, 0]
    labels = [t.get_text() for t in boxes.get_xticklabels()]
    assert labels and all(text.replace(",", "").isdigit() for text in labels if text)
    assert all(t.get_text() == "" for t in track.get_xticklabels())


def test_an_empty_scan_says_so(tmp_path: Path) -> None:
    figure = plot_tracks(scan().iloc[:0], ("a",), LAYOUT, None, tmp_path / "t.png")
    assert any(text.get_text() == "nothing scanned" for text in figure.axes[0].texts)


def test_a_panel_shows_the_best_known_site_when_no_top_window_is_over_one(tmp_path: Path) -> None:
    frame = scan()
    frame.loc[frame["centre"] == 2010, "a"] = 0.3  # the best window over the site below
    sites = pd.DataFrame({"chrom": ["chr1"], "start": [2000], "end": [2040]})
    assert site_region(frame, ("a", "b"), sites, 10, 200) == ("chr1", 1810, 2211)
    assert site_region(frame, ("a",), sites.assign(chrom="chr9"), 10, 200) is None
    figure = plot_tracks(frame, ("a", "b"), LAYOUT, sites, tmp_path / "t.png")
    axes = [ax for ax in figure.axes if ax.get_visible()]
    assert len(axes) == 8 and axes[6].get_title(loc="left") == "chr1:1,810-2,211"
