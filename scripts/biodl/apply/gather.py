"""The gather step of a genome scan: its parts → tracks and a summary (no TensorFlow).

Contract: ``apply_scan(dataset, parts, genome, settings, outputs)`` reads the run's targets,
input length and task from its ``dataset.json``, the genome's chromosome sizes from its FASTA
index (built in a temporary folder), and the parts' scans (``biodl.apply.scan.gather_parts``, TSVs
of rule ``apply_scan_part``), then writes atomically:
- ``tracks``: a folder with, per task, a bigWig and a BED of the windows scoring at least
  ``settings.threshold``, and ``tracks.tsv`` (``biodl.apply.scan.write_tracks``);
- ``summary``: a TSV, one row per task (``biodl.apply.scan.summarise_scan``).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from biodl.apply.scan import TrackLayout, gather_parts, summarise_scan, write_tracks
from biodl.core.files import write_tsv
from biodl.data.dataset import open_dataset
from biodl.data.dna.from_genome import Genome

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanSettings:
    """A scan target's settings (config ``apply.<target>``): the bases between window centres and
    the score from which a window goes into the BED of windows above threshold."""

    stride: int
    threshold: float


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
    write_tsv(summarise_scan(scan, prepared.targets), outputs["summary"])
