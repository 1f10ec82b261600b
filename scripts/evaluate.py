"""Snakemake script of rule evaluate: one trained model on its test split, and its figures.

input: dataset (dataset.json), model, history; output: predictions, metrics (TSV),
roc, pr, training_curves (PNG). See biodl.evaluate and biodl.plots.
"""

from biodl.log import run_step


def evaluate() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.evaluate import evaluate_model
    from biodl.plots import plot_evaluation

    evaluation = evaluate_model(
        snakemake.input.dataset, snakemake.input.model, snakemake.output.predictions, snakemake.output.metrics
    )
    plot_evaluation(
        evaluation, snakemake.input.history, snakemake.output.roc, snakemake.output.pr, snakemake.output.training_curves
    )


run_step(snakemake.log[0], evaluate)
