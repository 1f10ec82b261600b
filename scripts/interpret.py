"""Snakemake script of the interpret rules: one trained network → what it learned.

input: dataset (dataset.json), model (.keras); params: interpretation (the config's
interpretation settings), seed; output: the files of the modality, by name (see
biodl.interpret). The modality is read from the prepared dataset.
"""

from biodl.log import run_step


def interpret() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.dataset import open_dataset
    from biodl.interpret import InterpretSettings, interpret_dna, interpret_image, interpret_table

    settings = InterpretSettings.from_config(snakemake.params.interpretation)
    outputs = dict(snakemake.output.items())
    inputs = (snakemake.input.dataset, snakemake.input.model, outputs, settings)
    modality = open_dataset(snakemake.input.dataset).modality
    if modality == "dna":
        interpret_dna(*inputs, threads=snakemake.threads)
    elif modality == "image":
        interpret_image(*inputs)
    else:
        interpret_table(*inputs, seed=snakemake.params.seed)


run_step(snakemake.log[0], interpret)
