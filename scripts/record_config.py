"""Snakemake script of rule record_config: the validated config the results are made with
(defaults filled in) → results/config.yaml, for provenance and for the report's check that the
results on disk belong to the config it is made with.

params: config (the validated config as plain data); output: config.
"""

from biodl.core.log import run_step


def record() -> None:
    import yaml

    from biodl.core.files import atomic_path

    with atomic_path(snakemake.output.config) as tmp:
        tmp.write_text(yaml.safe_dump(snakemake.params.config, sort_keys=True))


run_step(snakemake, record)
