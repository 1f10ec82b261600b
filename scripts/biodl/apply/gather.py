"""The gather step of a genome scan: its parts → tracks and a summary (no TensorFlow).

Contract: ``apply_scan(dataset, parts, genome, settings, outputs)`` reads the run's targets,
input length and task from its ``dataset.json``, the genome's chromosome sizes from its FASTA
index (built in a temporary folder), and the parts' scans (``biodl.apply.scan.gather_parts``, TSVs
of rule ``apply_scan_part``), then writes atomically:
- ``tracks``: a folder with, per task, a bigWig and a BED of the windows scoring at least
  ``settings.threshold``, and ``tracks.tsv`` (``biodl.apply.scan.write_tracks``);
- ``summary``: a TSV, one row per task (``biodl.apply.scan.summarise_scan``); with
  ``settings.known_sites`` (a BED), also ``known_sites`` (how many) and the check of
  ``biodl.apply.known_sites.site_check`` (windows over known sites against the rest: counts,
  auROC and its bootstrap interval with ``settings.resampling``);
- ``track_plot``: a PNG, the scores, known sites and windows above threshold around the top
  windows (``biodl.apply.track_plot.plot_tracks``).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from biodl.apply.known_sites import over_sites, read_known_sites, site_check
from biodl.apply.scan import TrackLayout, gather_parts, summarise_scan, write_tracks
from biodl.apply.track_plot import plot_tracks
from biodl.core.files import write_tsv
from biodl.data.dataset import open_dataset
from biodl.data.dna.from_genome import Genome
from biodl.evaluation.bootstrap import Resampling

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanSettings:
    """A scan target's settings (config ``apply.<target>``): the bases between window centres and
    the score from which a window goes into the BED of windows above threshold."""

    stride: int
    threshold: float
    known_sites: Path | None = None
    resampling: Resampling = Resampling(seed=1, resamples=0, confidence=0.95)


def apply_scan(
    dataset: str | Path,
    parts: Sequence[str | Path],
    genome: str | Path,
    settings: ScanSettings,
    outputs: Mapping[str, str | Path],
) -> None:
    """Gather a scan's parts into tracks and a summary (see the module contract)."""
    prepared = open_dataset(dataset)
    layout = TrackLayout(
        settings.stride, int(prepared.input_shape[0]), settings.threshold, prepared.task != "regression"
    )
    with tempfile.TemporaryDirectory() as index_dir:
        sizes = Genome.open(genome, index_dir).sizes
    scan = gather_parts(parts, prepared.targets)
    logger.info("gathered %d window(s) from %d part(s)", len(scan), len(parts))
    listing = write_tracks(scan, sizes, prepared.targets, layout, outputs["tracks"])
    for row in listing.itertuples():
        logger.info("%s: %d window(s) scored >= %g", row.task, row.windows_above, row.threshold)
    summary = summarise_scan(scan, prepared.targets)
    sites = None
    if settings.known_sites is not None:
        sites = read_known_sites(settings.known_sites, sizes)
        summary = _with_site_check(summary, scan, sites, settings)
    write_tsv(summary, outputs["summary"])
    plot_tracks(scan, prepared.targets, layout, sites, outputs["track_plot"])


def _with_site_check(
    summary: pd.DataFrame, scan: pd.DataFrame, sites: pd.DataFrame, settings: ScanSettings
) -> pd.DataFrame:
    labels = over_sites(scan, sites, settings.stride)
    check = site_check(scan, labels, tuple(summary["task"]), settings.resampling)
    for row in check.itertuples():
        logger.info(
            "%s: windows over the %d known site(s) of %s against the rest: auROC %.3f (%g%% CI %.3f-%.3f; "
            "%d against %d windows)",
            row.task,
            len(sites),
            settings.known_sites,
            row.auroc,
            100 * settings.resampling.confidence,
            row.auroc_ci_low,
            row.auroc_ci_high,
            row.known_windows,
            row.other_windows,
        )
    return summary.assign(known_sites=len(sites)).merge(check, on="task", how="left")
