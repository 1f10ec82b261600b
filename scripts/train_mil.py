"""Snakemake script of rule train_mil: one attention-MIL network on the bags of a prepared image
dataset (biodl.training.mil), then its training curves (biodl.report.figures).

input: dataset (dataset.json), init_model (optional: the run named by init_from); output: model
(.keras), history (TSV), predictions (TSV: one row per validation and test bag), attention (TSV:
the weight of every tile of those bags) and attention_html (its table for the report), parameters
(TSV: the parameter count), training_curves (PNG); params: model_config (the model's validated
settings), seed, settings (the run in words, for the report's captions); threads.
"""

from biodl.core.log import run_step


def train_mil_step() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from pathlib import Path

    from biodl.config.models import AttentionMilModel, model_settings
    from biodl.report.figures import plot_training_curves
    from biodl.report.html_tables import write_run_tables
    from biodl.training.mil import MilRun, train_mil

    dataset, model = snakemake.wildcards.dataset, snakemake.wildcards.model
    settings = model_settings(model, snakemake.params.model_config)
    assert isinstance(settings, AttentionMilModel), "rule train_mil takes attention_mil models only"
    init_model = snakemake.input.get("init_model")
    result = train_mil(
        MilRun(
            dataset=Path(snakemake.input.dataset),
            model=settings,
            seed=snakemake.params.seed,
            model_path=Path(snakemake.output.model),
            history_path=Path(snakemake.output.history),
            predictions_path=Path(snakemake.output.predictions),
            attention_path=Path(snakemake.output.attention),
            init_model=Path(init_model) if init_model else None,
            threads=snakemake.threads,
            parameters_path=Path(snakemake.output.parameters),
        )
    )
    plot_training_curves(result.history, snakemake.output.training_curves, title=f"{dataset} / {model}")
    write_run_tables([snakemake.output.attention_html], dataset, model)


run_step(snakemake, train_mil_step)
