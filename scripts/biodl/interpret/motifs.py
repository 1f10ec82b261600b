"""First-layer convolution filters of a DNA network as motifs, and their match to a database.

Contract:
- ``filter_activations(model, x)``: the output of the first convolution block after its
  non-linearity (the convolution's own activation, or the activation after its batch norm),
  ``(n, positions, filters)`` (images: ``(n, height, width, filters)``); ``first_conv(model)``
  finds the convolution and that layer.
- ``filter_motifs(x, activations, width, rule, groups)`` turns activations into motifs, Basset-style
  (``SiteRule``: threshold, pseudocount, min_sites):
  for each filter the threshold is ``mean + threshold * (max - mean)`` of its activations over
  every position of ``x`` (``threshold=0.5``: half-way from the mean to the maximum); every
  window whose activation exceeds it is a site; the sites' one-hot bases are summed into a
  position frequency matrix, ``pseudocount`` is added to every cell and rows are normalised.
  A filter with fewer than ``min_sites`` sites has no motif (``FilterMotif.motif`` is None) and
  is counted by the caller. ``groups`` (sequences x groups, boolean; e.g. one column per class
  or target) counts each filter's sites per group (``FilterMotif.group_sites``), so a caller can
  say which class a filter's sites come from. ``background(x)`` is the base composition of ``x``; information
  content is the relative entropy (bits) of each position against it.
- ``write_meme`` / ``read_meme``: MEME minimal motif format (DNA, ``letter-probability
  matrix`` rows A C G T). ``read_meme`` checks every record and raises ``InputError`` naming
  the file and line; rows are renormalised when they sum to 1 within 0.01.
- ``best_p_values(queries, targets)``: each query's smallest Tomtom p-value, for many queries
  (decoys) without building a table.
- ``match_motifs(queries, targets, ...)`` runs memelite's Tomtom (complete scores, Euclidean
  column distance, both strands) and returns one row per (query, target) pair with q-value
  <= ``max_q``: target ID and name, offset, orientation, overlap, p-, E- and q-value. The
  offset is where the query's first column sits on the target (``+``) or on the target's
  reverse complement (``-``): query column j faces target column j + offset. q-values are
  Benjamini-Hochberg over the targets of each query, as in MEME's Tomtom; E = p x targets.
  ``best_matches`` keeps each query's best target whatever its q-value, for the logos.
- numba compiles memelite's kernels on first use; ``use_numba_cache(folder)`` must run before
  memelite is imported, so the compiled code is kept in ``folder`` and reruns load it.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biodl.core.errors import InputError, require, require_file
from biodl.core.files import atomic_path
from biodl.core.text_input import read_lines

logger = logging.getLogger(__name__)

BASES = "ACGT"
MATCH_COLUMNS = [
    "filter",
    "target_id",
    "target_name",
    "offset",
    "orientation",
    "overlap",
    "p_value",
    "e_value",
    "q_value",
]
_ROW_TOLERANCE = 0.01
_FLOAT = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


@dataclass(frozen=True)
class Motif:
    """A probability matrix ``(width, 4)`` over A, C, G, T with an ID and an optional name."""

    id: str
    name: str
    probabilities: np.ndarray
    n_sites: int = 0

    @property
    def width(self) -> int:
        return len(self.probabilities)

    def reverse_complement(self) -> Motif:
        return Motif(self.id, self.name, self.probabilities[::-1, ::-1].copy(), self.n_sites)


@dataclass(frozen=True)
class FilterMotif:
    """One filter's sites: the activation threshold, how many windows passed it, the motif."""

    filter: int
    threshold: float
    max_activation: float
    n_sites: int
    motif: Motif | None
    group_sites: tuple[int, ...] = ()


def first_conv(model: Any) -> tuple[Any, Any]:
    """The first convolution of ``model`` and the layer whose output is its activation."""
    import keras

    layers = list(model.layers)
    index = next(
        (
            i
            for i, layer in enumerate(layers)
            if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D))
        ),
        None,
    )
    require(
        index is not None,
        model.name,
        None,
        "the model has no convolution; filters need a cnn1d or cnn2d model",
    )
    assert index is not None  # require() raised otherwise
    conv = layers[index]
    if getattr(conv.activation, "__name__", "linear") != "linear":
        return conv, conv
    # With batch norm the convolution is linear; its activation layer follows the normalisation.
    for layer in layers[index + 1 : index + 3]:
        if isinstance(layer, keras.layers.Activation):
            return conv, layer
    raise InputError(
        model.name,
        conv.name,
        "a linear first convolution without an activation after it; expected a non-linear filter output",
    )


