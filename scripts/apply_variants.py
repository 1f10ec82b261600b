"""Snakemake script of rule apply_variants: a trained run scores the REF and ALT windows of a
VCF's variants on a genome (biodl.apply.steps.apply_variants).

input: dataset (dataset.json), models (model.keras, or the ensemble members'), vcf (VCF, plain
or bgzipped), genome (FASTA); output: effects (TSV), unscored (TSV), top_variants (HTML),
top_variant_logos (PNG); params: average_strands, top_variants, seed; threads.
"""

from biodl.core.log import run_step


def apply() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.apply.steps import ApplyJob, apply_variants

    job = ApplyJob.of_rule(snakemake)
    apply_variants(
        job,
        snakemake.input.vcf,
        snakemake.input.genome,
        dict(snakemake.output.items()),
        snakemake.params.top_variants,
    )


run_step(snakemake, apply)
