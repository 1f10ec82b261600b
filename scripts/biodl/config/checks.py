"""Validation of the workflow configuration, once, before any job starts.

Contract: ``validate_config(config, schema_path, base_dir)`` checks the config against the JSON
schema (``biodl.config.schema``), fills in every default in place, then checks what a schema
cannot: exactly one input per DNA dataset, files exist, no written key that cannot apply to its
dataset (``biodl.config.applicable``), runs name known datasets and models that fit their
modality, each 1-D CNN's convolutions and pooling fit its dataset's sequence length
(``check_fits``) and each tile network's poolings fit its tile size (``check_pooling``),
an ``attention_mil`` run's sample sheet gives one label per group (no masks) and the model is
not an ensemble or search, ``init_from`` names a dataset and a network trained once, learning
curves name networks that rule ``train`` trains, ``apply`` targets name trained runs and
existing files (``biodl.config.targets``). Every problem raises ``InputError`` with one message
naming the offending key.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import yaml

from biodl.config.applicable import refuse_inapplicable
from biodl.config.models import ConvLayer, ConvLayers
from biodl.config.runs import INPUT_FILES, KIND_MODALITIES, MIL_KINDS, OWN_RULE_KINDS, fits, runs
from biodl.config.schema import SCHEMA, apply_schema
from biodl.config.settings import build
from biodl.config.targets import check_targets
from biodl.core.errors import InputError, require
from biodl.data.image.sample_sheet import read_sample_sheet, resolve_classes

INPUT_KINDS = ("genome", "sequences", "table")
# The kinds whose same-padded convolutions run on tiles: only their pooling shrinks them.
TILE_KINDS = ("cnn2d", "attention_mil", "conv2d_autoencoder")


# The JASPAR collections the workflow ships (resources/jaspar/), named by taxon group: a dataset's
# motif_database may name one instead of giving a path.
JASPAR_COLLECTIONS = ("vertebrates", "fungi", "insects", "plants", "nematodes", "urochordates")
JASPAR_FILE = "resources/jaspar/JASPAR2024_CORE_{}_non-redundant.meme"


def validate_config(
    config: dict[str, Any],
    schema_path: str | PathLike[str] = SCHEMA,
    base_dir: str | PathLike[str] = ".",
    workflow_dir: str | PathLike[str] | None = None,
) -> dict[str, Any]:
    """Validate ``config`` in place (defaults filled); raise InputError naming the key.

    Relative paths are relative to ``base_dir`` (the working directory); a shipped file
    (the JASPAR collections, see ``_resolve_shipped_files``) that is not there is taken from
    ``workflow_dir`` (the workflow's own folder).
    """
    given = copy.deepcopy(config)  # as written: refuse_inapplicable tells written keys from defaults
    apply_schema(config, yaml.safe_load(Path(schema_path).read_text()))
    _check_datasets(config, Path(base_dir))
    refuse_inapplicable(given, config)
    _check_mil_runs(config)
    _check_runs(config)
    _resolve_shipped_files(config, Path(base_dir), None if workflow_dir is None else Path(workflow_dir))
    _check_transfer(config)
    _check_transfer_cycles(config)
    _check_learning_curve(config)
    check_targets(config, Path(base_dir))
    return config


def _resolve_shipped_files(config: dict[str, Any], base_dir: Path, workflow_dir: Path | None) -> None:
    """The motif collections DNA interpretation reads, found (see ``validate_config``): a taxon
    group names a shipped JASPAR collection; a relative path that is not under ``base_dir`` is taken
    from the workflow's folder when the workflow ships it. Checked only where some run needs them."""
    if not config["interpretation"]["enabled"]:
        return
    interpreted = {dataset for dataset, model in runs(config) if config["models"][model]["kind"] == "cnn1d"}
    if not interpreted:
        return
    section = config["interpretation"]
    section["database"] = _shipped_file(
        section["database"], "interpretation.database", base_dir, workflow_dir
    )
    for name in interpreted:
        spec = config["datasets"][name]
        if spec.get("motif_database"):
            key = f"datasets.{name}.motif_database"
            spec["motif_database"] = _shipped_file(spec["motif_database"], key, base_dir, workflow_dir)


def _shipped_file(value: str, key: str, base_dir: Path, workflow_dir: Path | None) -> str:
    path = Path(JASPAR_FILE.format(value) if value in JASPAR_COLLECTIONS else value)
    if not path.is_absolute() and not (base_dir / path).exists() and workflow_dir is not None:
        if (workflow_dir / path).is_file():
            return str(workflow_dir / path)
    require(
        (base_dir / path).is_file(),
        "config",
        key,
        f"file not found: {path} (relative paths are relative to the working directory"
        + (f" or, for the files the workflow ships, to {workflow_dir}" if workflow_dir else "")
        + f"; or name a shipped JASPAR collection: {', '.join(JASPAR_COLLECTIONS)})",
    )
    return str(path)


def _check_datasets(config: dict[str, Any], base_dir: Path) -> None:
    for name, spec in config["datasets"].items():
        key = f"datasets.{name}"
        DATASET_CHECKS[spec["modality"]](spec, key)
        for file_key, path in INPUT_FILES[spec["modality"]](spec):
            if not (base_dir / path).is_file():
                raise InputError("config", f"{key}.{file_key}", f"file not found: {path}")


def _check_dna(spec: dict[str, Any], key: str) -> None:
    given = [kind for kind in INPUT_KINDS if kind in spec]
    if len(given) != 1:
        raise InputError(
            "config",
            key,
            f"give exactly one input: genome (with regions), sequences or table; found {given or 'none'}",
        )
    on_genome = [kind for kind in ("regions", "tasks", "tracks") if kind in spec]
    if ("genome" in spec) != bool(on_genome) or len(on_genome) > 1:
        raise InputError(
            "config",
            key,
            "genome and regions go together, or genome and tasks, or genome and tracks: regions (one "
            "class per file) or tasks (one label per file) are intervals on the genome, tracks give "
            "regression targets over it; give the genome and one of the three, "
            f"found {['genome'] if 'genome' in spec else []} with {on_genome or 'none'}",
        )
    if "tasks" in spec:
        _check_tasks(spec, key)
    if "tracks" in spec:
        _check_tracks(spec, key)
    if "genome" in spec and not (spec["split"]["validation"] and spec["split"]["test"]):
        raise InputError(
            "config",
            f"{key}.split",
            "genome input holds out whole chromosomes or regions: set split.validation and split.test",
        )
    holdouts = spec["split"]["validation"], spec["split"]["test"]
    if "table" in spec:
        _check_sequence_table(spec["table"], f"{key}.table")
        if "group_column" in spec["table"] and any(holdouts):
            raise InputError(
                "config",
                f"{key}.table.group_column",
                "does not apply with split.validation and split.test: groups are drawn whole by a "
                "random split, hold-outs split by chromosome; give one of the two",
            )
    located = "sequences" in spec or "location" in spec.get("table", {})
    if located and any(holdouts) and not all(holdouts):
        raise InputError(
            "config",
            f"{key}.split",
            "sequence files and tables with table.location are held out by the chromosomes of "
            "their sequences when both split.validation and split.test are set; set both, or "
            "neither for a random split",
        )
    if "classes" in spec and spec.get("table", {}).get("task") == "regression":
        raise InputError(
            "config", f"{key}.classes", "classes order the class names of a classification, not regression"
        )
    if spec["negatives"]["method"] == "shuffle" and spec["negatives"]["ratio"] != int(
        spec["negatives"]["ratio"]
    ):
        raise InputError(
            "config",
            f"{key}.negatives.ratio",
            f"shuffle makes a whole number of shuffles per sequence, found {spec['negatives']['ratio']}",
        )


def _check_sequence_table(table: dict[str, Any], key: str) -> None:
    """A DNA table's location is one ``chrom:start-end`` column or three columns; every column
    has one role."""
    location = table.get("location", {})
    three = [part for part in ("chrom", "start", "end") if part in location]
    if (location and ("column" in location) == bool(three)) or 0 < len(three) < 3:
        raise InputError(
            "config",
            f"{key}.location",
            "give column (one column of chrom:start-end) or chrom, start and end (three columns), "
            f"found {sorted(location)}",
        )
    roles = [
        table["sequence_column"],
        *table["label_columns"],
        *location.values(),
        *([table["group_column"]] if "group_column" in table else []),
    ]
    if len(set(roles)) < len(roles):
        raise InputError(
            "config", key, f"sequence, label, location and group columns must differ, found {roles}"
        )


def _check_tasks(spec: dict[str, Any], key: str) -> None:
    """A multi-label dataset has no class order and no negatives class: each task is a label."""
    if "classes" in spec:
        raise InputError(
            "config", f"{key}.classes", "tasks are labels of their own, in config order; remove classes"
        )
    if spec["negatives"]["method"] == "shuffle":
        raise InputError(
            "config",
            f"{key}.negatives.method",
            "tasks take gc_matched background windows (labelled by overlap like every window) or none; "
            "a shuffled sequence has no place on the genome to label",
        )
    windows = spec["windows"]
    if (
        spec["negatives"]["method"] == "gc_matched"
        and windows["stride"] is not None
        and windows["regions"] is None
    ):
        raise InputError(
            "config",
            f"{key}.negatives.method",
            "bins tiled over the whole genome (windows.stride without windows.regions) are the background "
            "already; set negatives.method: none, or tile bins inside windows.regions",
        )


def _check_tracks(spec: dict[str, Any], key: str) -> None:
    """A coverage dataset: windows from regions or tiled bins (over the genome or the regions), no classes."""
    windows = spec["windows"]
    if windows["regions"] is None and windows["stride"] is None:
        raise InputError(
            "config",
            f"{key}.windows",
            "tracks need windows: give windows.regions (windows centred on regions), windows.stride "
            "(bins tiled over the genome) or both (bins tiled inside the regions)",
        )
    if "classes" in spec:
        raise InputError(
            "config", f"{key}.classes", "classes order the class names of a classification, not regression"
        )
    if spec["negatives"]["method"] != "none":
        raise InputError(
            "config",
            f"{key}.negatives.method",
            "tracks give every window a value (regression): there is no negative class; "
            "tile bins over the genome (windows.stride) to include background",
        )


def _check_table(spec: dict[str, Any], key: str) -> None:
    task, labels = spec["task"], spec["label_columns"]
    if task in ("binary", "multiclass") and len(labels) != 1:
        raise InputError(
            "config", f"{key}.label_columns", f"a {task} task takes one column of class names, found {labels}"
        )
    if "classes" in spec and task not in ("binary", "multiclass"):
        raise InputError(
            "config",
            f"{key}.classes",
            f"classes order the class names of a binary or multiclass task, not {task}",
        )
    if task == "binary" and len(spec.get("classes", [None, None])) != 2:
        raise InputError(
            "config", f"{key}.classes", f"a binary task has two classes, found {spec['classes']}"
        )
    roles = [c for c in (spec.get("group_column"), spec.get("id_column")) if c]
    if set(roles) & set(labels) or len(set(roles)) < len(roles):
        raise InputError(
            "config", key, f"label, group and id columns must differ, found {labels} and {roles}"
        )


def _check_image(spec: dict[str, Any], key: str) -> None:
    tiles, fractions = spec["tile"], spec["split"]
    if tiles["level"] is not None and tiles["mpp"] is not None:
        raise InputError("config", f"{key}.tile", "give tile.level or tile.mpp, not both")
    if fractions["validation_fraction"] + fractions["test_fraction"] >= 1:
        raise InputError(
            "config", f"{key}.split", "validation_fraction + test_fraction must leave groups for training"
        )
    low, high = spec["intensity_percentiles"]
    if low >= high:
        raise InputError(
            "config",
            f"{key}.intensity_percentiles",
            f"expected [low, high] with low < high, found {[low, high]}",
        )
    if Path(spec["sample_sheet"]).is_file():  # a missing sheet is reported with the other input files
        resolve_classes(spec.get("classes"), read_sample_sheet(spec["sample_sheet"]), key)


# Per modality: the checks a schema cannot express, and the user's files (config key, path).
DATASET_CHECKS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "dna": _check_dna,
    "table": _check_table,
    "image": _check_image,
}


