"""Snakemake script of rule train: one model on one prepared dataset (see biodl.train).

input: dataset (dataset.json), init_model (optional: the run named by init_from);
output: model (.keras), history (TSV);
params: model_name, model_config (mapping), seed, checkpoint_root, tensorboard_root (the run's folders
there are <root>/<dataset>/<model>), fold (optional); threads.
"""

from biodl.log import run_step


def train() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from pathlib import Path

    from biodl.io import RunFolder
    from biodl.train import train_model

    fold = snakemake.params.get("fold")
    train_model(
        snakemake.input.dataset,
        snakemake.params.model_name,
        dict(snakemake.params.model_config),
        int(snakemake.params.seed),
        snakemake.output.model,
        snakemake.output.history,
        threads=snakemake.threads,
        fold=tuple(fold) if fold is not None else None,
        checkpoint_dir=RunFolder(Path(snakemake.params.checkpoint_root), snakemake.wildcards.dataset, snakemake.wildcards.model),
        tensorboard_dir=RunFolder(Path(snakemake.params.tensorboard_root), snakemake.wildcards.dataset, snakemake.wildcards.model),
        init_model=snakemake.input.get("init_model") or None,
    )


run_step(snakemake.log[0], train)
