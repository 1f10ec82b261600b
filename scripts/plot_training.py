"""Snakemake script of rule plot_training: a network's history.tsv → its training curves (PNG).

params: settings (the run's settings in words) is read by the report's caption only.
"""

from biodl.core.log import run_step
from biodl.report.figures import plot_training_curves

run_step(
    snakemake.log[0],
    lambda: plot_training_curves(
        snakemake.input.history,
        snakemake.output.training_curves,
        title=f"{snakemake.wildcards.dataset} / {snakemake.wildcards.model}",
    ),
)
