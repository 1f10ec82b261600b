"""Snakemake script of rule train: one network on one prepared dataset (biodl.training.loop).

input: dataset (dataset.json), init_model (optional: the run named by init_from);
output: model (.keras), history (TSV); params: model_config (the model's validated settings),
seed, fold (optional), checkpoint_root and tensorboard_root (the run's folders there are
<root>/<dataset>/<model>); threads.
"""

from biodl.core.log import run_step


def train() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from pathlib import Path

    from biodl.config.models import model_settings
    from biodl.core.files import RunFolder
    from biodl.training.loop import TrainingRun, train_model

    dataset, model = snakemake.wildcards.dataset, snakemake.wildcards.model
    fold = snakemake.params.get("fold")
    init_model = snakemake.input.get("init_model")
    run = TrainingRun(
        dataset=Path(snakemake.input.dataset),
        model=model_settings(model, snakemake.params.model_config),
        seed=snakemake.params.seed,
        model_path=Path(snakemake.output.model),
        history_path=Path(snakemake.output.history),
        fold=tuple(fold) if fold is not None else None,
        checkpoint=RunFolder(Path(snakemake.params.checkpoint_root), dataset, model),
        tensorboard=RunFolder(Path(snakemake.params.tensorboard_root), dataset, model),
        init_model=Path(init_model) if init_model else None,
        threads=snakemake.threads,
    )
    train_model(run)


run_step(snakemake, train)
