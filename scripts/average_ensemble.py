"""Snakemake script of rule average_ensemble: the members' predictions.tsv → the ensemble's.

input: dataset (dataset.json), members (each member's predictions.tsv), member_parameters (each
member's parameters.tsv); output: predictions (predictions.tsv, the members' mean outputs),
parameters (their summed parameter count). See biodl.evaluation.ensembles and
biodl.models.parameter_count.
"""

from biodl.core.log import run_step


def average_members() -> None:
    from biodl.evaluation.ensembles import write_average
    from biodl.models.parameter_count import ensemble_count, read_parameters, write_parameters

    write_average(snakemake.input.dataset, list(snakemake.input.members), snakemake.output.predictions)
    counts = [read_parameters(path) for path in snakemake.input.member_parameters]
    write_parameters(ensemble_count(counts), snakemake.output.parameters)


run_step(snakemake, average_members)
