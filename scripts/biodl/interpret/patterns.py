"""TF-MoDISco patterns from attribution scores (modisco-lite), as motifs to match and draw.

Contract:
- ``discover(one_hot, hypothetical, settings)`` runs ``modiscolite.tfmodisco.TFMoDISco`` on
  one-hot sequences ``(n, L, 4)`` and their hypothetical scores (``biodl.interpret.deeplift``)
  and returns its patterns, positive metacluster first, each ordered by seqlet count as
  modisco-lite orders them: ``Pattern`` with its name (``pos_0``, ``neg_1`` ...), sign, seqlet
  count, position probability matrix (``ppm``) and contribution weight matrix (``cwm``, the
  mean actual contributions of its seqlets). Too few seqlets for a metacluster (fewer than
  ``settings.min_seqlets``) give no pattern, not an error. modisco-lite's Leiden runs are
  seeded by the package itself (seeds 1..runs), so the same scores give the same patterns.
- ``core(pattern, fraction)``: the columns from the first to the last whose summed |cwm|
  reaches ``fraction`` of the largest, as modisco's own report trims a pattern before Tomtom;
  a ``biodl.interpret.calibration.Core`` of the pattern's ppm, to be matched and calibrated
  like a filter.
- ``consensus(matrix)``: the most likely base of each column, one-hot ``(L, 4)``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from biodl.core.errors import require
from biodl.interpret.calibration import Core
from biodl.interpret.motifs import Motif

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModiscoSettings:
    """The TF-MoDISco knobs the workflow exposes (the rest are modisco-lite's defaults)."""

    max_seqlets: int
    min_seqlets: int
    window: int
    leiden_runs: int


@dataclass(frozen=True)
class Pattern:
    """One TF-MoDISco pattern: name, sign, seqlet count, probabilities and contributions."""

    name: str
    sign: str
    n_seqlets: int
    ppm: np.ndarray
    cwm: np.ndarray

    def motif(self, prefix: str = "") -> Motif:
        return Motif(f"{prefix}{self.name}", self.name, self.ppm, self.n_seqlets)


def discover(one_hot: np.ndarray, hypothetical: np.ndarray, settings: ModiscoSettings) -> list[Pattern]:
    """TF-MoDISco patterns of these scores (module contract), found in a fresh interpreter."""
    # modisco-lite compiles its numba kernels into the on-disk cache only from forked helpers,
    # and it forks only when no other thread runs; in a process where TensorFlow has started its
    # thread pools it compiles every kernel again on each run (about 45 s on two cores). A new
    # interpreter that never imports TensorFlow loads them from the cache instead. (Not
    # multiprocessing's spawn: it would import the calling script again, a Snakemake step.)
    with tempfile.TemporaryDirectory(prefix="modisco") as folder:
        inputs, found = Path(folder) / "scores.npz", Path(folder) / "patterns.npz"
        np.savez(inputs, one_hot=one_hot, hypothetical=hypothetical, settings=np.array(astuple(settings)))
        library = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [library, os.environ.get("PYTHONPATH")])),
        }
        done = subprocess.run(
            [sys.executable, "-m", "biodl.interpret.patterns", str(inputs), str(found)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        for line in done.stderr.splitlines():
            logger.info("modisco: %s", line)
        if done.returncode != 0:
            raise RuntimeError(
                f"TF-MoDISco failed (exit {done.returncode}); its messages are in the log above"
            )
        with np.load(found, allow_pickle=False) as saved:
            return [
                Pattern(str(name), str(sign), int(count), saved[f"ppm{i}"], saved[f"cwm{i}"])
                for i, (name, sign, count) in enumerate(
                    zip(saved["names"], saved["signs"], saved["counts"], strict=True)
                )
            ]


def _main(inputs: str, output: str) -> None:
    """Command line of the fresh interpreter: scores in, patterns out (both ``.npz``)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    with np.load(inputs, allow_pickle=False) as saved:
        settings = ModiscoSettings(*(int(v) for v in saved["settings"]))
        patterns = discover_here(saved["one_hot"], saved["hypothetical"], settings)
    arrays: dict[str, Any] = {
        "names": np.array([p.name for p in patterns], dtype=str),
        "signs": np.array([p.sign for p in patterns], dtype=str),
        "counts": np.array([p.n_seqlets for p in patterns], dtype=np.int64),
    }
    for i, p in enumerate(patterns):
        arrays[f"ppm{i}"], arrays[f"cwm{i}"] = p.ppm, p.cwm
    np.savez(output, **arrays)


def discover_here(one_hot: np.ndarray, hypothetical: np.ndarray, settings: ModiscoSettings) -> list[Pattern]:
    """``discover`` in this process."""
    from modiscolite.tfmodisco import TFMoDISco

    require(
        one_hot.shape == hypothetical.shape and one_hot.ndim == 3 and one_hot.shape[2] == 4,
        "attributions",
        None,
        f"expected one-hot sequences and scores of one shape (n, L, 4), "
        f"found {one_hot.shape} and {hypothetical.shape}",
    )
    require(
        one_hot.shape[1] > settings.window,
        "config",
        "interpretation.modisco_window",
        f"expected a window shorter than the {one_hot.shape[1]} bases of the sequences, "
        f"found {settings.window}",
    )
    started = time.perf_counter()
    positive, negative = TFMoDISco(
        one_hot=one_hot.astype(np.float32),
        hypothetical_contribs=hypothetical.astype(np.float32),
        sliding_window_size=settings.window,
        flank_size=max(settings.window // 2, 1),
        trim_to_window_size=max(settings.window + 9, 1),
        initial_flank_to_add=max(settings.window // 2, 1),
        min_metacluster_size=settings.min_seqlets,
        final_min_cluster_size=max(settings.min_seqlets // 5, 5),
        max_seqlets_per_metacluster=settings.max_seqlets,
        n_leiden_runs=settings.leiden_runs,
    )
    found = [
        Pattern(
            f"{sign}_{i}",
            sign,
            len(p.seqlets),
            np.asarray(p.sequence, dtype=np.float64),
            np.asarray(p.contrib_scores, dtype=np.float64),
        )
        for sign, patterns in (("pos", positive), ("neg", negative))
        for i, p in enumerate(patterns or [])
    ]
    logger.info(
        "TF-MoDISco: %d patterns (%d positive) from %d sequences in %.1f s",
        len(found),
        len(positive or []),
        len(one_hot),
        time.perf_counter() - started,
    )
    return found


def core(pattern: Pattern, fraction: float = 0.3) -> Core | None:
    """The pattern's columns with summed |cwm| of at least ``fraction`` of the largest."""
    score = np.abs(pattern.cwm).sum(axis=1)
    if not len(score) or score.max() <= 0:
        return None
    keep = np.flatnonzero(score >= fraction * score.max())
    start, end = int(keep[0]), int(keep[-1]) + 1
    ppm = pattern.ppm[start:end]
    ppm = ppm / np.clip(ppm.sum(axis=1, keepdims=True), 1e-12, None)
    return Core(Motif(pattern.name, pattern.name, ppm, pattern.n_seqlets), start)


def consensus(matrix: np.ndarray) -> np.ndarray:
    """The most likely base of each column as one-hot rows."""
    return np.eye(4, dtype=np.float32)[np.asarray(matrix).argmax(axis=1)]


if __name__ == "__main__":
    _main(*sys.argv[1:3])
