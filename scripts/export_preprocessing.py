"""Snakemake script of rule export_preprocessing: a table dataset's fitted preprocessing
(preprocessing.skops, written when it was prepared) copied next to a run's model, so the run's folder
holds everything needed to score a new table (README, "Use a trained model elsewhere").

input: preprocessing; output: preprocessing.
"""

from biodl.core.log import run_step


def export() -> None:
    import shutil

    from biodl.core.files import atomic_path

    with atomic_path(snakemake.output.preprocessing) as tmp:
        shutil.copyfile(snakemake.input.preprocessing, tmp)


run_step(snakemake, export)
