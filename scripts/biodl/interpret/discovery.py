"""Explaining a DNA network task by task: DeepLIFT/DeepSHAP scores, TF-MoDISco patterns with
calibrated matches to the dataset's motif collection, and the predicted effect of inserting
motifs into background sequences.

Contract:
- ``explain_tasks(models, pool, tasks, context)``: for each ``Task``
  (``biodl.interpret.inputs.explained_tasks``) up to ``attribution_sequences`` of its rows of
  ``pool`` (drawn without replacement from ``numpy.random.default_rng(context.seed)``, kept in
  pool order) are explained: ``attribution_references`` dinucleotide shuffles each, hypothetical
  scores averaged over both strands and over ``models`` (``biodl.interpret.deeplift.deep_shap``).
  TF-MoDISco (``biodl.interpret.patterns``) runs on those scores and each pattern's core is
  matched to ``context.database`` with the null calibration of ``biodl.interpret.calibration``.
  Returns one ``TaskResult`` per task.
- ``save_attributions(results, path)``: one compressed ``.npz`` with, per task ``t``,
  ``t/rows`` (pool rows), ``t/one_hot`` (uint8), ``t/hypothetical`` and ``t/contributions``
  (hypothetical x one-hot; float32), written atomically.
- ``pattern_table(results)``: one row per pattern (``PATTERN_COLUMNS``): task, pattern, sign,
  seqlets, core and calibrated best match.
- ``insertion_motifs(filters, patterns, database, limit)``: what marginalisation inserts: the
  database motifs that matched filters (in the order given, e.g. by influence) and then patterns,
  without repeats, then the consensus of unmatched positive patterns, at most ``limit``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from biodl.config.settings import InterpretSettings
from biodl.core.files import atomic_path
from biodl.interpret.calibration import Calibration, calibrate
from biodl.interpret.deeplift import AttributionContext, deep_shap, dinucleotide_references
from biodl.interpret.inputs import Pool, Task
from biodl.interpret.marginalise import InsertedMotif
from biodl.interpret.motifs import Motif
from biodl.interpret.patterns import ModiscoSettings, Pattern, consensus, core, discover

logger = logging.getLogger(__name__)

PATTERN_COLUMNS = [
    "task",
    "pattern",
    "sign",
    "n_seqlets",
    "width",
    "core_start",
    "core_width",
    "core_bits",
    "consensus",
    "best_match",
    "best_match_name",
    "tomtom_p",
    "null_q",
    "matched",
]


@dataclass(frozen=True)
class DiscoveryContext:
    """Settings, the dataset's motif collection, the seed and the threads of one step."""

    settings: InterpretSettings
    database: list[Motif]
    seed: int
    threads: int = 1

    def calibration(self) -> Calibration:
        s = self.settings
        return Calibration(
            s.trim_bits,
            s.min_information,
            s.min_core_width,
            s.null_motifs,
            s.max_q_value,
            self.seed,
            self.threads,
        )


@dataclass(frozen=True)
class TaskResult:
    """What one task's explanation found."""

    task: Task
    rows: np.ndarray
    one_hot: np.ndarray
    hypothetical: np.ndarray
    patterns: list[Pattern]
    matches: pd.DataFrame  # calibration.calibrate's rows, one per pattern

    @property
    def contributions(self) -> np.ndarray:
        return self.hypothetical * self.one_hot


