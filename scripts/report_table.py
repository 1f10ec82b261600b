"""Snakemake script of rules leaderboard and filter_table: a TSV → an HTML table for the report.

input: summary (results/summary.tsv) for output leaderboard, or influence (a DNA network's
influence.tsv) for output filter_table. See biodl.report_tables.
"""

from biodl.log import run_step

RENDERERS = {"leaderboard": ("summary", "leaderboard_html"), "filter_table": ("influence", "filters_html")}


def render() -> None:
    import pandas as pd

    from biodl import report_tables

    (output, path), = snakemake.output.items()
    source, renderer = RENDERERS[output]
    frame = pd.read_csv(snakemake.input[source], sep="\t")
    report_tables.write_html(getattr(report_tables, renderer)(frame), path)


run_step(snakemake.log[0], render)
