"""Snakemake script of rule prepare_image: a sample sheet of images → tiles in shards,
metadata.tsv, dataset.json and the tiling preview (biodl.data.image.prepare).

input: the sheet and its images; output: dataset, metadata, shards, preview; params: spec (the
dataset's validated config), seed; threads.
"""

from pathlib import Path

from biodl.core.log import run_step


def prepare() -> None:
    from biodl.config.datasets import dataset_settings
    from biodl.data.image.prepare import prepare_image
    from biodl.data.shards import ImageFiles

    output = snakemake.output
    prepare_image(
        dataset_settings(snakemake.wildcards.dataset, snakemake.params.spec),
        snakemake.params.seed,
        ImageFiles(Path(output.dataset), Path(output.metadata), Path(output.shards), Path(output.preview)),
        threads=snakemake.threads,
    )


run_step(snakemake, prepare)
