"""Compiling the motif kernels once: numba compiles memelite's Tomtom and modisco-lite's kernels on
their first use, a minute or more on two cores; ``make install`` runs this module so that the first
interpretation of a fresh clone loads them instead.

Contract: ``python -m biodl.interpret.warm_up <cache folder>`` (``warm_up(folder)``) matches a few
random motifs with Tomtom and runs TF-MoDISco on ``planted_example`` scores, with numba's cache in
``folder`` (the workflow's ``interpretation.numba_cache_dir``, ``.cache/numba`` by default). The
two compile in two processes at once: each is one thread of LLVM, and their caches are separate
folders.
``planted_example(n, length, seed)`` is random one-hot sequences with ``PLANTED`` at a random place
in each and the scores a network that learned it would give (the planted bases high, everything
else small noise): the smallest input on which motif discovery has something to find.
"""

from __future__ import annotations

import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from os import PathLike

import numpy as np

from biodl.interpret.motifs import Motif, match_motifs, use_numba_cache
from biodl.interpret.patterns import ModiscoSettings, discover

PLANTED = "GATAAGGATAAG"


def planted_example(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(one-hot sequences, hypothetical scores), both ``(n, length, 4)`` float32 (see the contract)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length))
    hypothetical = rng.normal(0, 0.02, size=(n, length, 4))
    for i in range(n):
        start = int(rng.integers(0, length - len(PLANTED)))
        for j, base in enumerate(PLANTED):
            codes[i, start + j] = "ACGT".index(base)
            hypothetical[i, start + j] = -0.3 + rng.normal(0, 0.05, size=4)
            hypothetical[i, start + j, "ACGT".index(base)] = 1.0 + rng.normal(0, 0.1)
    return np.eye(4, dtype=np.float32)[codes], hypothetical.astype(np.float32)


def compile_tomtom(folder: str | PathLike[str]) -> None:
    """Compile (or load) memelite's Tomtom kernels in ``folder``."""
    use_numba_cache(folder)
    rng = np.random.default_rng(0)
    motifs = [Motif(f"m{i}", f"m{i}", rng.dirichlet(np.ones(4), size=8)) for i in range(3)]
    with warnings.catch_warnings():
        # Only the compile matters here, not p-values over three targets (Tomtom warns about those).
        warnings.simplefilter("ignore", UserWarning)
        match_motifs(motifs, motifs)


def compile_modisco(folder: str | PathLike[str]) -> None:
    """Compile (or load) modisco-lite's kernels in ``folder``."""
    use_numba_cache(folder)
    x, scores = planted_example(200, 80, seed=0)
    discover(x, scores, ModiscoSettings(max_seqlets=1000, min_seqlets=30, window=15, leiden_runs=2))


def warm_up(folder: str | PathLike[str]) -> None:
    """Compile (or load) both kernels' numba code in ``folder``, the two side by side."""
    with ProcessPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(compile_tomtom, folder), pool.submit(compile_modisco, folder)]:
            done.result()


if __name__ == "__main__":
    started = time.perf_counter()
    warm_up(sys.argv[1])
    seconds = time.perf_counter() - started
    print(f"numba kernels of Tomtom and TF-MoDISco ready in {sys.argv[1]} ({seconds:.0f} s)")
