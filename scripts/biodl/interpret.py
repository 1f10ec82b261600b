"""The interpretation step: one trained network and its prepared dataset → what it learned.

Contract (``settings`` is the config's checked ``interpretation`` section, see
``InterpretSettings``; ``outputs`` maps output names to paths):
- ``interpret_dna`` (``cnn1d``): sites of every first-layer filter in the ``split`` sequences
  that are positive for any target (binary, multilabel; every sequence for multiclass and
  regression), motifs written to ``filters`` (MEME; a filter with fewer than ``min_sites``
  sites is skipped and counted in the log), filter influence on the validation split
  (``influence``: one row per filter with its sites, threshold, information content, best
  match), Tomtom against ``database`` (``tomtom``: matches with q <= ``max_q_value``), the
  filter-beside-match logo grid for the ``logo_filters`` most influential filters with a motif
  (``filter_logos``), activation maximisation of those filters and of each output unit
  (``maximisation_logos``; the output's gradient is shared among all windows, hence its own,
  larger ``output_maximisation_step``), and input x gradient and in-silico mutagenesis logos of the
  ``top_sequences`` highest-scoring sequences of the split (``attribution_logos``). Long
  sequences do not fit a readable logo: the output's maximisation and the attributions show
  the ``attribution_window`` bases with the most information or the largest |ISM| scores.
- ``interpret_image`` (``cnn2d``): first-layer kernels (``filter_grid``), feature maps of the
  first block for the example tiles (``feature_maps``), activation-maximisation images per
  filter (``maximisation_images``), saliency and Grad-CAM of the example tiles
  (``saliency_gradcam``). Example tiles: for each class (output unit), the
  ``example_tiles // units`` (at least 1) tiles of the split that score highest on it, each
  explained for that unit.
- ``interpret_table`` (``mlp``): permutation importance of every feature on the split
  (``importance`` TSV, ``importance_plot``), seeded with the config's seed.
Everything reads the prepared data through ``biodl.dataset`` and the model through
``biodl.predict.load_model``; everything is deterministic for the same inputs and seed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from biodl.batches import ShardBatches
from biodl.dataset import PreparedDataset, input_shards, load_labels, open_dataset, to_inputs
from biodl.io import write_tsv
from biodl.motifs import (FilterMotif, background, filter_activations, filter_motifs, first_conv, information_content,
                          match_motifs, read_meme, use_numba_cache, write_meme)
from biodl.validate import require

logger = logging.getLogger(__name__)

BATCH_SIZE = 256


@dataclass(frozen=True)
class InterpretSettings:
    split: str = "test"
    threshold: float = 0.5
    pseudocount: float = 0.5
    min_sites: int = 10
    database: str = "resources/jaspar/JASPAR2024_CORE_vertebrates_non-redundant.meme"
    max_q_value: float = 0.05
    logo_filters: int = 16
    top_sequences: int = 4
    attribution_window: int = 60
    maximisation_steps: int = 100
    maximisation_step: float = 0.05
    output_maximisation_step: float = 0.5
    example_tiles: int = 6
    permutation_repeats: int = 10
    numba_cache_dir: str = ".cache/numba"

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> InterpretSettings:
        known = {k: v for k, v in section.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _load(dataset_dir: str | PathLike[str], model_path: str | PathLike[str], modality: str) -> tuple[PreparedDataset, Any]:
    from biodl.predict import load_model

    dataset = open_dataset(dataset_dir)
    require(dataset.modality == modality, dataset.manifest, "modality", f"expected a {modality} dataset, found {dataset.modality}")
    return dataset, load_model(model_path, dataset)


def _split(dataset: PreparedDataset, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs (float32) and labels of one split, in stored order."""
    require(dataset.n(split) > 0, dataset.manifest, f"splits.{split}", "interpretation needs at least one example")
    x = to_inputs(np.concatenate(input_shards(dataset, split)), dataset.ambiguous)
    return x, load_labels(dataset, split)


