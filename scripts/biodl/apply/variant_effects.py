"""Variant effects: a VCF over a genome → REF and ALT scores per task, and their differences.

Contract:
- ``read_variants(path, sizes)`` reads a VCF, plain or bgzipped, with cyvcf2 (htslib). A
  multi-allelic record becomes one variant per ALT allele. ALT alleles that are not sequences
  (symbolic ``<DEL>``, breakends, ``*``, missing ``.``) cannot be scored: they are counted in the
  log and skipped. A chromosome the genome lacks raises ``InputError`` naming the file and the
  record (``chrom:pos``), with a hint when it differs from a genome name by a ``chr`` prefix; a
  file htslib cannot parse raises ``InputError``. Result: ``chrom``, ``pos`` (1-based, as in the
  VCF), ``id``, ``ref``, ``alt`` (upper case), in file order.
- ``variant_windows(chromosome, pos, ref, alt, length)`` are the REF and ALT windows of one
  variant, as base codes. Both start at the same genome position, chosen so that the variant's
  first REF base is the window's base ``length // 2``; the REF window is the genome there; the
  ALT window is the same left flank, then the ALT allele, then the genome after the REF allele.
  An indel changes the length of what follows, and the window keeps the model's length by
  trimming (insertion) or extending (deletion) on the right: the left flank and the variant's
  position in the window are the same in both. ``None`` when a window would run past either
  chromosome end.
- ``score_variants(model, variants, genome)`` checks every REF against the genome (case
  ignored): variants whose REF differs, or too close to a chromosome end for a window, are not
  scored; they are returned in ``unscored`` (with the genome's bases and the reason) and
  counted and listed in the log. Every other variant gets, per task ``t``: ``t_ref``, ``t_alt``,
  ``t_diff`` (alt − ref) and, for probabilities, ``t_log_odds`` (logit(alt) − logit(ref), with
  probabilities clipped to [1e-6, 1 − 1e-6]); scores are both strands averaged when the model
  was trained so (``TrainedModel``). ``effect`` is the largest ``|t_diff|`` over tasks and the
  table is sorted by it, largest first (ties in file order).
The genome is read one chromosome at a time (``GenomeCodes``), variants grouped by chromosome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd

from biodl.apply.genome import GenomeCodes, centred_start, require_chromosome
from biodl.apply.trained import TrainedModel
from biodl.core.errors import InputError, require_file
from biodl.data.dna import encode
from biodl.data.dna.from_genome import Genome

logger = logging.getLogger(__name__)

WHAT = "VCF file"
VARIANT_COLUMNS = ["chrom", "pos", "id", "ref", "alt"]
CLIP = 1e-6
LISTED = 20  # unscored variants named in the log (all are in the unscored table)


@dataclass(frozen=True)
class VariantEffects:
    """Scored variants (sorted by effect) and the ones left unscored, with why."""

    effects: pd.DataFrame
    unscored: pd.DataFrame


def read_variants(path: str | PathLike[str], sizes: dict[str, int]) -> pd.DataFrame:
    """The VCF's variants, one per ALT allele (see the module contract)."""
    import cyvcf2  # compiled against htslib: imported only by the steps that read VCFs

    path = require_file(path, WHAT, "a VCF header (##fileformat=VCF...) and one variant per line")
    rows: list[tuple[str, int, str, str, str]] = []
    skipped = 0
    try:
        reader = cyvcf2.VCF(str(path), lazy=True, threads=1)
    except Exception as error:  # noqa: BLE001 (cyvcf2 raises a bare Exception for a bad header)
        raise InputError(path, None, f"not a readable VCF file ({error})") from error
    try:
        for record in reader:
            where = f"record {record.CHROM}:{record.POS}"
            require_chromosome(sizes, record.CHROM, path, where)
            ref = record.REF.upper()
            for alt in record.ALT:
                if not alt or set(alt.upper()) - set(encode.SYMBOLS):
                    skipped += 1
                    continue
                rows.append((record.CHROM, int(record.POS), record.ID or ".", ref, alt.upper()))
    finally:
        reader.close()
    if skipped:
        logger.warning(
            "%s: skipped %d ALT allele(s) that are not sequences (symbolic, breakend, * or .)", path, skipped
        )
    logger.info("%s: %d variant(s) after splitting multi-allelic records", path, len(rows))
    return pd.DataFrame(rows, columns=VARIANT_COLUMNS).astype({"pos": np.int64})


