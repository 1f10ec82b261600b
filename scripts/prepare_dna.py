"""Snakemake script of rule prepare_dna: one DNA dataset → one-hot shards (biodl.prepare)."""

from pathlib import Path

from biodl.log import run_step
from biodl.prepare import prepare_dna

run_step(
    snakemake.log[0],
    lambda: prepare_dna(
        snakemake.wildcards.dataset,
        snakemake.params.spec,
        snakemake.params.seed,
        Path(snakemake.output.dataset),
        Path(snakemake.output.metadata),
        Path(snakemake.output.shards),
    ),
)
