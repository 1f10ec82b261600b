"""Snakemake script of rule predict: a trained network on the validation and test splits.

input: dataset (dataset.json), model (.keras); output: predictions (TSV);
params: average_strands (DNA: mean over both strands). See biodl.evaluation.inference.
"""

from biodl.core.log import run_step


def predict() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.evaluation.inference import predict_model

    predict_model(
        snakemake.input.dataset,
        snakemake.input.model,
        snakemake.output.predictions,
        average_strands=bool(snakemake.params.average_strands),
    )


run_step(snakemake, predict)
