"""In-silico marginalisation: the predicted effect of a motif inserted into background sequences.

Contract: ``marginalise(model, backgrounds, motifs, context)`` writes each motif's consensus
(one-hot ``(w, 4)``) into the middle of every background sequence ``(n, L, 4)`` and returns, per
motif and output unit in ``context.units``, the mean and standard deviation over backgrounds of
logit(with motif) - logit(background) (``biodl.interpret.attribution.output_logit``), as
tangermeme's ``marginalize`` and CREsted's motif insertion report it. Every motif comes with a
control, the same bases in a shuffled order drawn from ``numpy.random.default_rng(context.seed)``
(a motif's effect should exceed its control's). One row per (motif, unit): ``MARGINAL_COLUMNS``.
A motif longer than the sequences is refused with an ``InputError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from biodl.core.errors import require

MARGINAL_COLUMNS = [
    "motif",
    "source",
    "consensus",
    "control",
    "task",
    "effect_mean",
    "effect_sd",
    "control_mean",
    "control_sd",
    "backgrounds",
]


@dataclass(frozen=True)
class InsertedMotif:
    """A motif to insert: its name, where it came from, and its consensus as one-hot rows."""

    name: str
    source: str
    one_hot: np.ndarray

    @property
    def bases(self) -> str:
        return "".join("ACGT"[i] for i in self.one_hot.argmax(axis=1))


@dataclass(frozen=True)
class MarginalContext:
    """Which outputs to report (index -> task name), the control's seed, the batch size."""

    units: dict[int, str]
    seed: int
    batch_size: int = 256


def insert(backgrounds: np.ndarray, motif: np.ndarray) -> np.ndarray:
    """Copies of ``backgrounds`` with ``motif`` written over their middle."""
    length, width = backgrounds.shape[1], len(motif)
    require(
        width <= length,
        "motif insertion",
        None,
        f"a motif of {width} bases does not fit sequences of {length}",
    )
    start = (length - width) // 2
    out = backgrounds.astype(np.float32).copy()
    out[:, start : start + width] = motif
    return out


def _logits(model: Any, x: np.ndarray, unit: int, batch_size: int) -> np.ndarray:
    from biodl.interpret.attribution import output_logit

    return np.concatenate(
        [output_logit(model, x[s : s + batch_size], unit).numpy() for s in range(0, len(x), batch_size)]
    ).astype(np.float64)


def marginalise(
    model: Any, backgrounds: np.ndarray, motifs: list[InsertedMotif], context: MarginalContext
) -> pd.DataFrame:
    """Effects of inserting each motif and its shuffled control (module contract)."""
    rng = np.random.default_rng(context.seed)
    rows = []
    base = {u: _logits(model, backgrounds, u, context.batch_size) for u in context.units}
    for motif in motifs:
        control = motif.one_hot[rng.permutation(len(motif.one_hot))]
        with_motif, with_control = insert(backgrounds, motif.one_hot), insert(backgrounds, control)
        for unit, task in context.units.items():
            effect = _logits(model, with_motif, unit, context.batch_size) - base[unit]
            placebo = _logits(model, with_control, unit, context.batch_size) - base[unit]
            rows.append(
                (
                    motif.name,
                    motif.source,
                    motif.bases,
                    "".join("ACGT"[i] for i in control.argmax(axis=1)),
                    task,
                    float(effect.mean()),
                    float(effect.std()),
                    float(placebo.mean()),
                    float(placebo.std()),
                    len(backgrounds),
                )
            )
    return pd.DataFrame(rows, columns=MARGINAL_COLUMNS)
