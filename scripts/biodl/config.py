"""Validation of the workflow configuration, before any job starts.

Contract: ``validate_config(config, schema_path, base_dir)`` checks the config against the
JSON schema (YAML) in ``workflow/schemas/``, fills in every default in place, checks what a
schema cannot (exactly one input per dataset, files exist, runs name known datasets and
models, each 1-D CNN's convolutions and pooling fit its dataset's sequence length:
``check_fits``, ``init_from`` names a dataset and a network trained once) and raises ``InputError`` with one message naming the offending key, e.g.
``config, datasets.ctcf.length: expected integer, found 'long'``.
``validate_model(name, model_config)`` does the same for one model's settings against the
schema's model definition, so library code called outside the workflow (training, tests)
fills the same defaults and gives the same messages.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterator
from os import PathLike
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from biodl.samplesheet import read_sample_sheet, resolve_classes
from biodl.validate import InputError, require

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
INPUT_KINDS = ("genome", "sequences", "table")
JSON_TYPES = {"integer": "an integer", "number": "a number", "string": "a string", "boolean": "true or false",
              "object": "a mapping", "array": "a list", "null": "null"}


def _with_defaults(validator_class: type) -> type:
    """A validator class that writes schema defaults into the instance while validating."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: dict, instance: Any, schema: dict) -> Iterator[Any]:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = _copy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _copy(value: Any) -> Any:
    return yaml.safe_load(yaml.safe_dump(value))


