"""A regression DNA dataset from a genome FASTA and coverage tracks or peak strengths.

Contract of ``from_tracks(job)``:
- Each entry of ``tracks`` is one output (target), in config order: a bigWig
  (``biodl.data.dna.coverage``: opened with pyBigWig, a track of another assembly refused, a
  chromosome the windows use but the track lacks refused with the ``chr`` hint), a bedGraph or
  the ``signalValue`` of a narrowPeak/broadPeak file (``biodl.data.dna.bedgraph``: chromosomes
  checked against the genome). ``format: auto`` tells them by the file name (``.bw``,
  ``.bigwig``; ``.bedgraph``, ``.bdg``, ``.bg``; ``.narrowpeak``, ``.broadpeak``; each maybe
  ``.gz``); another name must set ``format``.
- Windows (``biodl.data.dna.bins.configured_windows``): ``windows.regions`` alone — one window
  of ``length`` bases per region, anchored as for ``regions`` (``anchor``, ``edge``); or
  ``windows.stride`` — bins of ``length`` bases every ``stride`` bases over every chromosome, or
  inside the ``windows.regions`` when given too, those with more than ``windows.max_ambiguous``
  N bases left out. Splits hold out whole chromosomes or regions (windows straddling a boundary
  dropped).
- Targets: per window and track, the track's ``statistic`` over the window's bases (the part on
  the chromosome, for a window padded past its end), uncovered bases following ``uncovered``
  (``biodl.data.dna.coverage.window_statistic``, which logs how many windows have some). The
  regression loss takes no missing target, so a window with a NaN target (``skip`` with no
  covered base, ``missing`` with an uncovered one, ``log1p_sum`` of a sum below -1) is dropped,
  counted per track in the log; none left, or a split with fewer than two windows (named),
  raises ``InputError``.
- Metadata: ``source`` ``regions`` or ``bins``; ``name`` the region's name (else
  ``chrom:start``); ``label`` the targets joined by ``;`` (as for a regression table).
Returns the ``Labelling``: no classes, task ``regression``; the targets are the track names.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from biodl.config.datasets import DnaDataset, TrackTarget
from biodl.core.errors import InputError
from biodl.core.vocabulary import SPLITS
from biodl.data.dna.bedgraph import read_values
from biodl.data.dna.bins import configured_windows
from biodl.data.dna.coverage import Track, open_track, window_statistic
from biodl.data.dna.examples import DnaJob, Labelling, input_files
from biodl.data.dna.from_genome import Genome, split_windows, write_windows

log = logging.getLogger(__name__)

MIN_PER_SPLIT = 2  # windows per split: a correlation needs two
SUFFIXES = {
    "bigwig": re.compile(r"\.(bw|bigwig)$", re.IGNORECASE),
    "bedgraph": re.compile(r"\.(bedgraph|bdg|bg)(\.gz)?$", re.IGNORECASE),
    "peaks": re.compile(r"\.(narrowpeak|broadpeak)(\.gz)?$", re.IGNORECASE),
}


def from_tracks(job: DnaJob) -> Labelling:
    """Write the windows with one target per track (see the module contract)."""
    spec = job.spec
    assert spec.genome is not None and spec.tracks is not None, "checked by biodl.config.checks"
    genome = Genome.open(spec.genome, job.index_dir)
    tracks = {name: open_any(spec, name, target, genome) for name, target in spec.tracks.items()}
    windows = configured_windows(spec, genome)
    windows, _ = split_windows(windows, genome.holdouts(spec), ("start", "end"))
    y = targets(windows, tracks, spec.tracks, genome.sizes)
    kept = ~np.isnan(y).any(axis=1)
    for t, name in enumerate(spec.tracks):
        if np.isnan(y[:, t]).any():
            log.info("track %s: %d window(s) without a value dropped", name, int(np.isnan(y[:, t]).sum()))
    windows, y = windows.loc[kept].reset_index(drop=True), y[kept]
    if windows.empty:
        raise InputError(
            input_files(spec),
            None,
            "no window remains with a value for every track (past a chromosome end, straddling a "
            "hold-out boundary, or without data: see uncovered); expected at least one",
        )
    windows["label"] = [";".join(f"{v:.6g}" for v in row) for row in y]
    require_windows_per_split(windows["split"].to_numpy(), input_files(spec))
    write_windows(job, Labelling([], "regression"), genome, windows[[*job.writer.row_columns, "split"]], y)
    return Labelling([], "regression")


def require_windows_per_split(split_of_rows: np.ndarray, source: str) -> None:
    """Refuse a split with fewer than ``MIN_PER_SPLIT`` windows, naming it (see the contract)."""
    for split in SPLITS:
        count = int((split_of_rows == split).sum())
        log.info("%s: %d windows", split, count)
        if count < MIN_PER_SPLIT:
            raise InputError(
                source,
                f"split {split!r}",
                f"{count} window(s) with values; expected at least {MIN_PER_SPLIT}, so that the targets "
                "can be learned and correlated: hold out other chromosomes or regions (split.validation, "
                "split.test)",
            )


def track_format(spec: DnaDataset, name: str, target: TrackTarget) -> str:
    """The track's format: as configured, or told by its file name (see the contract)."""
    if target.format != "auto":
        return target.format
    for kind, pattern in SUFFIXES.items():
        if pattern.search(target.path):
            return kind
    raise InputError(
        "config",
        f"{spec.key}.tracks.{name}.format",
        f"cannot tell the format of {target.path} from its name; set format: bigwig, bedgraph or peaks",
    )


def open_any(spec: DnaDataset, name: str, target: TrackTarget, genome: Genome) -> Track:
    """A bigWig, bedGraph or peak file as a ``coverage.Track``, checked against the genome."""
    kind = track_format(spec, name, target)
    if kind == "bigwig":
        return open_track(target.path, genome.sizes, genome.path)
    return read_values(
        target.path, "peaks" if kind == "peaks" else "bedgraph", genome.sizes, genome.path
    ).as_track(genome.sizes)


def targets(
    windows: pd.DataFrame, tracks: dict[str, Track], settings: dict[str, TrackTarget], sizes: dict[str, int]
) -> np.ndarray:
    """float32 (windows x tracks): each track's statistic over each window's bases on the chromosome."""
    chroms = windows["chrom"].to_numpy()
    size = windows["chrom"].map(sizes).to_numpy(np.int64)
    starts = np.maximum(windows["start"].to_numpy(np.int64), 0)
    ends = np.minimum(windows["end"].to_numpy(np.int64), size)
    y = np.empty((len(windows), len(tracks)), np.float32)
    for t, (name, track) in enumerate(tracks.items()):
        track.require(chroms, sizes)
        with np.errstate(invalid="ignore"):  # log1p below -1: NaN, dropped by the caller
            y[:, t] = window_statistic(
                track, chroms, starts, ends, settings[name].statistic, settings[name].uncovered
            )
    return y
