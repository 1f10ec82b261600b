"""Snakemake script of rule train: one network on one prepared dataset (biodl.training.loop), then,
with the model still in memory, its validation and test predictions
(biodl.evaluation.inference) and its training curves (biodl.report.figures).

input: dataset (dataset.json), init_model (optional: the run named by init_from); output: model
(.keras), history (TSV), initial_loss (TSV: the loss before training against chance),
parameters (TSV: the parameter count, biodl.models.parameter_count), predictions (TSV),
training_curves (PNG); params: model_config (the model's validated settings), seed, fold
(optional), checkpoint_root and tensorboard_root (the run's folders there are
<root>/<dataset>/<model>), settings (the run in words, for the report's captions); threads.
"""

from biodl.core.log import run_step


def train() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from pathlib import Path

    from biodl.config.models import Cnn1dModel, ZooModel, model_settings
    from biodl.core.files import RunFolder
    from biodl.evaluation.inference import predict_model
    from biodl.report.figures import plot_training_curves
    from biodl.training.initial_loss import read_initial_loss
    from biodl.training.loop import TrainingRun, train_model

    dataset, model = snakemake.wildcards.dataset, snakemake.wildcards.model
    fold = snakemake.params.get("fold")
    init_model = snakemake.input.get("init_model")
    settings = model_settings(model, snakemake.params.model_config)
    run = TrainingRun(
        dataset=Path(snakemake.input.dataset),
        model=settings,
        seed=snakemake.params.seed,
        model_path=Path(snakemake.output.model),
        history_path=Path(snakemake.output.history),
        fold=tuple(fold) if fold is not None else None,
        checkpoint=RunFolder(Path(snakemake.params.checkpoint_root), dataset, model),
        tensorboard=RunFolder(Path(snakemake.params.tensorboard_root), dataset, model),
        init_model=Path(init_model) if init_model else None,
        threads=snakemake.threads,
        initial_loss_path=Path(snakemake.output.initial_loss),
        parameters_path=Path(snakemake.output.parameters),
    )
    history = train_model(run)
    average_strands = isinstance(settings, Cnn1dModel | ZooModel) and settings.augmentation.average_strands
    predict_model(run.dataset, run.model_path, snakemake.output.predictions, average_strands=average_strands)
    plot_training_curves(
        history,
        snakemake.output.training_curves,
        title=f"{dataset} / {model}",
        initial=read_initial_loss(run.initial_loss_path),
    )


run_step(snakemake, train)
