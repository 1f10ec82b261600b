"""Snakemake script of rule select_trial: every trial's validation predictions → the chosen trial.

input: dataset (dataset.json), trials (each trial's predictions.tsv, in trial order),
trial_parameters (each trial's parameters.tsv, same order); params: names (the trials' names),
sampled (each trial's sampled values, same order); output: trials (trials.tsv), trials_html (its
table for the report), predictions and parameters (the chosen trial's). See
biodl.evaluation.search.
"""

from biodl.core.log import run_step


def select() -> None:
    from biodl.evaluation.search import select_trial
    from biodl.models.parameter_count import read_parameters, write_parameters
    from biodl.report.html_tables import write_run_tables

    trials = list(zip(snakemake.params.names, snakemake.input.trials, snakemake.params.sampled, strict=True))
    table = select_trial(
        snakemake.input.dataset, trials, snakemake.output.trials, snakemake.output.predictions
    )
    chosen = table["chosen"].to_numpy().nonzero()[0][0]
    write_parameters(read_parameters(snakemake.input.trial_parameters[chosen]), snakemake.output.parameters)
    write_run_tables([snakemake.output.trials_html], snakemake.wildcards.dataset, snakemake.wildcards.model)


run_step(snakemake, select)