def filter_activations(model: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Activations ``(n, ..., filters)`` of the first convolution block on ``x``."""
    import keras

    _, output = first_conv(model)
    probe = keras.Model(model.input, output.output)
    return np.asarray(probe.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)


def background(x: np.ndarray, pseudocount: float = 1.0) -> np.ndarray:
    """Base composition (A, C, G, T) of one-hot sequences ``(n, length, 4)``."""
    counts = x.reshape(-1, 4).sum(axis=0, dtype=np.float64) + pseudocount
    return counts / counts.sum()


def information_content(probabilities: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Relative entropy (bits) of each row against the background."""
    p = np.clip(probabilities, 1e-12, 1.0)
    return (probabilities * np.log2(p / bg)).sum(axis=1)


@dataclass(frozen=True)
class SiteRule:
    """Which windows are a filter's sites and what makes a motif of them (module contract)."""

    threshold: float = 0.5
    pseudocount: float = 0.5
    min_sites: int = 10


def filter_motifs(
    x: np.ndarray,
    activations: np.ndarray,
    width: int,
    rule: SiteRule = SiteRule(),
    groups: np.ndarray | None = None,
) -> list[FilterMotif]:
    """Sites and position frequency matrices of every filter (see the module contract)."""
    n, positions, n_filters = activations.shape
    member = np.ones((n, 1), dtype=bool) if groups is None else np.asarray(groups, dtype=bool)
    require(
        member.ndim == 2 and len(member) == n,
        "sequences",
        None,
        f"expected one row of group membership per sequence ({n}), found {member.shape}",
    )
    require(
        x.ndim == 3 and x.shape[0] == n and x.shape[2] == 4,
        "sequences",
        None,
        f"expected one-hot sequences (n={n}, length, 4), found {x.shape}",
    )
    require(
        x.shape[1] == positions + width - 1,
        "sequences",
        None,
        f"a filter of width {width} over {positions} positions needs sequences of "
        f"{positions + width - 1} bases, found {x.shape[1]}",
    )
    require(
        0 <= rule.threshold < 1,
        "config",
        "interpretation.threshold",
        f"expected a fraction in [0, 1), found {rule.threshold}",
    )
    # All windows at once: (n, positions, width, 4), a view, no copy.
    windows = np.lib.stride_tricks.sliding_window_view(x.astype(np.float32), width, axis=1).transpose(
        0, 1, 3, 2
    )
    results = []
    for k in range(n_filters):
        a = activations[:, :, k]
        top, mean = float(a.max()), float(a.mean())
        cut = mean + rule.threshold * (top - mean)
        hits = a > cut
        n_sites = int(hits.sum())
        motif = None
        if n_sites >= max(rule.min_sites, 1):
            counts = windows[hits].sum(axis=0, dtype=np.float64) + rule.pseudocount
            motif = Motif(f"filter{k}", f"filter{k}", counts / counts.sum(axis=1, keepdims=True), n_sites)
        per_sequence = hits.sum(axis=1)
        by_group = tuple(int(per_sequence[member[:, g]].sum()) for g in range(member.shape[1]))
        results.append(FilterMotif(k, cut, top, n_sites, motif, by_group))
    return results


def write_meme(motifs: list[Motif], path: str | PathLike[str], bg: np.ndarray | None = None) -> None:
    """Write ``motifs`` in MEME minimal format (atomically)."""
    bg = np.full(4, 0.25) if bg is None else np.asarray(bg)
    lines = [
        "MEME version 4",
        "",
        "ALPHABET= ACGT",
        "",
        "strands: + -",
        "",
        "Background letter frequencies",
        " ".join(f"{b} {f:.4f}" for b, f in zip(BASES, bg, strict=False)),
        "",
    ]
    for motif in motifs:
        title = motif.id if motif.name in ("", motif.id) else f"{motif.id} {motif.name}"
        lines.append(f"MOTIF {title}")
        lines.append(f"letter-probability matrix: alength= 4 w= {motif.width} nsites= {motif.n_sites} E= 0")
        lines.extend(" ".join(f"{p:.6f}" for p in row) for row in motif.probabilities)
        lines.append("")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines))


