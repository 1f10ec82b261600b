"""Snakemake script of rule summarize: every run's metrics.tsv → results/summary.tsv.

input: metrics (one per run) and datasets (each run's dataset.json, same order: a run's task
is known once its dataset is prepared); params: runs ([dataset, model] per metrics file);
output: summary. See biodl.summary.
"""

from biodl.io import read_manifest
from biodl.log import run_step
from biodl.summary import write_summary


def summarize() -> None:
    tasks = [read_manifest(path)[1]["task"] for path in snakemake.input.datasets]
    write_summary(list(snakemake.input.metrics), snakemake.params.runs, tasks, snakemake.output.summary)


run_step(snakemake.log[0], summarize)
