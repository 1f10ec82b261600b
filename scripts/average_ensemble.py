"""Snakemake script of rule average_ensemble: the members' predictions.tsv → the ensemble's.

input: dataset (dataset.json), members (each member's predictions.tsv); output: predictions
(predictions.tsv, the members' mean outputs). See biodl.evaluation.ensembles.
"""

from biodl.core.log import run_step


def average_members() -> None:
    from biodl.evaluation.ensembles import write_average

    write_average(snakemake.input.dataset, list(snakemake.input.members), snakemake.output.predictions)


run_step(snakemake, average_members)