def variant_windows(
    chromosome: np.ndarray, pos: int, ref: str, alt: str, length: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """REF and ALT windows (base codes) of one variant at 1-based ``pos`` (see the contract)."""
    first = pos - 1
    start = int(centred_start(first, length))
    right = length - length // 2 - len(alt)  # genome bases after the ALT allele
    after = first + len(ref)
    if start < 0 or start + length > len(chromosome) or after + max(right, 0) > len(chromosome):
        return None
    ref_window = chromosome[start : start + length]
    alt_codes = encode.to_codes(alt, "ALT", "")
    alt_window = np.concatenate(
        [chromosome[start:first], alt_codes, chromosome[after : after + max(right, 0)]]
    )
    return ref_window, alt_window[:length]


def score_variants(model: TrainedModel, variants: pd.DataFrame, genome: Genome) -> VariantEffects:
    """REF-checked variants scored on REF and ALT windows (see the module contract)."""
    chromosomes = GenomeCodes(genome)
    ref_windows, alt_windows, scored = [], [], []
    unscored: list[tuple[int, str, str]] = []
    for chrom, rows in variants.groupby("chrom", sort=False).groups.items():
        sequence = chromosomes.codes(str(chrom))
        for variant in variants.loc[rows].itertuples():
            first = int(variant.pos) - 1
            genome_ref = encode.decode(sequence[max(first, 0) : first + len(variant.ref)])
            if genome_ref != variant.ref:
                unscored.append((variant.Index, genome_ref, "REF differs from the genome"))
                continue
            windows = variant_windows(sequence, int(variant.pos), variant.ref, variant.alt, model.length)
            if windows is None:
                reason = (
                    f"within {model.length // 2} bases of the chromosome end: no {model.length}-base window"
                )
                unscored.append((variant.Index, genome_ref, reason))
                continue
            ref_windows.append(windows[0])
            alt_windows.append(windows[1])
            scored.append(variant.Index)
    _log_unscored(variants, unscored)
    # REF and ALT windows predicted together: one call per chunk instead of two.
    stacked = np.stack(ref_windows + alt_windows) if scored else np.empty((0, model.length), np.uint8)
    scores = model.predict(stacked)
    ref_scores, alt_scores = scores[: len(scored)], scores[len(scored) :]
    effects = _effects(variants.loc[scored].reset_index(drop=True), model, ref_scores, alt_scores)
    return VariantEffects(effects, _unscored_frame(variants, unscored))


def _log_unscored(variants: pd.DataFrame, unscored: list[tuple[int, str, str]]) -> None:
    if not unscored:
        return
    reasons = pd.Series([reason for _, _, reason in unscored]).value_counts()
    logger.warning(
        "%d variant(s) not scored: %s", len(unscored), "; ".join(f"{n} {why}" for why, n in reasons.items())
    )
    for index, genome_ref, reason in unscored[:LISTED]:
        v = variants.loc[index]
        logger.warning(
            "  %s:%d %s %s>%s: %s (genome: %s)", v.chrom, v.pos, v.id, v.ref, v.alt, reason, genome_ref
        )
    if len(unscored) > LISTED:
        logger.warning("  ... and %d more (all in the unscored table)", len(unscored) - LISTED)


def _unscored_frame(variants: pd.DataFrame, unscored: list[tuple[int, str, str]]) -> pd.DataFrame:
    frame = variants.loc[[index for index, _, _ in unscored]].reset_index(drop=True)
    frame["genome_ref"] = [genome_ref for _, genome_ref, _ in unscored]
    frame["reason"] = [reason for _, _, reason in unscored]
    return frame


def _effects(
    variants: pd.DataFrame, model: TrainedModel, ref_scores: np.ndarray, alt_scores: np.ndarray
) -> pd.DataFrame:
    columns: dict[str, np.ndarray] = {}
    for k, task in enumerate(model.targets):
        ref, alt = ref_scores[:, k], alt_scores[:, k]
        columns[f"{task}_ref"], columns[f"{task}_alt"], columns[f"{task}_diff"] = ref, alt, alt - ref
        if model.probabilities:
            columns[f"{task}_log_odds"] = _logit(alt) - _logit(ref)
    diffs = alt_scores - ref_scores
    effect = np.abs(diffs).max(axis=1) if len(diffs) else np.empty(0)
    frame = pd.concat([variants, pd.DataFrame(columns)], axis=1).assign(effect=effect)
    return frame.sort_values("effect", ascending=False, kind="stable").reset_index(drop=True)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, CLIP, 1 - CLIP)
    return np.log(p) - np.log1p(-p)
