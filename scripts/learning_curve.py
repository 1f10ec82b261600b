"""Snakemake script of rule learning_curve: one run's network trained on nested fractions of its
training split, scored on validation (biodl.training.learning_curve), and its figure
(biodl.report.figures.plot_learning_curve).

input: dataset (dataset.json), init_model (optional: the run named by init_from); output: table
(TSV), figure (PNG); params: model_config (the model's validated settings), seed, settings
(config learning_curve), evaluation (config evaluation: bootstrap resamples and level); threads.
"""

from biodl.core.log import run_step


def curve() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    import tempfile
    from pathlib import Path

    from biodl.config.models import Cnn1dModel, ZooModel, model_settings
    from biodl.config.settings import EvaluationSettings, LearningCurveSettings
    from biodl.core.files import write_tsv
    from biodl.report.figures import plot_learning_curve
    from biodl.training.learning_curve import learning_curve
    from biodl.training.loop import TrainingRun

    dataset, model = snakemake.wildcards.dataset, snakemake.wildcards.model
    settings = model_settings(model, snakemake.params.model_config)
    init_model = snakemake.input.get("init_model")
    curve_settings = LearningCurveSettings.from_validated(snakemake.params.settings)
    average_strands = isinstance(settings, Cnn1dModel | ZooModel) and settings.augmentation.average_strands
    with tempfile.TemporaryDirectory(prefix="learning_curve_") as workdir:
        run = TrainingRun(
            dataset=Path(snakemake.input.dataset),
            model=settings,
            seed=snakemake.params.seed,
            model_path=Path(workdir) / "model.keras",
            history_path=Path(workdir) / "history.tsv",
            init_model=Path(init_model) if init_model else None,
            threads=snakemake.threads,
        )
        table = learning_curve(
            run,
            curve_settings.fractions,
            EvaluationSettings.from_validated(snakemake.params.evaluation),
            Path(workdir),
            average_strands=average_strands,
        )
    write_tsv(table, snakemake.output.table)
    plot_learning_curve(table, snakemake.output.figure, title=f"{dataset} / {model}: would more data help?")


run_step(snakemake, curve)
