"""Snakemake script of rule prepare_table: one feature table → scaled feature shards (biodl.prepare_table)."""

from pathlib import Path

from biodl.log import run_step
from biodl.prepare_table import prepare_table

run_step(
    snakemake.log[0],
    lambda: prepare_table(
        snakemake.wildcards.dataset,
        snakemake.params.spec,
        snakemake.params.seed,
        Path(snakemake.output.dataset),
        Path(snakemake.output.metadata),
        Path(snakemake.output.shards),
    ),
)