def _positives(dataset: PreparedDataset, y: np.ndarray) -> np.ndarray:
    """Rows positive for any target (binary, multilabel); every row for other tasks."""
    if dataset.task in ("binary", "multilabel"):
        return np.flatnonzero(np.nan_to_num(y, nan=0.0).max(axis=1) > 0.5)
    return np.arange(len(y))


# ---- DNA ---------------------------------------------------------------------------------


def interpret_dna(dataset_dir: str | PathLike[str], model_path: str | PathLike[str], outputs: dict[str, str],
                  settings: InterpretSettings, threads: int = 1) -> dict[str, Any]:
    """Filter motifs, matches, influence, maximisation and attributions (module contract)."""
    from biodl import attribution, interpret_plots
    from biodl.importance import filter_influence

    use_numba_cache(settings.numba_cache_dir)
    dataset, model = _load(dataset_dir, model_path, "dna")
    conv, _ = first_conv(model)
    width = conv.kernel_size[0]

    x, y = _split(dataset, settings.split)
    chosen = _positives(dataset, y)
    require(len(chosen) > 0, dataset.manifest, f"splits.{settings.split}", "no positive sequence to find filter sites in")
    sites_x = x[chosen]
    bg = background(sites_x)
    motifs = filter_motifs(sites_x, filter_activations(model, sites_x, BATCH_SIZE), width,
                           threshold=settings.threshold, pseudocount=settings.pseudocount, min_sites=settings.min_sites)
    kept = [f.motif for f in motifs if f.motif is not None]
    logger.info("%d of %d filters have >= %d sites in %d %s sequences (%d skipped)", len(kept), len(motifs),
                settings.min_sites, len(chosen), settings.split, len(motifs) - len(kept))
    write_meme(kept, outputs["filters"], bg)

    started = time.perf_counter()
    database = read_meme(settings.database)
    matches, best = match_motifs(kept, database, max_q=settings.max_q_value, n_jobs=threads)
    logger.info("Tomtom: %d filters against %d motifs of %s in %.1f s; %d filters match at q <= %g",
                len(kept), len(database), settings.database, time.perf_counter() - started,
                matches["filter"].nunique(), settings.max_q_value)
    write_tsv(matches, outputs["tomtom"])

    xv, yv = _split(dataset, "validation")
    if dataset.task == "regression":
        yv = dataset.scale_targets(yv)  # compared with the network's standardised outputs
    influence = filter_influence(model, xv, yv, dataset.task, dataset.targets, BATCH_SIZE)
    table = _influence_table(influence, motifs, bg, best, settings.max_q_value)
    write_tsv(table, outputs["influence"])

    ranked = [int(k) for k in table.loc[table["n_sites"] >= max(settings.min_sites, 1), "filter"]][:settings.logo_filters]
    by_id = {m.id: m for m in database}
    rows = [_filter_row(motifs[k], table.set_index("filter").loc[k], by_id, bg, settings.max_q_value) for k in ranked]
    interpret_plots.plot_filter_matches(rows, outputs["filter_logos"])

    maximised = attribution.maximise_filters(model, ranked, steps=settings.maximisation_steps, step=settings.maximisation_step)
    units = range(len(dataset.targets))
    outputs_max = [attribution.maximise_output(model, u, steps=settings.maximisation_steps, step=settings.output_maximisation_step)
                   for u in units]
    # Whole sequences are too long to read as logos: the window with the most information.
    windows = [_window(information_content(p, np.full(4, 0.25)), settings.attribution_window) for p in outputs_max]
    interpret_plots.plot_logos(
        [*maximised, *(p[w:w + settings.attribution_window] for p, w in zip(outputs_max, windows))],
        [f"filter{k}: input maximising its pre-activation" for k in ranked]
        + [f"output {dataset.targets[u]}: input maximising its logit (most informative {settings.attribution_window} bases)" for u in units],
        outputs["maximisation_logos"], starts=[0] * len(ranked) + windows)

    logits = _logits(model, x, attribution)
    unit = logits.argmax(axis=1) if logits.shape[1] > 1 else np.zeros(len(x), dtype=int)
    top = np.argsort(-logits[np.arange(len(x)), unit], kind="stable")[:settings.top_sequences]
    sal = attribution.saliency(model, x[top], unit[top])
    ism = attribution.ism_scores(attribution.in_silico_mutagenesis(model, x[top], unit[top]), x[top])
    matrices, titles, starts = [], [], []
    for i, s, m in zip(top, sal, ism):
        w = _window(np.abs(m).sum(axis=1), settings.attribution_window)
        name = f"{settings.split} sequence {i}, output {dataset.targets[unit[i]]} (logit {logits[i, unit[i]]:.2f})"
        matrices += [s[w:w + settings.attribution_window], m[w:w + settings.attribution_window]]
        titles += [f"{name}: input x gradient", f"{name}: in-silico mutagenesis"]
        starts += [w, w]
    interpret_plots.plot_logos(matrices, titles, outputs["attribution_logos"], kind="attribution", starts=starts)
    return {"filters": len(motifs), "with_motif": len(kept), "matched": int(matches["filter"].nunique()), "table": table}