def _check_mil_runs(config: dict[str, Any]) -> None:
    """Attention MIL is trained once per run: no ensemble or search of it (the schema has no such
    keys for the autoencoders); an attention_mil run takes an image dataset whose sample sheet
    gives one label per image and the same label to every image of a group (a bag)."""
    for model, settings in config["models"].items():
        if settings["kind"] not in MIL_KINDS:
            continue
        for key in ("ensemble", "search"):
            require(
                key not in settings,
                "config",
                f"models.{model}.{key}",
                f"{settings['kind']} models are trained once per run; remove {key}",
            )
    for dataset, model in runs(config):
        spec = config["datasets"].get(dataset)
        if spec is None or config["models"].get(model, {}).get("kind") not in MIL_KINDS:
            continue  # unknown names: reported by _check_runs
        if spec["modality"] == "image" and Path(spec["sample_sheet"]).is_file():
            _check_bag_labels(dataset, spec["sample_sheet"], model)


def _check_bag_labels(dataset: str, sheet_path: str, model: str) -> None:
    """One label per bag: a label column (not masks), the same label for every image of a group."""
    sheet = read_sample_sheet(sheet_path)
    require(
        sheet.labels_from == "label",
        "config",
        f"runs.{dataset}",
        f"model {model!r} is an attention_mil, which learns one label per bag; the sample sheet "
        f"{sheet_path} gives masks: give a label column (one class per image)",
    )
    labels: dict[str, str] = {}
    for row in sheet.rows:
        first = labels.setdefault(row.group, str(row.label))
        if first != row.label:
            raise InputError(
                sheet_path,
                row.where,
                f"group {row.group} has the labels {first!r} and {row.label!r}; model {model!r} "
                f"(attention_mil, runs.{dataset}) needs one label per group",
            )


