"""Snakemake script of rule select_trial: every trial's validation predictions → the chosen trial.

input: dataset (dataset.json), trials (each trial's predictions.tsv, in trial order); params:
names (the trials' names), sampled (each trial's sampled values, same order); output: trials
(trials.tsv), predictions (the chosen trial's predictions.tsv). See biodl.evaluation.search.
"""

from biodl.core.log import run_step


def select() -> None:
    from biodl.evaluation.search import select_trial

    trials = list(zip(snakemake.params.names, snakemake.input.trials, snakemake.params.sampled, strict=True))
    select_trial(snakemake.input.dataset, trials, snakemake.output.trials, snakemake.output.predictions)


run_step(snakemake, select)
