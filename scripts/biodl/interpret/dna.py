"""Interpreting a DNA network (``cnn1d``): filter motifs matched to JASPAR, their influence,
activation maximisation and attributions.

Contract: ``interpret_dna(dataset_dir, model_path, outputs, settings, threads)`` finds the sites of
every first-layer filter in the ``split`` sequences that are positive for any target (binary,
multilabel; every sequence for multiclass and regression), writes the motifs to ``filters``
(MEME; a filter with fewer than ``min_sites`` sites is skipped and counted in the log), filter
influence on the validation split (``influence``: one row per filter with its sites, threshold,
information content, best match), Tomtom against ``database`` (``tomtom``: matches with q <=
``max_q_value``), the filter-beside-match logo grid for the ``logo_filters`` most influential
filters with a motif (``filter_logos``), activation maximisation of those filters and of each
output unit (``maximisation_logos``; the output's gradient is shared among all windows, hence its
own, larger ``output_maximisation_step``), and input x gradient and in-silico mutagenesis logos of
the ``top_sequences`` highest-scoring sequences of the split (``attribution_logos``). Long
sequences do not fit a readable logo: the output's maximisation and the attributions show the
``attribution_window`` bases with the most information or the largest |ISM| scores.
Deterministic for the same inputs.
"""

from __future__ import annotations

import logging
import time
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from biodl.config.settings import InterpretSettings
from biodl.core.errors import require
from biodl.core.files import write_tsv
from biodl.interpret.inputs import BATCH_SIZE, load, positives, split_arrays
from biodl.interpret.motifs import (
    FilterMotif,
    background,
    filter_activations,
    filter_motifs,
    first_conv,
    information_content,
    match_motifs,
    read_meme,
    use_numba_cache,
    write_meme,
)

logger = logging.getLogger(__name__)


def interpret_dna(
    dataset_dir: str | PathLike[str],
    model_path: str | PathLike[str],
    outputs: dict[str, str],
    settings: InterpretSettings,
    threads: int = 1,
) -> dict[str, Any]:
    """Filter motifs, matches, influence, maximisation and attributions (module contract)."""
    from biodl.interpret import attribution, figures
    from biodl.interpret.importance import filter_influence

    use_numba_cache(settings.numba_cache_dir)
    dataset, model = load(dataset_dir, model_path, "dna")
    conv, _ = first_conv(model)
    width = conv.kernel_size[0]

    x, y = split_arrays(dataset, settings.split)
    chosen = positives(dataset, y)
    require(
        len(chosen) > 0,
        dataset.manifest,
        f"splits.{settings.split}",
        "no positive sequence to find filter sites in",
    )
    sites_x = x[chosen]
    bg = background(sites_x)
    motifs = filter_motifs(
        sites_x,
        filter_activations(model, sites_x, BATCH_SIZE),
        width,
        threshold=settings.threshold,
        pseudocount=settings.pseudocount,
        min_sites=settings.min_sites,
    )
    kept = [f.motif for f in motifs if f.motif is not None]
    logger.info(
        "%d of %d filters have >= %d sites in %d %s sequences (%d skipped)",
        len(kept),
        len(motifs),
        settings.min_sites,
        len(chosen),
        settings.split,
        len(motifs) - len(kept),
    )
    write_meme(kept, outputs["filters"], bg)

    started = time.perf_counter()
    database = read_meme(settings.database)
    matches, best = match_motifs(kept, database, max_q=settings.max_q_value, n_jobs=threads)
    logger.info(
        "Tomtom: %d filters against %d motifs of %s in %.1f s; %d filters match at q <= %g",
        len(kept),
        len(database),
        settings.database,
        time.perf_counter() - started,
        matches["filter"].nunique(),
        settings.max_q_value,
    )
    write_tsv(matches, outputs["tomtom"])

    xv, yv = split_arrays(dataset, "validation")
    influence = filter_influence(model, xv, yv, dataset.task, dataset.targets, BATCH_SIZE)
    table = _influence_table(influence, motifs, bg, best, settings.max_q_value)
    write_tsv(table, outputs["influence"])

    ranked = [int(k) for k in table.loc[table["n_sites"] >= max(settings.min_sites, 1), "filter"]][
        : settings.logo_filters
    ]
    by_id = {m.id: m for m in database}
    rows = [
        _filter_row(motifs[k], table.set_index("filter").loc[k], by_id, bg, settings.max_q_value)
        for k in ranked
    ]
    figures.plot_filter_matches(rows, outputs["filter_logos"])

    maximised = attribution.maximise_filters(
        model, ranked, steps=settings.maximisation_steps, step=settings.maximisation_step
    )
    units = range(len(dataset.targets))
    outputs_max = [
        attribution.maximise_output(
            model, u, steps=settings.maximisation_steps, step=settings.output_maximisation_step
        )
        for u in units
    ]
    # Whole sequences are too long to read as logos: the window with the most information.
    windows = [
        _window(information_content(p, np.full(4, 0.25)), settings.attribution_window) for p in outputs_max
    ]
    figures.plot_logos(
        [
            *maximised,
            *(p[w : w + settings.attribution_window] for p, w in zip(outputs_max, windows, strict=False)),
        ],
        [f"filter{k}: input maximising its pre-activation" for k in ranked]
        + [
            f"output {dataset.targets[u]}: input maximising its logit (most informative {settings.attribution_window} bases)"
            for u in units
        ],
        outputs["maximisation_logos"],
        starts=[0] * len(ranked) + windows,
    )

    logits = _logits(model, x, attribution)
    unit = logits.argmax(axis=1) if logits.shape[1] > 1 else np.zeros(len(x), dtype=int)
    top = np.argsort(-logits[np.arange(len(x)), unit], kind="stable")[: settings.top_sequences]
    sal = attribution.saliency(model, x[top], unit[top])
    ism = attribution.ism_scores(attribution.in_silico_mutagenesis(model, x[top], unit[top]), x[top])
    matrices, titles, starts = [], [], []
    for i, s, m in zip(top, sal, ism, strict=False):
        w = _window(np.abs(m).sum(axis=1), settings.attribution_window)
        name = f"{settings.split} sequence {i}, output {dataset.targets[unit[i]]} (logit {logits[i, unit[i]]:.2f})"
        matrices += [s[w : w + settings.attribution_window], m[w : w + settings.attribution_window]]
        titles += [f"{name}: input x gradient", f"{name}: in-silico mutagenesis"]
        starts += [w, w]
    figures.plot_logos(matrices, titles, outputs["attribution_logos"], kind="attribution", starts=starts)
    return {
        "filters": len(motifs),
        "with_motif": len(kept),
        "matched": int(matches["filter"].nunique()),
        "table": table,
    }