def _check_runs(config: dict[str, Any]) -> None:
    for dataset, models in config.get("runs", {}).items():
        if dataset not in config["datasets"]:
            raise InputError(
                "config", f"runs.{dataset}", f"unknown dataset; known: {', '.join(config['datasets'])}"
            )
        for model in models:
            if model not in config["models"]:
                raise InputError(
                    "config",
                    f"runs.{dataset}",
                    f"unknown model {model!r}; known: {', '.join(config['models'])}",
                )
            if not fits(config, dataset, model):
                kind, modality = config["models"][model]["kind"], config["datasets"][dataset]["modality"]
                raise InputError(
                    "config",
                    f"runs.{dataset}",
                    f"model {model!r} is a {kind}, which takes "
                    f"{' or '.join(KIND_MODALITIES[kind])} datasets; {dataset} is a {modality} dataset",
                )
    for dataset, model in runs(config):
        spec, settings = config["datasets"][dataset], config["models"][model]
        try:
            if settings["kind"] == "cnn1d":
                check_fits(model, build(ConvLayers, settings).conv_layers, spec["length"])
            elif settings["kind"] in TILE_KINDS:
                check_pooling(model, build(ConvLayers, settings).conv_layers, spec["tile"]["size"])
        except InputError as error:
            size = (
                f"sequences are {spec['length']} bases long"
                if spec["modality"] == "dna"
                else f"tiles are {spec['tile']['size']} pixels wide"
            )
            raise InputError("config", f"runs.{dataset}", f"{error} (the {dataset} {size})") from None
    if not runs(config):
        raise InputError(
            "config",
            "runs",
            "no model fits any dataset; check the model kinds against the dataset modalities",
        )


