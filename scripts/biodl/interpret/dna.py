"""Interpreting a DNA network (``cnn1d``): calibrated filter motifs, their influence, attribution
scores, TF-MoDISco patterns, motif insertion, activation maximisation and mutagenesis.

Contract: ``interpret_dna(run, outputs, settings)`` with ``DnaRun`` (the prepared dataset, the
network's ``.keras`` file or an ensemble's members, the dataset's motif collection, the genome
FASTA when the dataset came from one, the seed, threads) writes:
- ``filters`` (MEME), ``tomtom`` and ``influence``: every first-layer filter's sites in every
  sequence of the ``split`` (all classes, so a factor that marks the negative class or a second
  class has its filter too; ``biodl.interpret.motifs.filter_motifs``), counted per class or
  target (``site_class``: the group with the most sites per sequence, ``class_enrichment``: that
  rate over the rate in all sequences); a filter with fewer than ``min_sites`` sites has no motif.
  Each motif is trimmed to its informative core and matched with the null calibration of
  ``biodl.interpret.calibration`` against the database; ``tomtom`` lists, for each tested filter,
  the targets with Tomtom q <= ``max_q_value`` plus the filter's ``core_bits``, ``null_q`` and
  ``matched``; ``influence`` ranks filters by the drop in validation performance when nulled
  (``biodl.interpret.importance``) with sites, information, core, site class, best Tomtom target
  and p, null-calibrated q, and ``best_match`` only where matched. ``filter_logos``: the
  ``logo_filters`` most influential filters with a motif, each core beside its best target.
- ``maximisation_logos``: inputs maximising those filters, and each output from the split's
  highest-scoring sequence for it; ``attribution_logos``: for the ``top_sequences``
  highest-scoring sequences (after any ``mutagenesis_regions`` chosen by window name or
  chrom:start-end), DeepLIFT/DeepSHAP scores, input x gradient and saturation mutagenesis
  (in-silico mutagenesis), in the ``attribution_window`` bases with the largest effects.
- Per explained task (``biodl.interpret.inputs.explained_tasks``, at most ``top_tasks``), from
  ``attribution_split``: ``attributions`` (``.npz``), ``tracks`` (a folder: one bigWig of
  per-base contributions per task for genome windows, and ``tracks.tsv`` listing them),
  ``patterns`` (TSV) and ``pattern_logos`` (``biodl.interpret.discovery``); ``marginalisation``
  (TSV) and ``marginalisation_plot``: the effect of inserting the matched motifs and their
  shuffled controls into dinucleotide shuffles of the split's sequences
  (``biodl.interpret.marginalise``).
Deterministic for the same inputs and seed.
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biodl.config.settings import InterpretSettings
from biodl.core.files import atomic_dir, write_tsv
from biodl.data.dataset import load_metadata
from biodl.interpret.calibration import calibrate, trim
from biodl.interpret.discovery import (
    DiscoveryContext,
    TaskResult,
    explain_tasks,
    insertion_motifs,
    pattern_table,
    save_attributions,
)
from biodl.interpret.inputs import BATCH_SIZE, Pool, explained_tasks, load, site_groups, split_arrays
from biodl.interpret.motifs import (
    FilterMotif,
    SiteRule,
    background,
    filter_activations,
    filter_motifs,
    first_conv,
    information_content,
    read_meme,
    use_numba_cache,
    write_meme,
)

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class DnaRun:
    """What one interpretation reads: dataset, network(s), motif collection, genome, seed, threads."""

    dataset_dir: str | PathLike[str]
    models: tuple[str, ...]
    database: str
    genome: str | None = None
    seed: int = 0
    threads: int = 1


def interpret_dna(run: DnaRun, outputs: dict[str, str], settings: InterpretSettings) -> dict[str, Any]:
    """Filters, matches, influence, attributions, patterns, insertions and figures (module contract)."""
    from biodl.evaluation.inference import load_model

    use_numba_cache(settings.numba_cache_dir)
    dataset, model = load(run.dataset_dir, run.models[0], "dna")
    members = [model, *(load_model(path, dataset) for path in run.models[1:])]
    context = DiscoveryContext(settings, read_meme(run.database), run.seed, run.threads)

    x, y = split_arrays(dataset, settings.split)
    bg = background(x)
    table, shown = _filters(model, dataset, (x, y), context, outputs)
    _filter_figure(table, shown, bg, context, outputs["filter_logos"])

    pool = Pool(dataset, SPLITS if settings.attribution_split == "all" else (settings.attribution_split,))
    tasks = explained_tasks(dataset, pool.y, settings.top_tasks)
    results = explain_tasks(members, pool, tasks, context)
    save_attributions(results, outputs["attributions"])
    _tracks(results, pool, run.genome, outputs["tracks"])
    patterns = pattern_table(results)
    write_tsv(patterns, outputs["patterns"])
    _pattern_figure(results, context, outputs["pattern_logos"])
    effects = _marginalisation(model, x, (table, patterns), context, {t.unit: t.name for t in tasks})
    write_tsv(effects, outputs["marginalisation"])

    from biodl.interpret import figures

    figures.plot_marginalisation(effects, outputs["marginalisation_plot"])
    _maximisation_figure(model, dataset, x, table, settings, outputs["maximisation_logos"])
    _attribution_figure(members, dataset, x, context, outputs["attribution_logos"])
    return {
        "filters": len(table),
        "with_motif": int(table["n_sites"].ge(max(settings.min_sites, 1)).sum()),
        "tested": int(table["tested"].sum()),
        "matched": int(table["matched"].sum()),
        "patterns": len(patterns),
        "table": table,
    }


def _filters(
    model: Any,
    dataset: Any,
    split: tuple[np.ndarray, np.ndarray],
    context: DiscoveryContext,
    outputs: dict[str, str],
) -> tuple[pd.DataFrame, list[Any]]:
    """filters.meme, tomtom.tsv and influence.tsv; the influence table and each filter's motif as
    matched (its core, or the whole motif where it was not tested; None without a motif)."""
    from biodl.interpret.importance import filter_influence

    settings = context.settings
    x, y = split
    conv, _ = first_conv(model)
    names, groups = site_groups(dataset, y)
    bg = background(x)
    motifs = filter_motifs(
        x,
        filter_activations(model, x, BATCH_SIZE),
        conv.kernel_size[0],
        SiteRule(settings.threshold, settings.pseudocount, settings.min_sites),
        groups,
    )
    kept = [f.motif for f in motifs if f.motif is not None]
    logger.info(
        "%d of %d filters have >= %d sites in the %d %s sequences (%d skipped)",
        len(kept),
        len(motifs),
        settings.min_sites,
        len(x),
        settings.split,
        len(motifs) - len(kept),
    )
    write_meme(kept, outputs["filters"], bg)
    cores = [trim(f.motif, bg, settings.trim_bits) if f.motif else None for f in motifs]
    calibrated, tomtom = calibrate(cores, context.database, context.calibration())
    calibrated = calibrated.rename(columns={"query": "filter"})
    tomtom = tomtom.merge(
        calibrated.assign(filter=[f"filter{k}" for k in calibrated["filter"]])[
            ["filter", "core_bits", "null_q", "matched"]
        ],
        on="filter",
        how="left",
    )
    write_tsv(tomtom, outputs["tomtom"])

    xv, yv = split_arrays(dataset, "validation")
    influence = filter_influence(model, xv, yv, dataset.task, dataset.targets, BATCH_SIZE)
    table = influence.merge(_site_columns(motifs, bg, names, groups), on="filter", how="left").merge(
        calibrated, on="filter", how="left"
    )
    table.loc[~table["matched"].astype(bool), ["best_match", "best_match_name"]] = None
    table = table.astype({"match_offset": "Int64", "core_start": "Int64"})
    write_tsv(table, outputs["influence"])
    shown = [
        c.motif if c is not None and tested else f.motif
        for f, c, tested in zip(motifs, cores, calibrated["tested"], strict=True)
    ]
    return table, shown


def _site_columns(
    motifs: list[FilterMotif], bg: np.ndarray, names: list[str], groups: np.ndarray
) -> pd.DataFrame:
    """Per filter: sites, threshold, information, and the class its sites come from."""
    sizes = np.maximum(groups.sum(axis=0), 1)
    rows = []
    for f in motifs:
        rates = np.asarray(f.group_sites, dtype=np.float64) / sizes
        top = int(np.argmax(rates)) if f.n_sites else -1
        overall = f.n_sites / max(len(groups), 1)
        rows.append(
            {
                "filter": f.filter,
                "n_sites": f.n_sites,
                "threshold": f.threshold,
                "max_activation": f.max_activation,
                "information_bits": float(information_content(f.motif.probabilities, bg).sum())
                if f.motif
                else np.nan,
                "site_class": names[top] if top >= 0 else None,
                "class_enrichment": float(rates[top] / overall) if top >= 0 and overall > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _filter_figure(
    table: pd.DataFrame, shown: list[Any], bg: np.ndarray, context: DiscoveryContext, path: str
) -> None:
    from biodl.interpret.figures import plot_filter_matches

    settings = context.settings
    by_id = {m.id: m for m in context.database}
    rows = []
    for _, row in (
        table[table["n_sites"] >= max(settings.min_sites, 1)].head(settings.logo_filters).iterrows()
    ):
        rows.append(_filter_row(row, shown[int(row["filter"])], bg, by_id))
    plot_filter_matches(rows, path)


def _filter_row(row: pd.Series, motif: Any, bg: np.ndarray, by_id: dict[str, Any]) -> Any:
    """One filter's logo: its core (or the whole filter when untested) beside its match."""
    from biodl.interpret.figures import FilterRow

    return FilterRow(
        motif,
        bg,
        f"filter{row['filter']}: {row['n_sites']} sites (most in {row['site_class']}), influence "
        f"{row['influence']:+.4f}, core {row['core_bits']:.1f} bits"
        + (f", null q = {row['null_q']:.2g}" if row["tested"] else " (not matched: too little information)"),
        by_id[row["best_match"]] if row["matched"] else None,
        int(row["match_offset"]) if row["matched"] else 0,
        str(row["match_orientation"]) if row["matched"] else "+",
    )


