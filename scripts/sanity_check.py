"""Snakemake script of rule sanity_check: can the network fit a tiny training subset? (biodl.sanity)

input: dataset (dataset.json); output: result (one-row TSV);
params: model_name, model_config (mapping), seed, settings (config sanity_check); threads.
"""

from biodl.log import run_step


def check() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.sanity import overfit_check

    overfit_check(
        snakemake.input.dataset,
        snakemake.params.model_name,
        dict(snakemake.params.model_config),
        int(snakemake.params.seed),
        snakemake.output.result,
        dict(snakemake.params.settings),
        threads=snakemake.threads,
    )


run_step(snakemake.log[0], check)
