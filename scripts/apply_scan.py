"""Snakemake script of rule apply_scan: the parts of a genome scan gathered into one bigWig and
one BED of windows above threshold per task, and a summary (biodl.apply.steps.apply_scan).

input: dataset (dataset.json), parts (TSVs of rule apply_scan_part), genome (FASTA), known_sites
(none or one BED); output: tracks (folder of bigWigs, BEDs and tracks.tsv), summary (TSV),
track_plot (PNG);
params: stride, threshold, bootstrap, confidence, seed.
"""

from biodl.core.log import run_step


def apply() -> None:
    from pathlib import Path

    from biodl.apply.gather import ScanSettings, apply_scan
    from biodl.evaluation.bootstrap import Resampling

    params, known = snakemake.params, snakemake.input.known_sites
    known = [known] if isinstance(known, str) else list(known)
    settings = ScanSettings(
        params.stride,
        params.threshold,
        Path(known[0]) if known else None,
        Resampling(params.seed, params.bootstrap, params.confidence),
    )
    apply_scan(
        snakemake.input.dataset,
        list(snakemake.input.parts),
        snakemake.input.genome,
        settings,
        dict(snakemake.output.items()),
    )


run_step(snakemake, apply)