def explain_tasks(
    models: list[Any], pool: Pool, tasks: list[Task], context: DiscoveryContext
) -> list[TaskResult]:
    """Attributions, patterns and their matches for each task (module contract)."""
    s = context.settings
    rng = np.random.default_rng(context.seed)
    modisco = ModiscoSettings(
        s.modisco_max_seqlets, s.modisco_min_seqlets, s.modisco_window, s.modisco_leiden_runs
    )
    results = []
    for task in tasks:
        rows = task.rows
        if len(rows) > s.attribution_sequences:
            rows = np.sort(rng.choice(rows, size=s.attribution_sequences, replace=False))
        x = pool.inputs(rows)
        started = time.perf_counter()
        references = dinucleotide_references(x, s.attribution_references, rng)
        scores = deep_shap(models, x, AttributionContext(task.unit, references))
        logger.info(
            "task %s: DeepLIFT/DeepSHAP of %d sequences x %d references x 2 strands x %d model(s) in %.1f s",
            task.name,
            len(x),
            s.attribution_references,
            len(models),
            time.perf_counter() - started,
        )
        patterns = discover(x, scores, modisco) if len(x) else []
        matches, _ = calibrate([core(p) for p in patterns], context.database, context.calibration())
        results.append(TaskResult(task, rows, x, scores, patterns, matches))
    return results


def save_attributions(results: list[TaskResult], path: str | PathLike[str]) -> None:
    """Every task's rows, one-hot sequences and scores in one ``.npz`` (module contract)."""
    arrays: dict[str, Any] = {}
    for r in results:
        arrays[f"{r.task.name}/rows"] = r.rows.astype(np.int64)
        arrays[f"{r.task.name}/one_hot"] = (r.one_hot > 0).astype(np.uint8)
        arrays[f"{r.task.name}/hypothetical"] = r.hypothetical.astype(np.float32)
        arrays[f"{r.task.name}/contributions"] = r.contributions.astype(np.float32)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def pattern_table(results: list[TaskResult]) -> pd.DataFrame:
    """One row per pattern of every task (module contract)."""
    rows = []
    for r in results:
        for pattern, (_, match) in zip(r.patterns, r.matches.iterrows(), strict=True):
            rows.append(
                {
                    "task": r.task.name,
                    "pattern": pattern.name,
                    "sign": pattern.sign,
                    "n_seqlets": pattern.n_seqlets,
                    "width": len(pattern.ppm),
                    "core_start": match["core_start"],
                    "core_width": match["core_width"],
                    "core_bits": match["core_bits"],
                    "consensus": "".join("ACGT"[i] for i in pattern.ppm.argmax(axis=1)),
                    "best_match": match["best_match"] if match["matched"] else None,
                    "best_match_name": match["best_match_name"] if match["matched"] else None,
                    "tomtom_p": match["tomtom_p"],
                    "null_q": match["null_q"],
                    "matched": bool(match["matched"]),
                }
            )
    return pd.DataFrame(rows, columns=PATTERN_COLUMNS)


def insertion_motifs(
    filters: pd.DataFrame, patterns: pd.DataFrame, database: list[Motif], limit: int
) -> list[InsertedMotif]:
    """The motifs marginalisation inserts (module contract)."""
    by_id = {m.id: m for m in database}
    chosen: list[InsertedMotif] = []
    seen: set[str] = set()
    for frame, source in ((filters, "filter"), (patterns, "pattern")):
        if not len(frame):
            continue
        for _, row in frame[frame["matched"].astype(bool)].iterrows():
            motif = by_id.get(str(row["best_match"]))
            if motif is None or motif.id in seen:
                continue
            seen.add(motif.id)
            label = f"filter{row['filter']}" if source == "filter" else f"{row['task']} {row['pattern']}"
            chosen.append(
                InsertedMotif(
                    f"{motif.id} {motif.name}", f"best match of {label}", consensus(motif.probabilities)
                )
            )
    if len(patterns):
        unmatched = patterns[~patterns["matched"].astype(bool) & (patterns["sign"] == "pos")]
        for _, row in unmatched.iterrows():
            bases = str(row["consensus"])
            start = 0 if pd.isna(row["core_start"]) else int(row["core_start"])
            width = int(row["core_width"]) or len(bases)
            one_hot = np.eye(4, dtype=np.float32)[["ACGT".index(b) for b in bases[start : start + width]]]
            chosen.append(
                InsertedMotif(f"{row['task']} {row['pattern']}", "TF-MoDISco pattern (no match)", one_hot)
            )
    return chosen[:limit]
