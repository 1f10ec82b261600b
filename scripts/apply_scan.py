"""Snakemake script of rule apply_scan: a trained run slid over genome regions, one bigWig per
task (biodl.apply.steps.apply_scan).

input: dataset (dataset.json), models (model.keras, or the ensemble members'), regions (BED of
the regions to scan), genome (FASTA); output: tracks (folder of bigWigs and tracks.tsv), summary
(TSV); params: average_strands, stride, seed; threads.
"""

from biodl.core.log import run_step


def apply() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.apply.steps import ApplyJob, apply_scan

    job = ApplyJob.of_rule(snakemake)
    apply_scan(
        job,
        snakemake.input.regions,
        snakemake.input.genome,
        snakemake.params.stride,
        dict(snakemake.output.items()),
    )


run_step(snakemake, apply)
