"""Snakemake script of rule reconstructions: a trained tile autoencoder → validation tiles above
their reconstructions (biodl.report.reconstructions).

input: model (.keras), dataset (dataset.json), shards; output: reconstructions (PNG).
"""

from biodl.core.log import run_step


def reconstructions() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.data.dataset import open_dataset
    from biodl.report.reconstructions import plot_reconstructions

    dataset, model = snakemake.wildcards.dataset, snakemake.wildcards.model
    plot_reconstructions(
        snakemake.input.model,
        open_dataset(snakemake.input.dataset),
        snakemake.output.reconstructions,
        title=f"{dataset} / {model}: validation tiles and their reconstructions",
    )


run_step(snakemake, reconstructions)
