"""Snakemake script of rule apply_table: a table run scores a new CSV/TSV with the preprocessing
fitted at training (biodl.apply.tables).

input: dataset (dataset.json), models (model.keras, or the ensemble members'), preprocessing
(preprocessing.skops), table; output: scores (TSV); params: spec (the dataset's validated
settings), dataset_name, seed; threads.
"""

from biodl.core.log import run_step


def apply() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.apply.tables import load_table_model, score_table
    from biodl.config.datasets import TableDataset, dataset_settings
    from biodl.core.files import write_tsv
    from biodl.training.device import configure_tensorflow

    spec = dataset_settings(snakemake.params.dataset_name, snakemake.params.spec)
    assert isinstance(spec, TableDataset), "the config check admits table datasets only"
    configure_tensorflow(snakemake.params.seed, snakemake.threads)
    model = load_table_model(snakemake.input.dataset, snakemake.input.models, snakemake.input.preprocessing)
    write_tsv(score_table(model, spec, snakemake.input.table), snakemake.output.scores)


run_step(snakemake, apply)
