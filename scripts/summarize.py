"""Snakemake script of rule summarize: every run's metrics.tsv → results/summary.tsv and its plot.

input: metrics (one per run), datasets (each run's dataset.json, same order: a run's task
is known once its dataset is prepared) and parameters (each run's parameters.tsv, same order);
params: runs ([dataset, model] per metrics file), kinds (each run's model kind), roles and
member_of (biodl.workflow.variants: ensembles and their members), all in the same order; output:
summary (TSV), comparison (PNG).
See biodl.evaluation.summary and biodl.report.figures.plot_comparison.
"""

from biodl.core.log import run_step


def summarize_step() -> None:
    from biodl.evaluation.summary import summarize, write_summary
    from biodl.report.figures import plot_comparison

    summary = summarize(
        list(snakemake.input.metrics),
        list(snakemake.input.datasets),
        snakemake.params.runs,
        snakemake.params.kinds,
        snakemake.params.roles,
        snakemake.params.member_of,
        list(snakemake.input.parameters),
    )
    write_summary(summary, snakemake.output.summary)
    plot_comparison(summary, snakemake.output.comparison)


run_step(snakemake, summarize_step)
