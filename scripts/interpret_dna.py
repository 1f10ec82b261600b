"""Snakemake script of rule interpret_dna: one trained network → what it learned
(biodl.interpret.dna).

input: dataset (dataset.json), model (.keras); params: interpretation (the config's
interpretation section), seed; output: the files of biodl.interpret.dna, by name.
"""

from biodl.core.log import run_step


def interpret() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.config.settings import InterpretSettings
    from biodl.interpret.dna import interpret_dna

    settings = InterpretSettings.from_validated(snakemake.params.interpretation)
    outputs = dict(snakemake.output.items())
    interpret_dna(snakemake.input.dataset, snakemake.input.model, outputs, settings, threads=snakemake.threads)


run_step(snakemake, interpret)