def _pattern_figure(results: list[TaskResult], context: DiscoveryContext, path: str) -> None:
    from biodl.interpret.figures import FilterRow, plot_filter_matches
    from biodl.interpret.patterns import core

    by_id = {m.id: m for m in context.database}
    rows = []
    for r in results:
        for pattern, (_, match) in zip(r.patterns, r.matches.iterrows(), strict=True):
            trimmed = core(pattern)
            if trimmed is None:
                continue
            title = (
                f"{r.task.name} {pattern.name}: {pattern.n_seqlets} seqlets, "
                f"core {match['core_bits']:.1f} bits"
            )
            if match["tested"]:
                title += f", null q = {match['null_q']:.2g}"
            matched = bool(match["matched"])
            rows.append(
                FilterRow(
                    trimmed.motif,
                    np.full(4, 0.25),
                    title,
                    by_id[match["best_match"]] if matched else None,
                    int(match["match_offset"]) if matched else 0,
                    str(match["match_orientation"]) if matched else "+",
                )
            )
    plot_filter_matches(rows, path, title="TF-MoDISco patterns (by task and seqlets) and their best match")


def _tracks(results: list[TaskResult], pool: Pool, genome: str | None, folder: str) -> None:
    """One bigWig per task for genome windows, and tracks.tsv listing them."""
    from biodl.data.dna.fasta import open_fasta
    from biodl.interpret.tracks import genome_windows, write_bigwig

    sizes: dict[str, int] = {}
    with atomic_dir(folder) as tmp:
        listed = []
        for r in results:
            windows = pool.metadata(r.rows)
            if genome is None or not len(genome_windows(windows)):
                listed.append((r.task.name, "", 0))
                continue
            if not sizes:  # the genome's index is read (or built) once
                with tempfile.TemporaryDirectory() as index_dir:
                    fasta = open_fasta(genome, index_dir)
                    sizes = {name: len(record) for name, record in fasta.items()}
            name = f"{_safe(r.task.name)}.bw"
            placed = write_bigwig(tmp / name, windows, r.contributions.sum(axis=2), sizes)
            listed.append((r.task.name, name, placed))
        write_tsv(pd.DataFrame(listed, columns=["task", "bigwig", "windows"]), Path(tmp) / "tracks.tsv")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in name)


