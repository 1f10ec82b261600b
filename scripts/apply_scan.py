"""Snakemake script of rule apply_scan: the parts of a genome scan gathered into one bigWig and
one BED of windows above threshold per task, and a summary (biodl.apply.steps.apply_scan).

input: dataset (dataset.json), parts (TSVs of rule apply_scan_part), genome (FASTA); output:
tracks (folder of bigWigs, BEDs and tracks.tsv), summary (TSV); params: stride, threshold.
"""

from biodl.core.log import run_step


def apply() -> None:
    from biodl.apply.gather import ScanSettings, apply_scan

    apply_scan(
        snakemake.input.dataset,
        list(snakemake.input.parts),
        snakemake.input.genome,
        ScanSettings(snakemake.params.stride, snakemake.params.threshold),
        dict(snakemake.output.items()),
    )


run_step(snakemake, apply)
