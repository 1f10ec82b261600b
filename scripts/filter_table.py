"""Snakemake script of rule filter_table: a DNA network's influence.tsv → the report's table of
filters and their best JASPAR matches (HTML).

input: influence; output: filter_table. See biodl.report.html_tables.filters_html.
"""

from biodl.core.log import run_step


def render_filter_table() -> None:
    import pandas as pd

    from biodl.report.html_tables import filters_html, write_html

    write_html(filters_html(pd.read_csv(snakemake.input.influence, sep="\t")), snakemake.output.filter_table)


run_step(snakemake, render_filter_table)