def check_fits(model_name: str, conv_layers: Sequence[ConvLayer], length: int) -> None:
    """Raise InputError unless every convolution and pooling keeps at least one position."""
    source = f"model {model_name}"
    for i, layer in enumerate(conv_layers):
        where = f"conv_layers[{i}]"
        kernel, pool = layer.kernel_size, layer.pool_size
        require(
            kernel <= length,
            source,
            where,
            f"kernel_size {kernel} is wider than the {length} positions reaching this layer; "
            f"expected kernel_size <= {length}",
        )
        length = length - kernel + 1
        require(
            pool <= length,
            source,
            where,
            f"pool_size {pool} exceeds the {length} positions left after the convolution; "
            f"expected pool_size <= {length}",
        )
        length //= pool


def check_pooling(model_name: str, conv_layers: Sequence[ConvLayer], side: int) -> None:
    """Raise InputError unless every pooling of same-padded (tile) convolutions keeps a pixel."""
    for i, layer in enumerate(conv_layers):
        require(
            layer.pool_size <= side,
            f"model {model_name}",
            f"conv_layers[{i}]",
            f"pool_size {layer.pool_size} exceeds the {side} pixels reaching this layer; "
            f"expected pool_size <= {side}",
        )
        side //= layer.pool_size


def _check_transfer(config: dict[str, Any]) -> None:
    """``init_from`` names a dataset and a plainly trained network model of this config (a
    baseline has no Keras weights; an ensemble or search has no model file of its own)."""
    for name, spec in config["models"].items():
        source = spec.get("init_from")
        if not source:
            continue
        where = f"models.{name}.init_from"
        for key, known in (("dataset", config["datasets"]), ("model", config["models"])):
            require(
                source[key] in known,
                "config",
                f"{where}.{key}",
                f"unknown {key} {source[key]!r}; known: {', '.join(known)}",
            )
        origin = config["models"][source["model"]]
        refused = (
            "a baseline"
            if origin["kind"] == "baseline"
            else "an ensemble"
            if "ensemble" in origin
            else "a search"
            if "search" in origin
            else None
        )
        require(
            refused is None,
            "config",
            f"{where}.model",
            f"{source['model']!r} is {refused}; "
            "expected a network model trained once (not a baseline, ensemble or search)",
        )


