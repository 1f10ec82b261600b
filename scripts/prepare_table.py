"""Snakemake script of rule prepare_table: a table → shards, metadata.tsv and dataset.json with
the preprocessing fitted on the training split (biodl.data.table.prepare).

input: the table; output: dataset, metadata, shards, preprocessing (the fitted transformer);
params: spec (the dataset's validated config), seed.
"""

from pathlib import Path

from biodl.core.log import run_step


def prepare() -> None:
    from biodl.config.datasets import dataset_settings
    from biodl.data.shards import TableFiles
    from biodl.data.table.prepare import prepare_table

    output = snakemake.output
    prepare_table(
        dataset_settings(snakemake.wildcards.dataset, snakemake.params.spec),
        snakemake.params.seed,
        TableFiles(
            Path(output.dataset), Path(output.metadata), Path(output.shards), Path(output.preprocessing)
        ),
    )


run_step(snakemake, prepare)
