"""Snakemake script of rule interpret_table: one trained network → what it learned
(biodl.interpret.table).

input: dataset (dataset.json), model (.keras); params: interpretation (the config's
interpretation section), seed; output: the files of biodl.interpret.table, by name, and
importance_html (the report's table of importance.tsv: biodl.report.html_tables.write_run_tables).
"""

from biodl.core.log import run_step


def interpret() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.config.settings import InterpretSettings
    from biodl.interpret.table import interpret_table
    from biodl.report.html_tables import write_run_tables

    settings = InterpretSettings.from_validated(snakemake.params.interpretation)
    outputs = dict(snakemake.output.items())
    pages = [outputs.pop("importance_html")]
    interpret_table(
        snakemake.input.dataset, snakemake.input.model, outputs, settings, seed=snakemake.params.seed
    )
    write_run_tables(pages, snakemake.wildcards.dataset, snakemake.wildcards.model)


run_step(snakemake, interpret)