def read_meme(path: str | PathLike[str]) -> list[Motif]:
    """The motifs of a MEME (minimal) file, checked record by record."""
    path = require_file(path, "MEME motif file")
    motifs: list[Motif] = []
    lines = read_lines(path, "MEME motif file")
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("ALPHABET"):
            alphabet = line.split("=", 1)[-1].strip()
            require(
                alphabet.upper().startswith("ACGT"),
                path,
                f"line {i + 1}",
                f"expected the DNA alphabet ACGT, found {alphabet!r}",
            )
        if not line.startswith("MOTIF"):
            i += 1
            continue
        fields = line.split()
        require(len(fields) >= 2, path, f"line {i + 1}", "a MOTIF line needs an identifier")
        motif_id, name, start = fields[1], " ".join(fields[2:]), i + 1
        i += 1
        while i < len(lines) and not lines[i].strip().startswith("letter-probability"):
            require(
                not lines[i].strip().startswith("MOTIF"),
                path,
                f"line {i + 1}",
                f"motif {motif_id} (line {start}) has no letter-probability matrix",
            )
            i += 1
        require(i < len(lines), path, f"line {start}", f"motif {motif_id} has no letter-probability matrix")
        header = lines[i]
        width = re.search(r"\bw=\s*(\d+)", header)
        require(
            width is not None and int(width.group(1)) > 0,
            path,
            f"line {i + 1}",
            f"expected 'w= <width>' in the matrix header of {motif_id}",
        )
        assert width is not None  # require() raised otherwise
        nsites = re.search(r"\bnsites=\s*(" + _FLOAT + ")", header)
        rows = []
        for j in range(int(width.group(1))):
            i += 1
            where = f"line {i + 1}"
            require(i < len(lines), path, where, f"motif {motif_id} ends before its {width.group(1)} rows")
            try:
                row = [float(v) for v in lines[i].split()]
            except ValueError:
                raise InputError(
                    path,
                    where,
                    f"row {j + 1} of motif {motif_id}: expected 4 numbers, found {lines[i].strip()!r}",
                ) from None
            require(
                len(row) == 4 and all(v >= 0 for v in row) and abs(sum(row) - 1) <= _ROW_TOLERANCE,
                path,
                where,
                f"row {j + 1} of motif {motif_id}: expected 4 probabilities (A C G T) summing to 1, "
                f"found {lines[i].strip()!r}",
            )
            rows.append(row)
        matrix = np.asarray(rows)
        motifs.append(
            Motif(
                motif_id,
                name,
                matrix / matrix.sum(axis=1, keepdims=True),
                int(float(nsites.group(1))) if nsites else 0,
            )
        )
        i += 1
    require(bool(motifs), path, None, "no MOTIF records found; expected a MEME motif file")
    duplicated = pd.Index([m.id for m in motifs]).duplicated()
    require(
        not duplicated.any(),
        path,
        None,
        f"motif identifier {motifs[int(np.argmax(duplicated))].id} appears twice",
    )
    return motifs


def use_numba_cache(folder: str | PathLike[str]) -> None:
    """Keep numba's compiled code in ``folder`` (call before memelite is imported)."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if os.environ.get("NUMBA_CACHE_DIR") == str(folder):
        return
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    if not any(folder.rglob("*.nbi")):
        logger.info(
            "numba compiles the motif kernels into %s first (once: a minute or more on two cores; "
            "`make install` does it ahead)",
            folder,
        )
    if "numba" in sys.modules:  # numba read its settings already; update them too
        sys.modules["numba"].config.CACHE_DIR = str(folder)
    if "memelite" in sys.modules:
        logger.warning(
            "memelite was imported before the numba cache folder was set to %s; "
            "its kernels may be recompiled",
            folder,
        )


def match_motifs(
    queries: list[Motif], targets: list[Motif], *, max_q: float = 0.5, n_jobs: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tomtom matches: (rows with q <= ``max_q``, each query's best target); see the contract."""
    if not queries:
        empty = pd.DataFrame(columns=MATCH_COLUMNS)
        return empty, empty.copy()
    p, offsets, overlaps, strands = _tomtom(queries, targets, n_jobs)
    q = np.vstack([bh_qvalues(row) for row in p])
    rows = []
    for i, query in enumerate(queries):
        for j in np.argsort(p[i], kind="stable"):
            rows.append(
                (
                    query.id,
                    targets[j].id,
                    targets[j].name,
                    int(offsets[i, j]),
                    "-" if strands[i, j] else "+",
                    int(overlaps[i, j]),
                    float(p[i, j]),
                    float(p[i, j] * len(targets)),
                    float(q[i, j]),
                )
            )
    table = pd.DataFrame(rows, columns=MATCH_COLUMNS)
    best = table.groupby("filter", sort=False).head(1).reset_index(drop=True)
    return table[table["q_value"] <= max_q].reset_index(drop=True), best


def best_p_values(queries: list[Motif], targets: list[Motif], n_jobs: int = 1) -> np.ndarray:
    """Each query's smallest Tomtom p-value over ``targets`` (no table: for many decoys)."""
    if not queries:
        return np.zeros(0)
    return _tomtom(queries, targets, n_jobs)[0].min(axis=1)


def _tomtom(
    queries: list[Motif], targets: list[Motif], n_jobs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """memelite's Tomtom: p-values (NaN as 1), offsets, overlaps, strands, (queries, targets)."""
    from memelite import tomtom  # after use_numba_cache, so compiled kernels are reused

    require(len(targets) > 0, "motif database", None, "no target motifs to match against")
    p, _, offsets, overlaps, strands = tomtom(
        [q.probabilities.T for q in queries], [t.probabilities.T for t in targets], n_jobs=n_jobs
    )
    return np.clip(np.nan_to_num(p, nan=1.0), 0.0, 1.0), offsets, overlaps, strands


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (monotone, capped at 1), in the input's order."""
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    adjusted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out