def _key(path: Any) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[") or "(top level)"


def _message(error: jsonschema.ValidationError, prefix: tuple[str, ...]) -> tuple[str, str]:
    """Turn a schema error into (key, what was expected)."""
    key = _key((*prefix, *error.absolute_path))
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hints = [f"{e!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(e, allowed, 1)) else repr(e)
                 for e in extra]
        return key, f"unknown key {', '.join(hints)}; allowed keys: {', '.join(allowed)}"
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return key, f"expected {' or '.join(JSON_TYPES[t] for t in expected)}, found {error.instance!r}"
    if error.validator == "enum":
        return key, f"expected one of {', '.join(map(str, error.validator_value))}, found {error.instance!r}"
    if error.validator == "required":
        return key, error.message.replace("is a required property", "is required but missing")
    if error.validator == "pattern" and "description" in error.schema:
        return key, f"{error.instance!r} is not allowed: {' '.join(error.schema['description'].split())}"
    return key, f"{error.message}"


def _validate(instance: Any, schema: dict[str, Any], prefix: tuple[str, ...] = ()) -> None:
    """Validate ``instance`` in place (defaults filled); raise InputError naming the key."""
    validator = _with_defaults(jsonschema.validators.validator_for(schema))(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        key, problem = _message(error, prefix)
        raise InputError("config", key, problem)


def validate_config(config: dict[str, Any], schema_path: str | PathLike[str] = SCHEMA,
                    base_dir: str | PathLike[str] = ".") -> dict[str, Any]:
    """Validate ``config`` in place (defaults filled); raise InputError naming the key."""
    _validate(config, yaml.safe_load(Path(schema_path).read_text()))
    _check_datasets(config, Path(base_dir))
    _check_runs(config)
    _check_transfer(config)
    return config


def validate_model(model_name: str, model_config: dict[str, Any]) -> dict[str, Any]:
    """A checked copy of one model's settings, defaults filled, as under ``models.<name>``."""
    resolved = _copy(model_config)
    _validate(resolved, {"$defs": _model_definitions(), "$ref": "#/$defs/model"}, ("models", model_name))
    return resolved


@functools.cache
def _model_definitions() -> dict[str, Any]:
    """The schema's definitions, parsed once per process: a search checks every trial's settings."""
    return yaml.safe_load(SCHEMA.read_text())["$defs"]


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
        raise InputError("config", key, f"give exactly one input: genome (with regions), sequences or table; found {given or 'none'}")
    if ("genome" in spec) != ("regions" in spec):
        raise InputError("config", key, "genome and regions go together: regions are intervals on the genome")
    if "genome" in spec and not (spec["split"]["validation"] and spec["split"]["test"]):
        raise InputError("config", f"{key}.split", "genome input holds out whole chromosomes or regions: set split.validation and split.test")
    if spec["negatives"]["method"] == "shuffle" and spec["negatives"]["ratio"] != int(spec["negatives"]["ratio"]):
        raise InputError("config", f"{key}.negatives.ratio", f"shuffle makes a whole number of shuffles per sequence, found {spec['negatives']['ratio']}")


def _dna_input_files(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if "genome" in spec:
        yield "genome", spec["genome"]
    for group in ("regions", "sequences"):
        for label, path in spec.get(group, {}).items():
            yield f"{group}.{label}", path
    if "table" in spec:
        yield "table.path", spec["table"]["path"]
    if spec["negatives"]["blacklist"]:
        yield "negatives.blacklist", spec["negatives"]["blacklist"]


def _check_table(spec: dict[str, Any], key: str) -> None:
    task, labels = spec["task"], spec["label_columns"]
    if task in ("binary", "multiclass") and len(labels) != 1:
        raise InputError("config", f"{key}.label_columns", f"a {task} task takes one column of class names, found {labels}")
    if "classes" in spec and task not in ("binary", "multiclass"):
        raise InputError("config", f"{key}.classes", f"classes order the class names of a binary or multiclass task, not {task}")
    if task == "binary" and len(spec.get("classes", [None, None])) != 2:
        raise InputError("config", f"{key}.classes", f"a binary task has two classes, found {spec['classes']}")
    roles = [c for c in (spec.get("group_column"), spec.get("id_column")) if c]
    if set(roles) & set(labels) or len(set(roles)) < len(roles):
        raise InputError("config", key, f"label, group and id columns must differ, found {labels} and {roles}")


def _table_input_files(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield "path", spec["path"]


def _check_image(spec: dict[str, Any], key: str) -> None:
    tiles, fractions = spec["tile"], spec["split"]
    if tiles["level"] is not None and tiles["mpp"] is not None:
        raise InputError("config", f"{key}.tile", "give tile.level or tile.mpp, not both")
    if fractions["validation_fraction"] + fractions["test_fraction"] >= 1:
        raise InputError("config", f"{key}.split", "validation_fraction + test_fraction must leave groups for training")
    low, high = spec["intensity_percentiles"]
    if low >= high:
        raise InputError("config", f"{key}.intensity_percentiles", f"expected [low, high] with low < high, found {[low, high]}")
    if Path(spec["sample_sheet"]).is_file():  # a missing sheet is reported with the other input files
        resolve_classes(spec.get("classes"), read_sample_sheet(spec["sample_sheet"]), key)


def _image_input_files(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The sample sheet, then every image and mask it lists (relative to the sheet's folder)."""
    yield "sample_sheet", spec["sample_sheet"]
    if Path(spec["sample_sheet"]).is_file():
        for where, path in read_sample_sheet(spec["sample_sheet"]).files():
            yield f"sample_sheet ({where})", str(path)


# The data each model kind takes.
KIND_MODALITIES = {"cnn1d": ("dna",), "cnn2d": ("image",), "mlp": ("table",), "baseline": ("dna", "table")}

# Per modality: the checks a schema cannot express, and the user's files (config key, path).
DATASET_CHECKS: dict[str, Callable[[dict[str, Any], str], None]] = {"dna": _check_dna, "table": _check_table,
                                                                   "image": _check_image}
INPUT_FILES: dict[str, Callable[[dict[str, Any]], Iterator[tuple[str, str]]]] = {"dna": _dna_input_files, "table": _table_input_files,
                                                                                 "image": _image_input_files}


def _check_runs(config: dict[str, Any]) -> None:
    for dataset, models in config.get("runs", {}).items():
        if dataset not in config["datasets"]:
            raise InputError("config", f"runs.{dataset}", f"unknown dataset; known: {', '.join(config['datasets'])}")
        for model in models:
            if model not in config["models"]:
                raise InputError("config", f"runs.{dataset}", f"unknown model {model!r}; known: {', '.join(config['models'])}")
            if not _fits(config, dataset, model):
                kind, modality = config["models"][model]["kind"], config["datasets"][dataset]["modality"]
                raise InputError("config", f"runs.{dataset}", f"model {model!r} is a {kind}, which takes "
                                 f"{' or '.join(KIND_MODALITIES[kind])} datasets; {dataset} is a {modality} dataset")
    for dataset, model in runs(config):
        spec, settings = config["datasets"][dataset], config["models"][model]
        if settings["kind"] == "cnn1d":
            try:
                check_fits(model, settings["conv_layers"], spec["length"])
            except InputError as error:
                raise InputError("config", f"runs.{dataset}", f"{error} (the {dataset} sequences are {spec['length']} bases long)") from None
    if not runs(config):
        raise InputError("config", "runs", "no model fits any dataset; check the model kinds against the dataset modalities")


def check_fits(model_name: str, conv_layers: list[dict[str, Any]], length: int) -> None:
    """Raise InputError unless every convolution and pooling keeps at least one position."""
    source = f"model {model_name}"
    for i, layer in enumerate(conv_layers):
        where = f"conv_layers[{i}]"
        kernel, pool = layer["kernel_size"], layer["pool_size"]
        require(
            kernel <= length,
            source,
            where,
            f"kernel_size {kernel} is wider than the {length} positions reaching this layer; expected kernel_size <= {length}",
        )
        length = length - kernel + 1
        require(
            pool <= length,
            source,
            where,
            f"pool_size {pool} exceeds the {length} positions left after the convolution; expected pool_size <= {length}",
        )
        length //= pool


def _check_transfer(config: dict[str, Any]) -> None:
    """``init_from`` names a dataset and a plainly trained network model of this config (a
    baseline has no Keras weights; an ensemble or search has no model file of its own)."""
    for name, spec in config["models"].items():
        source = spec.get("init_from")
        if not source:
            continue
        where = f"models.{name}.init_from"
        for key, known in (("dataset", config["datasets"]), ("model", config["models"])):
            require(source[key] in known, "config", f"{where}.{key}", f"unknown {key} {source[key]!r}; known: {', '.join(known)}")
        origin = config["models"][source["model"]]
        refused = ("a baseline" if origin["kind"] == "baseline" else "an ensemble" if "ensemble" in origin
                   else "a search" if "search" in origin else None)
        require(refused is None, "config", f"{where}.model",
                f"{source['model']!r} is {refused}; expected a network model trained once (not a baseline, ensemble or search)")


def _fits(config: dict[str, Any], dataset: str, model: str) -> bool:
    return config["datasets"][dataset]["modality"] in KIND_MODALITIES[config["models"][model]["kind"]]


def input_files(config: dict[str, Any], dataset: str) -> list[str]:
    """The user files a dataset is prepared from (for Snakemake's input lists)."""
    spec = config["datasets"][dataset]
    return [path for _, path in INPUT_FILES[spec["modality"]](spec)]


def is_regression(spec: dict[str, Any]) -> bool:
    """Whether a dataset's labels are numbers to predict (known from the config alone)."""
    return spec.get("task", spec.get("table", {}).get("task")) == "regression"


def datasets_of(config: dict[str, Any], modality: str) -> list[str]:
    """Names of the configured datasets of one modality, in config order."""
    return [name for name, spec in config["datasets"].items() if spec["modality"] == modality]


def runs(config: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (dataset, model) pair to train, in config order; by default each model on every dataset it fits."""
    chosen = config.get("runs") or {dataset: [m for m in config["models"] if _fits(config, dataset, m)] for dataset in config["datasets"]}
    return [(dataset, model) for dataset, models in chosen.items() for model in models]