def _marginalisation(
    model: Any,
    x: np.ndarray,
    found: tuple[pd.DataFrame, pd.DataFrame],
    context: DiscoveryContext,
    units: dict[int, str],
) -> pd.DataFrame:
    from biodl.interpret.deeplift import dinucleotide_references
    from biodl.interpret.marginalise import MarginalContext, marginalise

    settings = context.settings
    rng = np.random.default_rng(context.seed)
    picked = np.sort(rng.choice(len(x), size=min(settings.marginal_backgrounds, len(x)), replace=False))
    backgrounds = dinucleotide_references(x[picked], 1, rng)[:, 0]
    motifs = insertion_motifs(found[0], found[1], context.database, settings.marginal_motifs)
    return marginalise(model, backgrounds, motifs, MarginalContext(units, context.seed))


def _logits(model: Any, x: np.ndarray) -> np.ndarray:
    from biodl.interpret.attribution import output_logit

    units = model.output_shape[-1]
    return np.stack(
        [
            np.concatenate(
                [output_logit(model, x[s : s + BATCH_SIZE], u).numpy() for s in range(0, len(x), BATCH_SIZE)]
            )
            for u in range(units)
        ],
        axis=1,
    )


def _window(score: np.ndarray, width: int) -> int:
    """Start of the ``width`` consecutive positions with the largest total ``score``."""
    if len(score) <= width:
        return 0
    return int(np.argmax(np.convolve(score, np.ones(width), mode="valid")))


