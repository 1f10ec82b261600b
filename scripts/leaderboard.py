"""Snakemake script of rule leaderboard: results/summary.tsv → the report's leaderboard (HTML).

input: summary; output: leaderboard; params: report_command (how to make the full report, logged
last so the terminal ends with it). See biodl.report.html_tables.leaderboard_html.
"""

from biodl.core.log import run_step


def render_leaderboard() -> None:
    import logging

    import pandas as pd

    from biodl.report.html_tables import leaderboard_html, write_html

    summary = pd.read_csv(snakemake.input.summary, sep="\t")
    write_html(leaderboard_html(summary), snakemake.output.leaderboard)
    logging.getLogger("biodl").info(
        "%d runs compared in %s and results/summary.tsv; the full report: %s",
        len(summary),
        snakemake.output.leaderboard,
        snakemake.params.report_command,
    )


run_step(snakemake, render_leaderboard)
