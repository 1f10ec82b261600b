"""Snakemake script of rule prepare_image: one image dataset → tiles in shards (biodl.prepare_image)."""

from pathlib import Path

from biodl.log import run_step
from biodl.prepare_image import prepare_image

run_step(
    snakemake.log[0],
    lambda: prepare_image(
        snakemake.wildcards.dataset,
        snakemake.params.spec,
        snakemake.params.seed,
        Path(snakemake.output.dataset),
        Path(snakemake.output.metadata),
        Path(snakemake.output.shards),
        Path(snakemake.output.preview),
        threads=snakemake.threads,
    ),
)
