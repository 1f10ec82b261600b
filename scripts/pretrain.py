"""Snakemake script of rule pretrain: one autoencoder trained to reconstruct the inputs of a
prepared dataset (biodl.training.pretraining), then its reconstruction-loss curves
(biodl.report.figures).

input: dataset (dataset.json); output: model (.keras), history (TSV), parameters (TSV: the
parameter count, biodl.models.parameter_count), loss_curves (PNG); params:
model_config (the model's validated settings), seed; threads.
"""

from biodl.core.log import run_step


def pretrain() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from pathlib import Path

    from biodl.config.models import AutoencoderModel, model_settings
    from biodl.models.autoencoder import RECONSTRUCTION_LOSS_LABELS
    from biodl.report.figures import plot_training_curves
    from biodl.training.pretraining import AutoencoderRun, train_autoencoder

    dataset, model = snakemake.wildcards.dataset, snakemake.wildcards.model
    settings = model_settings(model, snakemake.params.model_config)
    assert isinstance(settings, AutoencoderModel), "rule pretrain takes autoencoder models only"
    history = train_autoencoder(
        AutoencoderRun(
            dataset=Path(snakemake.input.dataset),
            model=settings,
            seed=snakemake.params.seed,
            model_path=Path(snakemake.output.model),
            history_path=Path(snakemake.output.history),
            threads=snakemake.threads,
            parameters_path=Path(snakemake.output.parameters),
        )
    )
    plot_training_curves(
        history,
        snakemake.output.loss_curves,
        title=f"{dataset} / {model}: reconstruction loss",
        loss_label=RECONSTRUCTION_LOSS_LABELS[settings.kind],
    )


run_step(snakemake, pretrain)
