"""The apply steps as the workflow runs them: a job's trained run → its output files.

Contract: ``ApplyJob`` names the run (its ``dataset.json``, the model file or the ensemble
members' files, whether both strands are averaged), the seed and the threads TensorFlow may use
(``biodl.training.device.configure_tensorflow``). Each step reads its inputs through
``biodl.apply.sequences`` or ``biodl.apply.variant_effects`` (FASTA indexes are built in a
temporary folder, never beside the user's files) and writes its outputs atomically:
- ``apply_sequences(job, sequences, outputs, columns)``: ``scores`` (TSV) of a FASTA, or of a
  table of sequences when ``columns`` names its id and sequence columns;
- ``apply_regions(job, regions, genome, outputs)``: ``scores`` (TSV) and ``bed`` (BED6+);
- ``apply_variants(job, vcf, genome, outputs, top)``: ``effects`` (TSV, sorted by effect),
  ``unscored`` (TSV: the variants not scored, with the genome's bases and the reason; only a
  header when every variant was scored) and, for the ``top`` variants of largest effect,
  ``top_variants`` (HTML table) and ``top_variant_logos`` (PNG: ISM logos around REF and ALT,
  ``biodl.apply.variant_logos``);
- ``apply_scan_part(job, regions, genome, stride, chromosomes, outputs)``: ``part`` (TSV): the
  scan of the regions on ``chromosomes`` (one part of ``biodl.apply.scan.scan_parts``: the
  workflow scatters a scan into parts that run as separate jobs);
  ``biodl.apply.gather`` gathers the parts.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biodl.apply.scan import scan_regions, write_part
from biodl.apply.sequences import SequenceColumns, score_fasta, score_regions, score_table, write_scores_bed
from biodl.apply.trained import TrainedModel, load_trained
from biodl.apply.variant_effects import read_variants, score_variants
from biodl.apply.variant_logos import explain_top, plot_top_variants, top_variants_html
from biodl.config.targets import DEFAULT_TOP
from biodl.core.files import write_tsv
from biodl.data.dna.from_genome import Genome
from biodl.report.html_tables import write_html

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApplyJob:
    """A trained run and how to run it."""

    dataset: Path
    models: tuple[Path, ...]
    average_strands: bool
    seed: int
    threads: int

    @classmethod
    def of_rule(cls, snakemake: Any) -> ApplyJob:
        """The job of an apply rule's Snakemake object: ``input.dataset``, ``input.models``,
        ``params.average_strands``, ``params.seed`` and ``threads``."""
        return cls(
            Path(snakemake.input.dataset),
            tuple(Path(path) for path in snakemake.input.models),
            snakemake.params.average_strands,
            snakemake.params.seed,
            snakemake.threads,
        )

    def load(self) -> TrainedModel:
        from biodl.training.device import configure_tensorflow  # TensorFlow: only when a job runs

        configure_tensorflow(self.seed, self.threads)
        return load_trained(self.dataset, self.models, self.average_strands)


def apply_sequences(
    job: ApplyJob,
    sequences: str | Path,
    outputs: Mapping[str, str | Path],
    columns: SequenceColumns | None = None,
) -> None:
    model = job.load()
    if columns is not None:
        scores = score_table(model, sequences, columns)
    else:
        with tempfile.TemporaryDirectory() as index_dir:
            scores = score_fasta(model, sequences, index_dir)
    write_tsv(scores, outputs["scores"])


def apply_regions(
    job: ApplyJob, regions: str | Path, genome: str | Path, outputs: Mapping[str, str | Path]
) -> None:
    model = job.load()
    with tempfile.TemporaryDirectory() as index_dir:
        scores = score_regions(model, regions, genome, index_dir)
    write_tsv(scores, outputs["scores"])
    write_scores_bed(scores, model.targets, model.probabilities, outputs["bed"])


def apply_variants(
    job: ApplyJob,
    vcf: str | Path,
    genome: str | Path,
    outputs: Mapping[str, str | Path],
    top: int = DEFAULT_TOP,
) -> None:
    model = job.load()
    with tempfile.TemporaryDirectory() as index_dir:
        opened = Genome.open(genome, index_dir)
        variants = read_variants(vcf, opened.sizes)
        result = score_variants(model, variants, opened)
        logos = explain_top(model, result.effects, opened, top)
    write_tsv(result.effects, outputs["effects"])
    write_tsv(result.unscored, outputs["unscored"])
    write_html(top_variants_html(result.effects, top), outputs["top_variants"])
    plot_top_variants(logos, outputs["top_variant_logos"])
    logger.info(
        "%d variant(s) scored, %d not (see %s)",
        len(result.effects),
        len(result.unscored),
        outputs["unscored"],
    )


def apply_scan_part(
    job: ApplyJob,
    regions: str | Path,
    genome: str | Path,
    stride: int,
    chromosomes: Sequence[str],
    outputs: Mapping[str, str | Path],
) -> None:
    model = job.load()
    with tempfile.TemporaryDirectory() as index_dir:
        scan, _ = scan_regions(model, regions, genome, index_dir, stride, chromosomes)
    logger.info("part of %s: %d window(s) on %s", regions, len(scan), ", ".join(chromosomes))
    write_part(scan, outputs["part"])
