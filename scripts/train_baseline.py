"""Snakemake script of rule train_baseline: one scikit-learn baseline on one prepared dataset.

input: dataset (dataset.json); output: model (.skops), predictions (TSV), parameters (TSV: the
fitted coefficients, biodl.models.parameter_count); params: model_config
(the model's validated settings), seed. See biodl.training.baselines.
"""

from biodl.core.log import run_step


def fit_baseline() -> None:
    # Imported once logging is set up, so messages from loading the libraries reach the log.
    from biodl.config.models import model_settings
    from biodl.training.baselines import train_baseline

    train_baseline(
        snakemake.input.dataset,
        model_settings(snakemake.wildcards.model, snakemake.params.model_config),
        snakemake.params.seed,
        snakemake.output.model,
        snakemake.output.predictions,
        snakemake.output.parameters,
    )


run_step(snakemake, fit_baseline)
