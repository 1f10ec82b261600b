"""Snakemake script of rule train: one model on one prepared dataset (see biodl.train).

input: dataset (dataset.json), init_model (optional: the run named by init_from);
output: model (.keras), history (TSV);
params: model_name, model_config (mapping), seed, checkpoint_dir, tensorboard_dir, fold (optional); threads.
"""

from biodl.log import run_step


def train() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
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
        checkpoint_dir=snakemake.params.checkpoint_dir,
        tensorboard_dir=snakemake.params.tensorboard_dir,
        init_model=snakemake.input.get("init_model") or None,
    )


run_step(snakemake.log[0], train)
