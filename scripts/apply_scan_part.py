"""Snakemake script of rule apply_scan_part: a trained run slid over the regions of a scan on some
chromosomes, one part of the scan (biodl.apply.steps.apply_scan_part).

input: dataset (dataset.json), models (model.keras, or the ensemble members'), regions (BED of
the regions to scan), genome (FASTA); output: part (TSV); params: average_strands, stride,
chromosomes (this part's), seed; threads.
"""

from biodl.core.log import run_step


def apply() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.apply.steps import ApplyJob, apply_scan_part

    job = ApplyJob.of_rule(snakemake)
    apply_scan_part(
        job,
        snakemake.input.regions,
        snakemake.input.genome,
        snakemake.params.stride,
        list(snakemake.params.chromosomes),
        dict(snakemake.output.items()),
    )


run_step(snakemake, apply)
