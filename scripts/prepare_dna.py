"""Snakemake script of rule prepare_dna: a DNA dataset's files → shards, metadata.tsv and
dataset.json (biodl.data.dna.prepare).

input: the dataset's files; output: dataset, metadata, shards; params: spec (the dataset's
validated config), seed.
"""

from pathlib import Path

from biodl.core.log import run_step


def prepare() -> None:
    # Imported once logging is set up, so messages from loading the libraries reach the log.
    from biodl.config.datasets import dataset_settings
    from biodl.data.dna.prepare import prepare_dna
    from biodl.data.shards import PreparedFiles

    output = snakemake.output
    prepare_dna(
        dataset_settings(snakemake.wildcards.dataset, snakemake.params.spec),
        snakemake.params.seed,
        PreparedFiles(Path(output.dataset), Path(output.metadata), Path(output.shards)),
    )


run_step(snakemake, prepare)
