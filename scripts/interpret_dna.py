"""Snakemake script of rule interpret_dna: one trained network → what it learned
(biodl.interpret.dna).

input: dataset (dataset.json), model (.keras), database (the dataset's MEME motif collection);
params: interpretation (the config's interpretation section), genome (the dataset's genome FASTA
or None), seed; output: the files of biodl.interpret.dna, by name.
"""

from biodl.core.log import run_step


def interpret() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.config.settings import InterpretSettings
    from biodl.interpret.dna import DnaRun, interpret_dna

    settings = InterpretSettings.from_validated(snakemake.params.interpretation)
    run = DnaRun(
        snakemake.input.dataset,
        (snakemake.input.model,),
        snakemake.input.database,
        genome=snakemake.params.genome,
        seed=snakemake.params.seed,
        threads=snakemake.threads,
    )
    interpret_dna(run, dict(snakemake.output.items()), settings)


run_step(snakemake, interpret)