def _maximisation_figure(
    model: Any, dataset: Any, x: np.ndarray, table: pd.DataFrame, settings: InterpretSettings, path: str
) -> None:
    from biodl.interpret import attribution, figures

    ranked = [int(k) for k in table.loc[table["n_sites"] >= max(settings.min_sites, 1), "filter"]][
        : settings.logo_filters
    ]
    maximised = attribution.maximise_filters(
        model, ranked, steps=settings.maximisation_steps, step=settings.maximisation_step
    )
    logits = _logits(model, x)
    units = range(len(dataset.targets))
    found = [
        attribution.maximise_output(
            model,
            u,
            steps=settings.maximisation_steps,
            step=settings.output_maximisation_step,
            start=x[int(np.argmax(logits[:, u]))],
        )
        for u in units
    ]
    width = settings.attribution_window
    windows = [_window(information_content(p, np.full(4, 0.25)), width) for p in found]
    figures.plot_logos(
        [*maximised, *(p[w : w + width] for p, w in zip(found, windows, strict=True))],
        [f"filter{k}: input maximising its pre-activation" for k in ranked]
        + [
            f"output {dataset.targets[u]}: from its top-scoring sequence, maximising its logit "
            f"(most informative {width} bases)"
            for u in units
        ],
        path,
        starts=[0] * len(ranked) + windows,
    )


