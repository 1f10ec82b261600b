"""Snakemake script of rule apply_regions: a trained run scores the windows centred on BED or
narrowPeak regions of a genome (biodl.apply.steps.apply_regions).

input: dataset (dataset.json), models (model.keras, or the ensemble members'), regions (BED),
genome (FASTA); output: scores (TSV), bed (BED6+); params: average_strands, seed; threads.
"""

from biodl.core.log import run_step


def apply() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.apply.steps import ApplyJob, apply_regions

    job = ApplyJob.of_rule(snakemake)
    apply_regions(job, snakemake.input.regions, snakemake.input.genome, dict(snakemake.output.items()))


run_step(snakemake, apply)
