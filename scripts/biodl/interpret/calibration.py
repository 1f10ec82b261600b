"""Calibrated motif matches: a learned motif (a filter's PWM, a MoDISco pattern) is trimmed to its
informative core, tested only when that core carries enough information, and its best Tomtom
match is judged against an empirical null of motifs with the same information.

Why: Tomtom's p-value compares a query with one target under a null built from the query's own
columns, and the q-value corrects only over the targets of one query. A nearly flat filter
(a few bits over 19 columns) against long, GC-rich targets (CTCF's MA1929/MA1930) then reaches
q ~ 1e-6 although nothing was learned: on unseen tasks 28 of 28 filters were "matched". What a
reader wants from q is the fraction of reported matches that are chance, so that is what is
estimated here.

Contract:
- ``trim(motif, bg, min_bits)``: the core of ``motif``, from its first to its last column whose
  information content against ``bg`` is at least ``min_bits``; ``Core.start`` is where the core
  starts in ``motif``. No such column: ``None``.
- ``null_motifs(motif, count, rng)``: ``count`` decoys of equal width and equal information
  against a uniform background: the columns in a random order, the four probabilities of every
  column given to the bases in a random order. They keep everything about the query that Tomtom's
  score depends on (width, per-column information, how peaked each column is) and lose what the
  columns spell.
- ``calibrate(queries, database, context)``: for each query motif (already trimmed, ``None``
  where it was not tested) Tomtom against ``database`` (``biodl.interpret.motifs.match_motifs``)
  and against ``context.null_motifs`` decoys of the query, drawn from
  ``numpy.random.default_rng(context.seed)`` in query order. ``null_p`` is the query's own
  empirical p-value, (1 + decoys whose best p is at least as small) / (decoys + 1). ``null_q``
  is the target-decoy false discovery rate over all tested queries: at a threshold t on the best
  Tomtom p, (1 + decoys below t) / decoys-per-query false matches are expected among the queries
  below t; q is the smallest such rate over thresholds at or above the query's p (monotone,
  capped at 1). A query is ``matched`` when ``null_q <= context.max_q``. Returns one row per
  query (``CALIBRATED_COLUMNS``) and the Tomtom table of every tested query's targets.
- Deterministic for the same inputs and seed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from biodl.core.errors import require
from biodl.interpret.motifs import Motif, best_p_values, information_content, match_motifs

logger = logging.getLogger(__name__)

UNIFORM = np.full(4, 0.25)
CALIBRATED_COLUMNS = [
    "query",
    "core_start",
    "core_width",
    "core_bits",
    "tested",
    "best_match",
    "best_match_name",
    "tomtom_p",
    "tomtom_q",
    "match_offset",
    "match_orientation",
    "null_p",
    "null_q",
    "matched",
]


@dataclass(frozen=True)
class Core:
    """The informative core of a motif: ``motif`` (the trimmed columns) starts at ``start``."""

    motif: Motif
    start: int

    @property
    def bits(self) -> float:
        return float(information_content(self.motif.probabilities, UNIFORM).sum())


@dataclass(frozen=True)
class Calibration:
    """How matches are judged: trimming, the information floor, the decoys, the cut-off."""

    trim_bits: float
    min_information: float
    min_width: int
    null_motifs: int
    max_q: float
    seed: int
    n_jobs: int = 1


def trim(motif: Motif, bg: np.ndarray, min_bits: float) -> Core | None:
    """The columns from the first to the last one with at least ``min_bits`` of information."""
    ic = information_content(motif.probabilities, bg)
    informative = np.flatnonzero(ic >= min_bits)
    if not len(informative):
        return None
    start, end = int(informative[0]), int(informative[-1]) + 1
    core = Motif(motif.id, motif.name, motif.probabilities[start:end].copy(), motif.n_sites)
    return Core(core, start)


def can_match(core: Core | None, context: Calibration) -> bool:
    """Whether a core is wide and informative enough to be matched at all."""
    return core is not None and core.motif.width >= context.min_width and core.bits >= context.min_information


def null_motifs(motif: Motif, count: int, rng: np.random.Generator) -> list[Motif]:
    """``count`` decoys of ``motif`` with its width and per-column information (module contract)."""
    p = motif.probabilities
    width = len(p)
    decoys = []
    for i in range(count):
        columns = p[rng.permutation(width)]
        bases = rng.permuted(np.tile(np.arange(4), (width, 1)), axis=1)
        decoys.append(Motif(f"{motif.id}_null{i}", "", np.take_along_axis(columns, bases, axis=1)))
    return decoys


def target_decoy_q(observed: np.ndarray, decoys: np.ndarray) -> np.ndarray:
    """q-values of ``observed`` best p-values (one per query) from ``decoys`` (queries x draws)."""
    observed = np.asarray(observed, dtype=np.float64)
    if not len(observed):
        return np.zeros(0)
    draws = decoys.shape[1]
    pooled = np.sort(decoys.ravel())
    order = np.argsort(observed, kind="stable")
    ranked = observed[order]
    # Ties share the largest rank: every query at or below the threshold counts as a discovery.
    discoveries = np.searchsorted(ranked, ranked, side="right")
    false = (1 + np.searchsorted(pooled, ranked, side="right")) / draws
    rates = np.minimum(false / discoveries, 1.0)
    q = np.minimum.accumulate(rates[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = q
    return out


def calibrate(
    queries: list[Core | None], database: list[Motif], context: Calibration
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-query calibrated best matches and the Tomtom rows of tested queries (module contract)."""
    require(context.null_motifs >= 1, "config", "interpretation.null_motifs", "expected at least 1 decoy")
    rng = np.random.default_rng(context.seed)
    tested = [i for i, core in enumerate(queries) if can_match(core, context)]
    cores = [queries[i] for i in tested]
    motifs = [c.motif for c in cores if c is not None]
    table, best = match_motifs(motifs, database, max_q=context.max_q, n_jobs=context.n_jobs)
    decoys = [null_motifs(m, context.null_motifs, rng) for m in motifs]
    flat = [d for group in decoys for d in group]
    null_p = best_p_values(flat, database, context.n_jobs).reshape(len(motifs), context.null_motifs)
    best = best.set_index("filter")
    observed = np.array([best.loc[m.id, "p_value"] for m in motifs], dtype=np.float64)
    q = target_decoy_q(observed, null_p)
    own = (1 + (null_p <= observed[:, None]).sum(axis=1)) / (context.null_motifs + 1)
    rows = [_untested_row(i, queries[i]) for i in range(len(queries))]
    for k, (i, motif) in enumerate(zip(tested, motifs, strict=True)):
        hit = best.loc[motif.id]
        core = queries[i]
        assert core is not None
        rows[i] = {
            **rows[i],
            "tested": True,
            "best_match": hit["target_id"],
            "best_match_name": hit["target_name"],
            "tomtom_p": float(hit["p_value"]),
            "tomtom_q": float(hit["q_value"]),
            "match_offset": int(hit["offset"]),
            "match_orientation": hit["orientation"],
            "null_p": float(own[k]),
            "null_q": float(q[k]),
            "matched": bool(q[k] <= context.max_q),
        }
    frame = pd.DataFrame(rows, columns=CALIBRATED_COLUMNS)
    logger.info(
        "calibrated matching: %d of %d motifs tested (core >= %d columns and %.1f bits), %d matched at "
        "null-calibrated q <= %g against %d decoys each",
        len(tested),
        len(queries),
        context.min_width,
        context.min_information,
        int(frame["matched"].sum()),
        context.max_q,
        context.null_motifs,
    )
    return frame, table


def _untested_row(i: int, core: Core | None) -> dict[str, object]:
    return {
        "query": i,
        "core_start": core.start if core else pd.NA,
        "core_width": core.motif.width if core else 0,
        "core_bits": core.bits if core else 0.0,
        "tested": False,
        "matched": False,
    }
