"""Snakemake script of rule leaderboard: results/summary.tsv → the report's leaderboard (HTML).

input: summary; output: leaderboard. See biodl.report.html_tables.leaderboard_html.
"""

from biodl.core.log import run_step


def render_leaderboard() -> None:
    import pandas as pd

    from biodl.report.html_tables import leaderboard_html, write_html

    write_html(leaderboard_html(pd.read_csv(snakemake.input.summary, sep="\t")), snakemake.output.leaderboard)


run_step(snakemake.log[0], render_leaderboard)
