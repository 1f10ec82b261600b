"""The ``apply:`` section: trained runs applied to new inputs, checked once, then typed.

Contract:
- ``check_targets(config, base_dir)`` (called by ``biodl.config.checks.validate_config``) checks
  every target of a validated config: ``run`` names ``<dataset>/<model>``, a DNA dataset and a
  1-D CNN (or an ensemble of them) that the workflow trains on it (``runs``); the target gives
  exactly one input (``sequences``, ``regions``, ``vcf`` or ``scan``); ``genome`` is given with
  ``regions``, ``vcf`` and ``scan`` and refused with ``sequences`` (it cannot apply: the sequences
  are scored as they are); ``stride`` is given with ``scan`` and refused otherwise, and so are
  ``threshold`` (optional; default ``DEFAULT_THRESHOLD``) and ``known_sites`` (optional BED),
  which only a scan has; ``top_variants`` (optional; default ``DEFAULT_TOP``) only with ``vcf``;
  ``sequence_column`` and ``id_column`` (together) make ``sequences`` a CSV/TSV table of
  sequences (its suffix ``.csv``/``.tsv``, optionally ``.gz``, asks for them: a FASTA takes
  neither) and are refused on any other input;
  every file exists. Each problem raises ``InputError("config",
  "apply.<target>[.<key>]", ...)``.
- ``slides`` (a sheet of whole slides, ``biodl.apply.whole_slides``) needs an image dataset and a
  2-D CNN (or an ensemble of them) trained on it, and refuses ``genome``; ``aggregate`` (how
  tile scores become slide scores) is refused on any other input. ``table`` (a CSV/TSV scored
  with the preprocessing fitted at training, ``biodl.apply.tables``) needs a table dataset and
  an ``mlp`` (or an ensemble of them) trained on it, and refuses ``genome``.
- ``ApplyTarget.from_validated(name, mapping)`` is one target as a frozen dataclass: ``kind``
  is its input (``sequences``, ``regions``, ``vcf``, ``scan``), ``dataset`` and ``model`` its run,
  ``stride`` the scan's step and ``threshold`` the score from which its windows go into the BED
  of windows above threshold, ``known_sites`` the BED of sites its windows are checked against
  (``None`` for other inputs; ``known_sites`` also when not given); ``top_variants`` the number of
  variants a VCF target explains with logos (``None`` for other inputs); ``sequence_column``
  and ``id_column`` a table of sequences' columns (``None`` for a FASTA and other inputs).
- ``targets_of(config, kind)`` names the targets of one input kind, in config order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biodl.config.runs import runs
from biodl.core.errors import InputError, require

INPUT_KINDS = ("sequences", "regions", "vcf", "scan", "slides", "table")
NEEDS_GENOME = ("regions", "vcf", "scan")
APPLIED_KINDS = ("cnn1d",)
SCAN_ONLY = ("threshold", "known_sites")  # keys that only a scan has (stride is required with it)
DEFAULT_THRESHOLD = 0.5  # a probability: regression scans should set their own
VCF_ONLY = ("top_variants",)
DEFAULT_TOP = 5  # variants of largest effect explained with ISM logos
# A table of sequences (sequences: a CSV/TSV, read as DNA tables are for preparation).
SEQUENCE_TABLE_KEYS = ("sequence_column", "id_column")
TABLE_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
# Whole slides: an image run's tile model (biodl.apply.whole_slides).
SLIDE_KIND = "slides"
SLIDE_MODEL_KINDS = ("cnn2d",)
# A new table: a table run's network with its fitted preprocessing (biodl.apply.tables).
TABLE_KIND = "table"
TABLE_MODEL_KINDS = ("mlp",)


@dataclass(frozen=True)
class ApplyTarget:
    """One ``apply:`` target, validated (see the module contract)."""

    name: str
    dataset: str
    model: str
    kind: str
    path: str
    genome: str | None
    stride: int | None = None
    threshold: float | None = None
    known_sites: str | None = None
    top_variants: int | None = None
    sequence_column: str | None = None
    id_column: str | None = None

    @classmethod
    def from_validated(cls, name: str, mapping: Mapping[str, Any]) -> ApplyTarget:
        kind = next(k for k in INPUT_KINDS if k in mapping)
        dataset, model = mapping["run"].split("/")
        threshold = float(mapping.get("threshold", DEFAULT_THRESHOLD)) if kind == "scan" else None
        return cls(
            name,
            dataset,
            model,
            kind,
            mapping[kind],
            mapping.get("genome"),
            mapping.get("stride"),
            threshold,
            mapping.get("known_sites"),
            int(mapping.get("top_variants", DEFAULT_TOP)) if kind == "vcf" else None,
            mapping.get("sequence_column"),
            mapping.get("id_column"),
        )


def targets_of(config: Mapping[str, Any], kind: str) -> list[str]:
    """The names of the targets whose input is ``kind``."""
    return [name for name, spec in config.get("apply", {}).items() if kind in spec]


def check_targets(config: dict[str, Any], base_dir: Path) -> None:
    """Check every ``apply:`` target (see the module contract)."""
    for name, spec in config.get("apply", {}).items():
        key = f"apply.{name}"
        _check_inputs(spec, key)
        _check_stride(spec, key)
        _check_aggregate(spec, key)
        _check_sequence_table(spec, key)
        if SLIDE_KIND in spec:
            _check_run(config, spec["run"], f"{key}.run", "image", SLIDE_MODEL_KINDS)
        elif TABLE_KIND in spec:
            _check_run(config, spec["run"], f"{key}.run", "table", TABLE_MODEL_KINDS)
        else:
            _check_run(config, spec["run"], f"{key}.run")
        for file_key in (*INPUT_KINDS, "genome", "known_sites"):
            if file_key in spec:
                require(
                    (base_dir / spec[file_key]).is_file(),
                    "config",
                    f"{key}.{file_key}",
                    f"file not found: {spec[file_key]}",
                )


def _check_inputs(spec: Mapping[str, Any], key: str) -> None:
    given = [kind for kind in INPUT_KINDS if kind in spec]
    require(
        len(given) == 1,
        "config",
        key,
        "give exactly one input: sequences (FASTA), regions (BED/narrowPeak), vcf, scan (BED) or "
        "slides (sheet of slides) or table (CSV/TSV); "
        f"found {given or 'none'}",
    )
    if given[0] in (SLIDE_KIND, TABLE_KIND):
        require(
            "genome" not in spec,
            "config",
            f"{key}.genome",
            f"cannot apply: {given[0]} inputs are not positions on a genome; remove genome",
        )
    elif given[0] in NEEDS_GENOME:
        require(
            "genome" in spec, "config", key, f"{given[0]} are positions on a genome: give genome (FASTA) too"
        )
    else:
        require(
            "genome" not in spec,
            "config",
            f"{key}.genome",
            "cannot apply to sequences, which are scored as they are; remove genome, or give regions "
            "(BED) to score windows of the genome",
        )


def _check_stride(spec: Mapping[str, Any], key: str) -> None:
    if "scan" in spec:
        require("stride" in spec, "config", key, "a scan needs stride: the bases between window centres")
    else:
        require(
            "stride" not in spec,
            "config",
            f"{key}.stride",
            "cannot apply: only a scan steps windows along the genome (give scan: a BED of regions)",
        )
        for only in SCAN_ONLY:
            require(
                only not in spec,
                "config",
                f"{key}.{only}",
                "cannot apply: only a scan has it (give scan: a BED of regions)",
            )
    if "vcf" not in spec:
        for only in VCF_ONLY:
            require(
                only not in spec,
                "config",
                f"{key}.{only}",
                "cannot apply: only variants (vcf) are ranked by effect",
            )


def _check_run(
    config: dict[str, Any], run: str, key: str, modality: str = "dna", kinds: tuple[str, ...] = APPLIED_KINDS
) -> None:
    """The run trains a model of ``kinds`` (or an ensemble of them) on a dataset of ``modality``."""
    dataset, model = run.split("/")
    datasets, models = config["datasets"], config["models"]
    require(dataset in datasets, "config", key, f"unknown dataset {dataset!r}; known: {', '.join(datasets)}")
    require(model in models, "config", key, f"unknown model {model!r}; known: {', '.join(models)}")
    found, kind = datasets[dataset]["modality"], models[model]["kind"]
    what = "apply scores DNA only" if modality == "dna" else f"this input is scored by {modality} runs"
    require(found == modality, "config", key, f"{dataset} is a {found} dataset; {what}")
    require(
        kind in kinds,
        "config",
        key,
        f"model {model!r} is a {kind}; apply runs {' or '.join(kinds)} networks (or ensembles of them)"
        + (" here" if modality != "dna" else ""),
    )
    require(
        "search" not in models[model],
        "config",
        key,
        f"model {model!r} is a search, whose chosen trial is known only after training; name a plain "
        "model or an ensemble",
    )
    if (dataset, model) not in runs(config):
        raise InputError("config", key, f"the workflow does not train {model!r} on {dataset!r} (see runs:)")


def _check_aggregate(spec: Mapping[str, Any], key: str) -> None:
    require(
        "aggregate" not in spec or SLIDE_KIND in spec,
        "config",
        f"{key}.aggregate",
        "cannot apply: only slides aggregate tile scores into slide scores (give slides: a sheet of slides)",
    )


def _check_sequence_table(spec: Mapping[str, Any], key: str) -> None:
    """``sequence_column`` and ``id_column`` go together, with ``sequences`` only; a ``sequences``
    file named as a table (``TABLE_SUFFIXES``) needs them."""
    columns = [column for column in SEQUENCE_TABLE_KEYS if column in spec]
    if "sequences" not in spec:
        require(
            not columns,
            "config",
            f"{key}.{columns[0] if columns else ''}",
            "cannot apply: only a table of sequences (sequences: a CSV/TSV) has id and sequence columns",
        )
        return
    table = str(spec["sequences"]).lower().endswith(TABLE_SUFFIXES)
    require(
        len(columns) == (len(SEQUENCE_TABLE_KEYS) if table else 0),
        "config",
        key,
        "a table of sequences (sequences: a .csv or .tsv file, optionally .gz) needs sequence_column "
        "and id_column, a FASTA neither; found "
        f"{spec['sequences']} with {columns or 'no columns'}",
    )
