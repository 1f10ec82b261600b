"""Dataset settings that cannot apply to a dataset's input are refused, never silently ignored.

Contract: ``refuse_inapplicable(given, config)`` checks every dataset key the user wrote
(``given``: the configuration as written, before the schema filled in defaults) against
``RULES``: a key whose rule says it cannot apply to that dataset (validated, ``config``) raises
``InputError("config", "datasets.<name>.<key>", ...)`` with the reason and what to do instead.
A default never counts as written, nor does a key written with its default value (it changes
nothing, and so validating a validated configuration again passes). Each rule is a dotted key
under a dataset, a test on the validated dataset settings and the reason; the tests are small
named functions, so a new input kind changes one of them (e.g. hold-outs for sequences whose
headers carry coordinates). The sample sheet of an image dataset is read for its columns (it
exists: ``biodl.config.checks`` looks for missing files first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from biodl.config.schema import load_schema
from biodl.core.errors import InputError
from biodl.data.image.sample_sheet import read_sample_sheet

Spec = Mapping[str, Any]
NIFTI_SUFFIXES = (".nii", ".nii.gz")


@dataclass(frozen=True)
class Rule:
    modality: str
    key: str  # dotted, under datasets.<name>
    applies: Callable[[Spec], bool]
    reason: str


def _has_genome(spec: Spec) -> bool:
    return "genome" in spec


def _holds_out_by_location(spec: Spec) -> bool:
    """Whether hold-outs by chromosome or region can place the examples: genome input, sequence
    files whose record names give locations (checked when they are read), or a table with
    location columns (``table.location``)."""
    return _has_genome(spec) or "sequences" in spec or "location" in spec.get("table", {})


def _split_at_random(spec: Spec) -> bool:
    """Whether fractions are drawn: sequence files without hold-outs, and tables."""
    return not _has_genome(spec) and not (spec["split"]["validation"] or spec["split"]["test"])


def _has_tasks(spec: Spec) -> bool:
    return "tasks" in spec


def _has_tracks(spec: Spec) -> bool:
    return "tracks" in spec


def _has_tracks_or_tasks(spec: Spec) -> bool:
    return _has_tracks(spec) or _has_tasks(spec)


def _windows_given(spec: Spec) -> bool:
    """Whether the ``windows`` block places the examples (regions or bins)."""
    return spec["windows"]["regions"] is not None or spec["windows"]["stride"] is not None


def _windows_on_regions(spec: Spec) -> bool:
    """One window anchored on each region of ``windows.regions`` (no bins)."""
    return spec["windows"]["regions"] is not None and spec["windows"]["stride"] is None


def _generates_negatives(spec: Spec) -> bool:
    return spec["negatives"]["method"] != "none"


def _matches_gc(spec: Spec) -> bool:
    return spec["negatives"]["method"] == "gc_matched"


def _single_label_table(spec: Spec) -> bool:
    """DNA tables of one class column (not regression, not several 0/1 columns) take negatives."""
    table = spec.get("table")
    return table is None or (table["task"] == "classification" and len(table["label_columns"]) == 1)


def _mask_sheet(spec: Spec) -> bool:
    return read_sample_sheet(spec["sample_sheet"]).labels_from == "mask"


def _sheet_without_splits(spec: Spec) -> bool:
    return any(row.split is None for row in read_sample_sheet(spec["sample_sheet"]).rows)


def _lists_volumes(spec: Spec) -> bool:
    return any(
        str(row.image).lower().endswith(NIFTI_SUFFIXES)
        for row in read_sample_sheet(spec["sample_sheet"]).rows
    )


HOLD_OUTS = (
    "whole chromosomes or regions are held out of genome input (genome with regions or tasks), "
    "of sequence files whose record names give chrom:start-end and of tables that say where "
    "each sequence lies (table.location); give table.location, or split at random: set "
    "split.validation_fraction and split.test_fraction (table.group_column keeps groups whole)"
)
FRACTIONS = (
    "genome input (and sequence files or located tables given split.validation and split.test) "
    "holds out whole chromosomes or regions, so no fraction is drawn at random"
)
GC_MATCHED = "applies to GC-matched negatives drawn from the genome (negatives.method: gc_matched)"
WINDOWS = "windows place the examples of tracks or tasks (genome with tracks or tasks)"
NEGATIVES = "applies to generated negatives; negatives.method is none"

RULES = (
    Rule("dna", "split.validation", _holds_out_by_location, HOLD_OUTS),
    Rule("dna", "split.test", _holds_out_by_location, HOLD_OUTS),
    Rule("dna", "split.validation_fraction", _split_at_random, FRACTIONS),
    Rule("dna", "split.test_fraction", _split_at_random, FRACTIONS),
    Rule(
        "dna",
        "anchor",
        _has_genome,
        "windows are anchored on regions of a genome; whole sequences are centre-cropped or padded",
    ),
    Rule(
        "dna",
        "negatives.method",
        lambda spec: not _matches_gc(spec) or _has_genome(spec),
        "gc_matched draws negatives from a genome; sequence files and tables take method: shuffle",
    ),
    Rule(
        "dna",
        "negatives.method",
        lambda spec: not _generates_negatives(spec) or _single_label_table(spec),
        "negatives get a class of their own; a regression or multi-label table has no class for them",
    ),
    Rule(
        "dna",
        "anchor",
        lambda spec: not _has_tasks(spec) or _windows_on_regions(spec),
        "windows of tasks are centred on the merged regions of all tasks (overlap.merge_distance), "
        "or given by the windows block",
    ),
    *(
        Rule("dna", f"overlap.{key}", _has_tasks, "overlap labels the windows of tasks (genome with tasks)")
        for key in ("measure", "min_fraction", "ambiguous", "merge_distance")
    ),
    Rule(
        "dna",
        "overlap.merge_distance",
        lambda spec: not _has_tasks(spec) or not _windows_given(spec),
        "merges the regions of all tasks into windows; the windows block (windows.regions, "
        "windows.stride) places the windows instead",
    ),
    *(
        Rule("dna", f"windows.{key}", _has_tracks_or_tasks, WINDOWS)
        for key in ("regions", "stride", "max_ambiguous")
    ),
    Rule(
        "dna",
        "windows.max_ambiguous",
        lambda spec: not _has_tracks_or_tasks(spec) or spec["windows"]["stride"] is not None,
        "leaves out tiled bins with many N bases (windows.stride); windows centred on regions are all kept",
    ),
    Rule(
        "dna",
        "anchor",
        lambda spec: not _has_tracks(spec) or _windows_on_regions(spec),
        "anchors windows on regions (windows.regions); tiled bins (windows.stride) start every stride bases",
    ),
    Rule(
        "dna",
        "edge",
        lambda spec: not _has_tracks_or_tasks(spec) or spec["windows"]["stride"] is None,
        "tiled bins (windows.stride) end inside their chromosome or region: none runs past an end",
    ),
    Rule("dna", "negatives.ratio", _generates_negatives, NEGATIVES),
    Rule("dna", "negatives.label", _generates_negatives, NEGATIVES),
    *(Rule("dna", f"negatives.{key}", _matches_gc, GC_MATCHED) for key in ("blacklist", "gc_bins", "stride")),
    Rule("dna", "negatives.max_ambiguous", _matches_gc, GC_MATCHED),
    *(
        Rule(
            "image",
            f"labels.{key}",
            _mask_sheet,
            "labels come from masks only in a sample sheet with a mask column",
        )
        for key in ("min_coverage", "min_labelled", "mask_downsample")
    ),
    *(
        Rule(
            "image",
            f"split.{key}",
            _sheet_without_splits,
            "the sample sheet's split column places every row; fractions draw groups only without it",
        )
        for key in ("validation_fraction", "test_fraction")
    ),
    Rule("image", "nifti_axis", _lists_volumes, "the sample sheet lists no NIfTI volume (.nii, .nii.gz)"),
)


def refuse_inapplicable(given: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    """Raise InputError for the first written dataset key that cannot apply (see the contract)."""
    for name, written in (given.get("datasets") or {}).items():
        spec = config["datasets"][name]
        for rule in RULES:
            if (
                rule.modality == spec["modality"]
                and _written(written, rule.key)
                and not rule.applies(spec)
                and _value(spec, rule.key) != _default(rule)
            ):
                raise InputError(
                    "config",
                    f"datasets.{name}.{rule.key}",
                    f"does not apply to this dataset: {rule.reason}; remove the key",
                )


def _value(spec: Spec, dotted: str) -> Any:
    node: Any = spec
    for key in dotted.split("."):
        node = node[key]
    return node


def _default(rule: Rule) -> Any:
    """The schema's default of the rule's key (a key set to it changes nothing, and validating
    a validated config again, where every default is written, passes)."""
    node: Any = load_schema()["$defs"][f"{rule.modality}_dataset"]
    for key in rule.key.split("."):
        node = node.get("properties", {}).get(key, {})
    return node.get("default", _NO_DEFAULT)


_NO_DEFAULT = object()


def _written(spec: Any, dotted: str) -> bool:
    """Whether the user wrote ``dotted`` (``split.validation``) in a dataset's settings."""
    node = spec
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    return True