def _window(score: np.ndarray, width: int) -> int:
    """Start of the ``width`` consecutive positions with the largest total ``score``."""
    if len(score) <= width:
        return 0
    return int(np.argmax(np.convolve(score, np.ones(width), mode="valid")))


def _logits(model: Any, x: np.ndarray, attribution: Any) -> np.ndarray:
    units = model.output_shape[-1]
    return np.stack(
        [
            np.concatenate(
                [
                    attribution.output_logit(model, x[s : s + BATCH_SIZE], u).numpy()
                    for s in range(0, len(x), BATCH_SIZE)
                ]
            )
            for u in range(units)
        ],
        axis=1,
    )


def _influence_table(
    influence: pd.DataFrame, motifs: list[FilterMotif], bg: np.ndarray, best: pd.DataFrame, max_q: float
) -> pd.DataFrame:
    """influence.tsv: the influence ranking with each filter's sites, information and best match."""
    info = pd.DataFrame(
        {
            "filter": [f.filter for f in motifs],
            "n_sites": [f.n_sites for f in motifs],
            "threshold": [f.threshold for f in motifs],
            "max_activation": [f.max_activation for f in motifs],
            "information_bits": [
                float(information_content(f.motif.probabilities, bg).sum()) if f.motif else np.nan
                for f in motifs
            ],
        }
    )
    best = best.assign(filter=best["filter"].str.removeprefix("filter").astype(int))
    best = best[best["q_value"] <= max_q][
        ["filter", "target_id", "target_name", "q_value", "offset", "orientation"]
    ]
    best = best.rename(
        columns={
            "target_id": "best_match",
            "target_name": "best_match_name",
            "q_value": "best_match_q",
            "offset": "match_offset",
            "orientation": "match_orientation",
        }
    ).astype({"match_offset": "Int64"})
    return influence.merge(info, on="filter", how="left").merge(best, on="filter", how="left")


def _filter_row(
    motif: FilterMotif, row: pd.Series, by_id: dict[str, Any], bg: np.ndarray, max_q: float
) -> Any:
    from biodl.interpret.figures import FilterRow

    title = f"filter{motif.filter}: {motif.n_sites} sites, influence {row['influence']:+.4f}"
    if pd.isna(row.get("best_match")):
        return FilterRow(motif.motif, bg, title)
    return FilterRow(
        motif.motif,
        bg,
        f"{title}, q = {row['best_match_q']:.2g}",
        by_id[row["best_match"]],
        int(row["match_offset"]),
        row["match_orientation"],
    )