def _window(score: np.ndarray, width: int) -> int:
    """Start of the ``width`` consecutive positions with the largest total ``score``."""
    if len(score) <= width:
        return 0
    return int(np.argmax(np.convolve(score, np.ones(width), mode="valid")))


def _logits(model: Any, x: np.ndarray, attribution: Any) -> np.ndarray:
    units = model.output_shape[-1]
    return np.stack([np.concatenate([attribution.output_logit(model, x[s:s + BATCH_SIZE], u).numpy()
                                     for s in range(0, len(x), BATCH_SIZE)]) for u in range(units)], axis=1)


def _influence_table(influence: pd.DataFrame, motifs: list[FilterMotif], bg: np.ndarray, best: pd.DataFrame,
                     max_q: float) -> pd.DataFrame:
    """influence.tsv: the influence ranking with each filter's sites, information and best match."""
    info = pd.DataFrame({
        "filter": [f.filter for f in motifs],
        "n_sites": [f.n_sites for f in motifs],
        "threshold": [f.threshold for f in motifs],
        "max_activation": [f.max_activation for f in motifs],
        "information_bits": [float(information_content(f.motif.probabilities, bg).sum()) if f.motif else np.nan for f in motifs],
    })
    best = best.assign(filter=best["filter"].str.removeprefix("filter").astype(int))
    best = best[best["q_value"] <= max_q][["filter", "target_id", "target_name", "q_value", "offset", "orientation"]]
    best = best.rename(columns={"target_id": "best_match", "target_name": "best_match_name", "q_value": "best_match_q",
                                "offset": "match_offset", "orientation": "match_orientation"}).astype({"match_offset": "Int64"})
    return influence.merge(info, on="filter", how="left").merge(best, on="filter", how="left")


def _filter_row(motif: FilterMotif, row: pd.Series, by_id: dict[str, Any], bg: np.ndarray, max_q: float) -> Any:
    from biodl.interpret_plots import FilterRow

    title = f"filter{motif.filter}: {motif.n_sites} sites, influence {row['influence']:+.4f}"
    if pd.isna(row.get("best_match")):
        return FilterRow(motif.motif, bg, title)
    return FilterRow(motif.motif, bg, f"{title}, q = {row['best_match_q']:.2g}", by_id[row["best_match"]],
                     int(row["match_offset"]), row["match_orientation"])


# ---- images ------------------------------------------------------------------------------


