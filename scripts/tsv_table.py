"""Snakemake script of rule tsv_table: one of a run's TSVs → the same rows as an HTML table for the report.

input: table (the TSV); output: table (HTML); wildcards: name (which TSV), dataset, model.
See biodl.report.html_tables.tsv_table_html.
"""

from biodl.core.log import run_step


def render_tsv_table() -> None:
    import pandas as pd

    from biodl.report.html_tables import tsv_table_html, write_html

    name, dataset, model = snakemake.wildcards.name, snakemake.wildcards.dataset, snakemake.wildcards.model
    table = pd.read_csv(snakemake.input.table, sep="\t")
    write_html(tsv_table_html(table, name, f"{name}.tsv of {model} on {dataset}"), snakemake.output.table)


run_step(snakemake, render_tsv_table)
