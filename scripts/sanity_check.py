"""Snakemake script of rule sanity_check: can the network fit a tiny training subset?
(biodl.training.sanity)

input: dataset (dataset.json); output: result (one-row TSV); params: model_config (the model's
validated settings), seed, settings (config sanity_check); threads.
"""

from biodl.core.log import run_step


def check() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.config.models import model_settings
    from biodl.config.settings import SanitySettings
    from biodl.training.sanity import overfit_check

    overfit_check(
        snakemake.input.dataset,
        model_settings(snakemake.wildcards.model, snakemake.params.model_config),
        snakemake.params.seed,
        snakemake.output.result,
        SanitySettings.from_validated(snakemake.params.settings),
        threads=snakemake.threads,
    )


run_step(snakemake, check)
