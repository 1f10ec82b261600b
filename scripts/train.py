"""Snakemake script of rule train: one model on one prepared dataset (see biodl.train).

input: dataset (dataset.json); output: model (.keras), history (TSV);
params: model_name, model_config (mapping), seed; threads.
"""

from biodl.log import run_step


def train() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.train import train_model

    train_model(
        snakemake.input.dataset,
        snakemake.params.model_name,
        dict(snakemake.params.model_config),
        int(snakemake.params.seed),
        snakemake.output.model,
        snakemake.output.history,
        threads=snakemake.threads,
    )


run_step(snakemake.log[0], train)
