"""Snakemake script of rule apply_sequences: a trained run scores a FASTA or a table of sequences
(biodl.apply.steps.apply_sequences).

input: dataset (dataset.json), models (model.keras, or the ensemble members'), sequences (FASTA,
or CSV/TSV); output: scores (TSV); params: average_strands, seed, columns (a table's id and
sequence columns, {"id": ..., "sequence": ...}; None for a FASTA); threads.
"""

from biodl.core.log import run_step


def apply() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.apply.sequences import SequenceColumns
    from biodl.apply.steps import ApplyJob, apply_sequences

    job = ApplyJob.of_rule(snakemake)
    columns = snakemake.params.columns
    apply_sequences(
        job,
        snakemake.input.sequences,
        dict(snakemake.output.items()),
        SequenceColumns(**columns) if columns else None,
    )


run_step(snakemake, apply)