def _attribution_figure(
    members: list[Any], dataset: Any, x: np.ndarray, context: DiscoveryContext, path: str
) -> None:
    """DeepSHAP, input x gradient and mutagenesis logos of the top-scoring sequences."""
    from biodl.interpret import attribution, figures
    from biodl.interpret.deeplift import AttributionContext, deep_shap, dinucleotide_references

    settings = context.settings
    model = members[0]
    logits = _logits(model, x)
    unit = logits.argmax(axis=1) if logits.shape[1] > 1 else np.zeros(len(x), dtype=int)
    chosen = _chosen_rows(dataset, settings)
    ranked = np.argsort(-logits[np.arange(len(x)), unit], kind="stable")
    top = np.array([*chosen, *[i for i in ranked if i not in chosen][: settings.top_sequences]], dtype=int)
    sal = attribution.saliency(model, x[top], unit[top])
    ism = attribution.ism_scores(attribution.in_silico_mutagenesis(model, x[top], unit[top]), x[top])
    rng = np.random.default_rng(context.seed)
    width = settings.attribution_window
    metadata = load_metadata(dataset, settings.split)
    matrices, titles, starts = [], [], []
    for i, s, m in zip(top, sal, ism, strict=True):
        references = dinucleotide_references(x[i : i + 1], settings.attribution_references, rng)
        shap = deep_shap(members, x[i : i + 1], AttributionContext(int(unit[i]), references))[0] * x[i]
        w = _window(np.abs(m).sum(axis=1), width)
        name = (
            f"{'chosen: ' if i in chosen else ''}{sequence_name(metadata.iloc[int(i)], w, width)}, "
            f"output {dataset.targets[unit[i]]} (logit {logits[i, unit[i]]:.2f})"
        )
        matrices += [shap[w : w + width], s[w : w + width], m[w : w + width]]
        titles += [
            f"{name}: DeepLIFT/DeepSHAP",
            f"{name}: input x gradient",
            f"{name}: in-silico mutagenesis",
        ]
        starts += [w, w, w]
    figures.plot_logos(matrices, titles, path, kind="attribution", starts=starts)


def sequence_name(row: Any, offset: int, width: int) -> str:
    """A window of a prepared sequence as a reader finds it: ``chrom:start-end(strand)`` (1-based,
    inclusive: the ``width`` bases from ``offset`` shown in a logo) for genome windows, else the
    sequence's record id (``name``) with the bases shown."""
    start, end = int(row["start"]), int(row["end"])
    if row["chrom"] != "." and start >= 0:
        # A window on the minus strand was read reverse-complemented: its bases run from its end.
        strand = "-" if row["strand"] == "-" else "+"
        if strand == "-":
            first, last = end - offset - width + 1, end - offset
        else:
            first, last = start + offset + 1, start + offset + width
        return f"{row['chrom']}:{first}-{last}({strand})"
    return f"{row['name']} bases {offset + 1}-{offset + width}"


def _chosen_rows(dataset: Any, settings: InterpretSettings) -> list[int]:
    """Rows of the split named by ``mutagenesis_regions`` (a window name, or chrom:start-end,
    1-based inclusive: the window overlapping it most)."""
    from biodl.core.errors import require
    from biodl.data.dataset import load_metadata

    if not settings.mutagenesis_regions:
        return []
    meta = load_metadata(dataset, settings.split)
    rows = []
    for text in settings.mutagenesis_regions:
        region = re.fullmatch(r"(.+):(\d+)-(\d+)", text.replace(",", ""))
        if region is not None:
            start, end = int(region[2]) - 1, int(region[3])
            overlap = np.minimum(meta["end"], end) - np.maximum(meta["start"], start)
            overlap = np.where(meta["chrom"].astype(str) == region[1], overlap, 0)
            hits = [int(np.argmax(overlap))] if overlap.max() > 0 else []
        else:
            hits = [int(i) for i in np.flatnonzero(meta["name"].astype(str) == text)][:1]
        require(
            bool(hits),
            "config",
            "interpretation.mutagenesis_regions",
            f"{text!r} names no sequence of the {settings.split} split "
            "(expected a window name from metadata.tsv or chrom:start-end, 1-based)",
        )
        rows += hits
    return rows
