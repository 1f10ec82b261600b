"""Snakemake script of rule apply_sequences: a trained run scores a FASTA of sequences
(biodl.apply.steps.apply_sequences).

input: dataset (dataset.json), models (model.keras, or the ensemble members'), sequences (FASTA);
output: scores (TSV); params: average_strands, seed; threads.
"""

from biodl.core.log import run_step


def apply() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.apply.steps import ApplyJob, apply_sequences

    job = ApplyJob.of_rule(snakemake)
    apply_sequences(job, snakemake.input.sequences, dict(snakemake.output.items()))


run_step(snakemake, apply)