def _check_learning_curve(config: dict[str, Any]) -> None:
    """``learning_curve.models`` names network models trained once: a baseline has no epochs to
    retrain, an ensemble or search has several models per run."""
    for i, name in enumerate(config["learning_curve"]["models"]):
        where = f"learning_curve.models[{i}]"
        require(
            name in config["models"],
            "config",
            where,
            f"unknown model {name!r}; known: {', '.join(config['models'])}",
        )
        spec = config["models"][name]
        refused = next(
            (what for what, hit in LEARNING_CURVE_REFUSED.items() if hit(spec)),
            None,
        )
        require(
            refused is None,
            "config",
            where,
            f"{name!r} is {refused}; a learning curve retrains a network model trained once",
        )


LEARNING_CURVE_REFUSED = {
    "a baseline": lambda spec: spec["kind"] == "baseline",
    f"a model with a training rule of its own ({', '.join(OWN_RULE_KINDS)})": lambda spec: (
        spec["kind"] in OWN_RULE_KINDS
    ),
    "an ensemble": lambda spec: "ensemble" in spec,
    "a search": lambda spec: "search" in spec,
}


def _check_transfer_cycles(config: dict[str, Any]) -> None:
    """No model starts from its own weights, directly or through others: every run of it would
    wait for another run of it (Snakemake reports a cyclic dependency, naming no key)."""
    for name in config["models"]:
        chain, model = [name], config["models"][name].get("init_from")
        while model:
            chain.append(model["model"])
            if model["model"] == name:
                raise InputError(
                    "config",
                    f"models.{name}.init_from",
                    f"starts {name} from its own weights ({' <- '.join(chain)}); expected a chain of "
                    "init_from that ends in a model trained from scratch",
                )
            if chain.count(model["model"]) > 1:  # a cycle further on, reported at its own models
                break
            model = config["models"][model["model"]].get("init_from")
