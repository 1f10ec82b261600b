"""Snakemake script of rule interpret_dna: one trained network → what it learned
(biodl.interpret.dna).

input: dataset (dataset.json), model (.keras), database (the dataset's MEME motif collection);
params: interpretation (the config's interpretation section), genome (the dataset's genome FASTA
or None), seed; output: the files of biodl.interpret.dna, by name, and the report's tables of
tomtom.tsv and influence.tsv (tomtom_table, filter_table: biodl.report.html_tables.write_run_tables).
"""

from biodl.core.log import run_step


def interpret() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.config.settings import InterpretSettings
    from biodl.interpret.dna import DnaRun, interpret_dna
    from biodl.report.html_tables import write_run_tables

    settings = InterpretSettings.from_validated(snakemake.params.interpretation)
    run = DnaRun(
        snakemake.input.dataset,
        (snakemake.input.model,),
        snakemake.input.database,
        genome=snakemake.params.genome,
        seed=snakemake.params.seed,
        threads=snakemake.threads,
    )
    outputs = dict(snakemake.output.items())
    pages = [outputs.pop(name) for name in ("tomtom_table", "filter_table")]
    interpret_dna(run, outputs, settings)
    write_run_tables(pages, snakemake.wildcards.dataset, snakemake.wildcards.model)


run_step(snakemake, interpret)
