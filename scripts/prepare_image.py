"""Snakemake script of rule prepare_image: a sample sheet of images → tiles in shards,
metadata.tsv, dataset.json and the tiling preview (biodl.data.image.prepare).

input: the sheet and its images; output: dataset, metadata, shards, preview; params: spec (the
dataset's config), seed; threads.
"""

from pathlib import Path

from biodl.core.log import run_step


def prepare() -> None:
    from biodl.data.image.prepare import prepare_image

    output = snakemake.output
    prepare_image(
        snakemake.wildcards.dataset,
        snakemake.params.spec,
        snakemake.params.seed,
        Path(output.dataset),
        Path(output.metadata),
        Path(output.shards),
        Path(output.preview),
        threads=snakemake.threads,
    )


run_step(snakemake, prepare)
