"""Snakemake script of the prepare_dna / prepare_image / prepare_table rules: one dataset →
shards, metadata.tsv and dataset.json (biodl.prepare, biodl.prepare_image, biodl.prepare_table).

input: the dataset's files; output: dataset, metadata, shards (+ preview for images);
params: spec (the dataset's config), seed; threads.
"""

from pathlib import Path

from biodl.log import run_step


def prepare() -> None:
    # Imported once logging is set up, and only the step this modality needs.
    output = snakemake.output
    spec = snakemake.params.spec
    common = (snakemake.wildcards.dataset, spec, snakemake.params.seed,
              Path(output.dataset), Path(output.metadata), Path(output.shards))
    if spec["modality"] == "image":
        from biodl.prepare_image import prepare_image

        prepare_image(*common, Path(output.preview), threads=snakemake.threads)
    elif spec["modality"] == "table":
        from biodl.prepare_table import prepare_table

        prepare_table(*common)
    else:
        from biodl.prepare import prepare_dna

        prepare_dna(*common)


run_step(snakemake.log[0], prepare)
