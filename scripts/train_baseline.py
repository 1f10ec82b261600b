"""Snakemake script of rule train_baseline: one scikit-learn baseline on one prepared dataset.

input: dataset (dataset.json); output: model (.skops), predictions (TSV);
params: model_name, model_config (mapping), seed. See biodl.baselines.
"""

from biodl.log import run_step


def train_baseline() -> None:
    # Imported once logging is set up, so messages from loading the libraries reach the log.
    from biodl.baselines import train_baseline

    train_baseline(
        snakemake.input.dataset,
        snakemake.params.model_name,
        dict(snakemake.params.model_config),
        int(snakemake.params.seed),
        snakemake.output.model,
        snakemake.output.predictions,
    )


run_step(snakemake.log[0], train_baseline)
