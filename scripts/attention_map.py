"""Snakemake script of rule attention_map: an attention-MIL run's tile attention → the figure of
its test bags (the best and worst of each class), heat beside the tiles.

input: dataset (dataset.json), shards (the tiles), attention (attention.tsv), predictions
(predictions.tsv, one row per bag); output: attention_map (PNG). See
biodl.report.attention_map.plot_attention_maps.
"""

from biodl.core.log import run_step


def attention_map() -> None:
    from biodl.data.dataset import open_dataset
    from biodl.report.attention_map import plot_attention_maps

    dataset, model = snakemake.wildcards.dataset, snakemake.wildcards.model
    plot_attention_maps(
        snakemake.input.attention,
        snakemake.input.predictions,
        open_dataset(snakemake.input.dataset),
        snakemake.output.attention_map,
        title=f"{dataset} / {model}: attention over the tiles of test bags",
    )


run_step(snakemake, attention_map)
