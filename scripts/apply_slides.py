"""Snakemake script of rule apply_slides: an image run's tile model mapped over a sheet of whole
slides (biodl.apply.slide_step.apply_slides).

input: dataset (dataset.json), models (model.keras, or the ensemble members'), slides (the sheet),
images (the slides it names); output: tiles, slides, metrics (TSV), maps (folder of heatmap PNGs
and GeoJSON overlays); params: aggregate, evaluation, seed; threads.
"""

from biodl.core.log import run_step


def apply() -> None:
    # Imported once logging is set up, so messages from loading TensorFlow reach the log.
    from biodl.apply.slide_step import SlideJob, SlideSettings, apply_slides

    settings = SlideSettings.from_validated(
        snakemake.params.aggregate, snakemake.params.evaluation, snakemake.params.seed
    )
    apply_slides(
        SlideJob.of_rule(snakemake), snakemake.input.slides, settings, dict(snakemake.output.items())
    )


run_step(snakemake, apply)
