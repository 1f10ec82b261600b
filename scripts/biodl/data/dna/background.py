"""Negative examples: dinucleotide shuffles and GC-matched genomic background.

Contract:
- ``dinucleotide_shuffle(codes, rng)`` returns a uniformly random sequence with exactly the
  same first symbol, last symbol and dinucleotide counts (Altschul & Erickson 1985: a random
  Eulerian walk through the dinucleotide multigraph, whose last-exit edges form a random tree
  rooted at the final symbol). Ambiguity codes take part like any other symbol.
  No maintained Python package offers this without pulling in PyTorch, so it is implemented
  here; it is the reference algorithm, not an approximation.
- ``gc_matched_windows`` samples ``ratio`` background windows per positive from the genome,
  away from excluded bases (the positives, any blacklist), with the positives' GC distribution:
  windows are binned by GC fraction and drawn per bin; a bin short of candidates borrows from
  its nearest bins and the shortfall is logged.
"""

from __future__ import annotations

import logging

import numpy as np

from biodl.data.dna.encode import IS_AMBIGUOUS, IS_GC

log = logging.getLogger(__name__)


def dinucleotide_shuffle(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One dinucleotide-preserving shuffle of a 1-D code array."""
    n = len(codes)
    if n <= 2:
        return codes.copy()
    successors: dict[int, list[int]] = {}
    for a, b in zip(codes[:-1].tolist(), codes[1:].tolist(), strict=False):
        successors.setdefault(a, []).append(b)
    last = int(codes[-1])
    # Pick, for every symbol but the last, the edge it leaves by for the final time, such that
    # these edges form a tree pointing at ``last`` (a Eulerian walk then always exists).
    while True:
        exit_edge = {v: int(rng.integers(len(out))) for v, out in successors.items() if v != last}
        if _reaches(last, {v: successors[v][i] for v, i in exit_edge.items()}):
            break
    order: dict[int, list[int]] = {}
    for v, out in successors.items():
        edges = list(out)
        final = edges.pop(exit_edge[v]) if v in exit_edge else None
        rng.shuffle(edges)
        if final is not None:
            edges.append(final)
        order[v] = edges[::-1]  # popped from the end
    walk = [int(codes[0])]
    for _ in range(n - 1):
        walk.append(order[walk[-1]].pop())
    return np.asarray(walk, dtype=codes.dtype)


def _reaches(root: int, parent: dict[int, int]) -> bool:
    """Whether following ``parent`` from every vertex ends at ``root`` (no cycle)."""
    known = {root}
    for start in parent:
        path = []
        v = start
        while v not in known:
            if v in path:
                return False
            path.append(v)
            v = parent[v]
        known.update(path)
    return True


def window_gc_and_n(codes: np.ndarray, starts: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """GC fraction (of called bases) and ambiguous fraction for windows ``codes[s:s+length]``."""
    gc_cum = np.concatenate([[0], np.cumsum(IS_GC[codes], dtype=np.int64)])
    n_cum = np.concatenate([[0], np.cumsum(IS_AMBIGUOUS[codes], dtype=np.int64)])
    gc = gc_cum[starts + length] - gc_cum[starts]
    ambiguous = n_cum[starts + length] - n_cum[starts]
    called = length - ambiguous
    gc_fraction = np.divide(gc, called, out=np.zeros(len(starts)), where=called > 0)
    return gc_fraction, ambiguous / length


def candidate_starts(
    codes: np.ndarray, excluded: np.ndarray, length: int, stride: int, max_ambiguous: float
) -> tuple[np.ndarray, np.ndarray]:
    """Window starts on a ``stride`` grid that touch no excluded base and have few N.

    Returns (starts, gc_fraction). ``excluded`` is a boolean mask over the chromosome.
    """
    if len(codes) < length:
        return np.empty(0, np.int64), np.empty(0)
    starts = np.arange(0, len(codes) - length + 1, stride, dtype=np.int64)
    ex_cum = np.concatenate([[0], np.cumsum(excluded, dtype=np.int64)])
    clear = (ex_cum[starts + length] - ex_cum[starts]) == 0
    starts = starts[clear]
    gc, ambiguous = window_gc_and_n(codes, starts, length)
    keep = ambiguous <= max_ambiguous
    return starts[keep], gc[keep]


def match_gc(
    positive_gc: np.ndarray, candidate_gc: np.ndarray, ratio: float, bins: int, rng: np.random.Generator
) -> np.ndarray:
    """Indices into the candidates, ``round(ratio * len(positive_gc))`` of them, GC-matched.

    Draws without replacement within each GC bin; a bin without enough candidates takes the
    rest from the nearest bins (logged).
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    pos_bin = np.clip(np.digitize(positive_gc, edges[1:-1]), 0, bins - 1)
    cand_bin = np.clip(np.digitize(candidate_gc, edges[1:-1]), 0, bins - 1)
    wanted = np.bincount(pos_bin, minlength=bins) * ratio
    wanted = _round_preserving_total(wanted, int(round(ratio * len(positive_gc))))
    pools = [list(rng.permutation(np.flatnonzero(cand_bin == b))) for b in range(bins)]
    chosen: list[int] = []
    borrowed = 0
    for b in np.argsort(-wanted, kind="stable"):
        need = int(wanted[b])
        for neighbour in sorted(range(bins), key=lambda other: (abs(other - b), other)):
            take = pools[neighbour][:need]
            del pools[neighbour][:need]
            chosen.extend(take)
            if neighbour != b:
                borrowed += len(take)
            need -= len(take)
            if need == 0:
                break
    if borrowed:
        log.warning("GC matching: %d negative(s) taken from a neighbouring GC bin", borrowed)
    total = int(wanted.sum())
    if len(chosen) < total:
        log.warning("GC matching: only %d candidate windows for %d wanted negatives", len(chosen), total)
    return np.sort(np.asarray(chosen, dtype=np.int64))


def _round_preserving_total(values: np.ndarray, total: int) -> np.ndarray:
    """Round to integers whose sum is ``total`` (largest remainders first)."""
    floor = np.floor(values).astype(np.int64)
    remainder = total - int(floor.sum())
    if remainder > 0:
        floor[np.argsort(-(values - floor), kind="stable")[:remainder]] += 1
    return floor
