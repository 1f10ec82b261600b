"""Snakemake script of rule evaluate: one run's predictions → its metrics, tables and figures.

input: dataset (dataset.json), predictions (predictions.tsv); params: evaluation (the config's
evaluation settings), seed, per_bag (one prediction per bag of tiles:
attention_mil), settings (the run's settings in words, read by the report's captions
only); output: metrics (metrics.tsv), metrics_table (metrics.html), optionally confusion_table
(confusion.tsv) and confusion_html (its table for the report), and the figures to draw, by name:
roc, pr, calibration, confusion (classification) or scatter (regression). See
biodl.evaluation.evaluate and biodl.report.html_tables.write_run_tables.
"""

from biodl.core.log import run_step


def evaluate() -> None:
    # Imported once logging is set up, so messages from loading the libraries reach the log.
    from biodl.config.settings import EvaluationSettings
    from biodl.evaluation.evaluate import evaluate_predictions, write_evaluation
    from biodl.report.html_tables import write_run_tables

    settings = EvaluationSettings.from_validated(snakemake.params.evaluation)
    evaluation = evaluate_predictions(
        snakemake.input.dataset,
        snakemake.input.predictions,
        snakemake.wildcards.model,
        settings,
        snakemake.params.seed,
        per_bag=snakemake.params.get("per_bag", False),
    )
    outputs = dict(snakemake.output.items())
    pages = [outputs.pop(name) for name in ("confusion_html",) if name in outputs]
    write_evaluation(evaluation, outputs, settings)
    write_run_tables(pages, snakemake.wildcards.dataset, snakemake.wildcards.model)


run_step(snakemake, evaluate)
