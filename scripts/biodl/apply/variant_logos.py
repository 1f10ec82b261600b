"""The top variants explained: in-silico mutagenesis logos around REF and ALT, and a table.

Contract:
- ``ism_heights(model, window, task)``: per-base importance of one window (base codes, the
  model's input length) for one task, by in-silico mutagenesis through ``TrainedModel.predict``
  (so both strands and ensemble members are averaged as the scores are): every single-base
  substitution is scored, its effect is the change of the score's logit (of the score itself
  for regression), and each base's height is minus the mean effect of its three substitutions
  (``biodl.interpret.attribution.ism_scores``): positive where the base raises the score,
  placed on the window's base, zero on N. Result ``(length, 4)``.
- ``explain_top(model, effects, genome, top, flank)``: for the ``top`` rows of ``effects``
  (the variant table of ``biodl.apply.variant_effects``, sorted by effect), on the task whose
  ``|<task>_diff|`` is largest, the heights of the REF and the ALT window (``variant_windows``)
  over the ``flank`` bases either side of the variant: from ``flank`` bases before its first
  base to ``flank`` bases after the longer of its two alleles. ``VariantLogo`` keeps the variant,
  the task, both matrices and the genome position (1-based, as in the VCF) of the first base
  shown; both panels start there, and after an indel the ALT panel's later positions are
  positions in the ALT window, not on the reference.
- ``plot_top_variants(logos, path)``: one figure, two attribution logos per variant (REF above
  ALT, ``biodl.interpret.figures.plot_logos``), titled with the variant (its ID unless ``.``),
  task and scores, the allele's bases shaded.
- ``top_variants_html(effects, top)``: the ``top`` rows as a sortable HTML table
  (``biodl.report.html_tables``).
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from biodl.apply.genome import GenomeCodes
from biodl.apply.trained import TrainedModel
from biodl.apply.variant_effects import CLIP, variant_windows
from biodl.data.dna.from_genome import Genome
from biodl.interpret.attribution import ism_scores
from biodl.interpret.figures import plot_logos
from biodl.report.figures import save_png
from biodl.report.html_tables import tsv_table_html

FLANK = 15  # bases shown either side of a variant


@dataclass(frozen=True)
class VariantLogo:
    """One explained variant: its table row, the task explained, the REF and ALT heights and the
    1-based genome position of the first base shown."""

    variant: pd.Series
    task: str
    ref: np.ndarray
    alt: np.ndarray
    first: int


def _logit(scores: np.ndarray, probabilities: bool) -> np.ndarray:
    if not probabilities:
        return scores
    p = np.clip(scores, CLIP, 1 - CLIP)
    return np.log(p) - np.log1p(-p)


def ism_heights(model: TrainedModel, window: np.ndarray, task: int) -> np.ndarray:
    """Per-base ISM importance of one window for one task (see the module contract)."""
    length = model.length
    mutants = np.repeat(window[None].astype(np.uint8), 4 * length + 1, axis=0)
    rows = np.arange(4 * length)
    mutants[rows, rows // 4] = rows % 4  # base codes 0-3 are A, C, G, T; the last row is the window
    logits = _logit(model.predict(mutants)[:, task], model.probabilities)
    effects = (logits[:-1] - logits[-1]).reshape(length, 4)
    one_hot = (window[:, None] == np.arange(4)[None, :]).astype(np.float64)
    return np.asarray(ism_scores(effects, one_hot))


def explain_top(
    model: TrainedModel, effects: pd.DataFrame, genome: Genome, top: int, flank: int = FLANK
) -> list[VariantLogo]:
    """ISM logos of the REF and ALT windows of the top variants (see the module contract)."""
    chromosomes = GenomeCodes(genome)
    centre = model.length // 2
    logos = []
    for _, variant in effects.head(top).iterrows():
        diffs = [abs(float(variant[f"{task}_diff"])) for task in model.targets]
        k = int(np.argmax(diffs))
        windows = variant_windows(
            chromosomes.codes(str(variant["chrom"])),
            int(variant["pos"]),
            variant["ref"],
            variant["alt"],
            model.length,
        )
        assert windows is not None, "scored variants have windows"
        shown = slice(
            max(centre - flank, 0),
            min(centre + max(len(variant["ref"]), len(variant["alt"])) + flank, model.length),
        )
        ref, alt = (ism_heights(model, window, k)[shown] for window in windows)
        logos.append(
            VariantLogo(variant, model.targets[k], ref, alt, int(variant["pos"]) - (centre - shown.start))
        )
    return logos


def plot_top_variants(logos: list[VariantLogo], path: str | PathLike[str]) -> Figure:
    """REF and ALT logos of each explained variant, in one figure (see the module contract)."""
    matrices, titles, starts, alleles = [], [], [], []
    for logo in logos:
        v, task = logo.variant, logo.task
        name = ("" if v["id"] == "." else f"{v['id']} ") + f"{v['chrom']}:{v['pos']} {v['ref']}>{v['alt']}"
        titles.append(f"{name}: REF, {task} {float(v[f'{task}_ref']):.3f}")
        titles.append(
            f"{name}: ALT, {task} {float(v[f'{task}_alt']):.3f} (difference {float(v[f'{task}_diff']):+.3f})"
        )
        matrices += [logo.ref, logo.alt]
        starts += [logo.first, logo.first]
        alleles += [(int(v["pos"]), len(v["ref"])), (int(v["pos"]), len(v["alt"]))]
    figure = plot_logos(matrices, titles, path, kind="attribution", starts=starts)
    for ax, (first, size) in zip(figure.axes, alleles, strict=False):
        ax.axvspan(first - 0.5, first + size - 0.5, color="0.85", zorder=0, lw=0)
    save_png(figure, path)  # saved again with the alleles shaded
    return figure


def top_variants_html(effects: pd.DataFrame, top: int) -> str:
    """The top variants as a sortable HTML page (see the module contract)."""
    return tsv_table_html(
        effects.head(top), "top_variants", f"The {min(top, len(effects))} variants of largest effect"
    )