def interpret_image(dataset_dir: str | PathLike[str], model_path: str | PathLike[str], outputs: dict[str, str],
                    settings: InterpretSettings) -> dict[str, Any]:
    """Kernels, feature maps, maximisation images, saliency and Grad-CAM (module contract)."""
    from biodl import attribution, interpret_plots

    dataset, model = _load(dataset_dir, model_path, "image")
    conv, _ = first_conv(model)
    kernels = conv.kernel.numpy()  # (kh, kw, channels, filters)
    kernels = (kernels - kernels.min()) / max(float(np.ptp(kernels)), 1e-12) * 255.0
    interpret_plots.plot_image_grid([kernels[..., k] for k in range(conv.filters)], [f"filter{k}" for k in range(conv.filters)],
                                    outputs["filter_grid"], title="First-layer kernels (one scale for all)")

    tiles, units = _example_tiles(dataset, model, settings)
    names = [f"tile {i}, {dataset.targets[u]}" for i, u in zip(tiles["index"], units)]
    maps = attribution.feature_maps(model, tiles["x"])
    shown = min(conv.filters, 7)
    images, titles = [], []
    for tile, name, fmap in zip(tiles["x"], names, maps):
        images += [tile] + [fmap[..., k] for k in range(shown)]
        titles += [name] + [f"filter{k}" for k in range(shown)]
    interpret_plots.plot_image_grid(images, titles, outputs["feature_maps"], columns=shown + 1, cmap="viridis",
                                    title="First-block feature maps")

    maximised = attribution.maximise_filters(model, list(range(conv.filters)), steps=settings.maximisation_steps,
                                             step=settings.maximisation_step)
    interpret_plots.plot_image_grid(list(maximised), [f"filter{k}" for k in range(conv.filters)], outputs["maximisation_images"],
                                    title="Tiles maximising each first-layer filter")

    gradients = attribution.gradients(model, tiles["x"], units)
    cams = attribution.grad_cam(model, tiles["x"], units)
    interpret_plots.plot_overlays(tiles["x"], gradients, cams, names, outputs["saliency_gradcam"])
    return {"filters": conv.filters, "tiles": len(units)}


def _example_tiles(dataset: PreparedDataset, model: Any, settings: InterpretSettings) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The top-scoring tiles of the split for each output unit (see the module contract)."""
    scores = np.asarray(model.predict(ShardBatches(dataset, settings.split, BATCH_SIZE, labels=False), verbose=0))
    per_unit = max(1, settings.example_tiles // scores.shape[1])
    picked: list[int] = []
    units: list[int] = []
    for u in range(scores.shape[1]):
        # A tile already shown for an earlier class is not repeated.
        ranked = [int(i) for i in np.argsort(-scores[:, u], kind="stable") if int(i) not in picked]
        picked += ranked[:per_unit]
        units += [u] * len(ranked[:per_unit])
    # Only the chosen rows are read from the memory-mapped shards.
    shards = input_shards(dataset, settings.split)
    bounds = np.cumsum([0] + [len(s) for s in shards])
    owner = np.searchsorted(bounds, picked, side="right") - 1
    rows = [shards[k][i - bounds[k]] for i, k in zip(picked, owner)]
    x = to_inputs(np.stack(rows), dataset.ambiguous)
    return {"x": x, "index": np.asarray(picked)}, np.asarray(units)


# ---- tables ------------------------------------------------------------------------------


def interpret_table(dataset_dir: str | PathLike[str], model_path: str | PathLike[str], outputs: dict[str, str],
                    settings: InterpretSettings, seed: int) -> pd.DataFrame:
    """Permutation importance of every feature on the split (module contract)."""
    import keras

    from biodl.importance import permutation_importance
    from biodl.interpret_plots import plot_importance

    dataset, model = _load(dataset_dir, model_path, "table")
    x, y = _split(dataset, settings.split)
    if dataset.task == "regression":
        y = dataset.scale_targets(y)  # compared with the network's standardised outputs

    def predict(features: np.ndarray) -> np.ndarray:
        return keras.ops.convert_to_numpy(model(features, training=False))

    table = permutation_importance(predict, x, y, dataset.task, dataset.targets, dataset.feature_names,
                                   repeats=settings.permutation_repeats, seed=seed)
    write_tsv(table, outputs["importance"])
    plot_importance(table, outputs["importance_plot"],
                    title=f"{dataset.name}: permutation importance on the {settings.split} split ({settings.permutation_repeats} repeats)")
    return table
