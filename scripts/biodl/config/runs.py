"""What a validated configuration asks for: the runs, the datasets of a modality, the user's files.

Contract (``config`` has passed ``biodl.config.checks.validate_config``):
- ``runs(config)``: every (dataset, model) pair to train, in config order; without ``runs:``,
  every model on every dataset it fits (``fits``, by ``KIND_MODALITIES``).
- ``input_files(config, dataset)``: the user files a dataset is prepared from (for Snakemake's
  input lists and the existence check); ``INPUT_FILES`` lists them with their config keys.
- ``datasets_of(config, modality)``, ``is_regression(spec)``: for the rules' wildcard patterns.
- ``MIL_KINDS``, ``AUTOENCODER_KINDS`` (``OWN_RULE_KINDS``): the kinds trained by rules of their
  own (``train_mil``, ``pretrain``) rather than rule ``train``; ``IMAGE_AUTOENCODER_KINDS``: the
  autoencoders whose reconstructions are drawn (rule ``reconstructions``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from biodl.data.image.sample_sheet import read_sample_sheet


def _dna_input_files(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if "genome" in spec:
        yield "genome", spec["genome"]
    for group in ("regions", "tasks", "sequences"):
        for label, path in spec.get(group, {}).items():
            yield f"{group}.{label}", path
    for name, track in spec.get("tracks", {}).items():
        yield f"tracks.{name}.path", track["path"]
    if spec.get("windows", {}).get("regions"):
        yield "windows.regions", spec["windows"]["regions"]
    if "table" in spec:
        yield "table.path", spec["table"]["path"]
    if spec["negatives"]["blacklist"]:
        yield "negatives.blacklist", spec["negatives"]["blacklist"]


def _table_input_files(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield "path", spec["path"]


def _image_input_files(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The sample sheet, then every image and mask it lists (relative to the sheet's folder)."""
    yield "sample_sheet", spec["sample_sheet"]
    if Path(spec["sample_sheet"]).is_file():
        for where, path in read_sample_sheet(spec["sample_sheet"]).files():
            yield f"sample_sheet ({where})", str(path)


# The data each model kind takes.
KIND_MODALITIES = {
    "cnn1d": ("dna",),
    "cnn2d": ("image",),
    "mlp": ("table",),
    "baseline": ("dna", "table"),
    # The model zoo (biodl.models.zoo).
    "basset": ("dna",),
    "deepsea": ("dna",),
    "danq": ("dna",),
    "dilated_resnet": ("dna",),
    # Bags of tiles (biodl.training.mil; rule train_mil).
    "attention_mil": ("image",),
    # Unsupervised pre-training (biodl.training.pretraining; rule pretrain).
    "dense_autoencoder": ("table",),
    "conv_autoencoder": ("dna",),
    "conv2d_autoencoder": ("image",),
}


# Kinds with a training rule of their own, outside ensembles, searches and learning curves:
# attention MIL (rule train_mil: one prediction per bag, metrics per slide) and the autoencoders
# (rule pretrain: unsupervised, never evaluated as classifiers; other runs start from them).
MIL_KINDS = ("attention_mil",)
AUTOENCODER_KINDS = ("dense_autoencoder", "conv_autoencoder", "conv2d_autoencoder")
# Autoencoders of tiles: their reconstructions are drawn too (rule reconstructions).
IMAGE_AUTOENCODER_KINDS = ("conv2d_autoencoder",)
OWN_RULE_KINDS = MIL_KINDS + AUTOENCODER_KINDS


INPUT_FILES: dict[str, Callable[[dict[str, Any]], Iterator[tuple[str, str]]]] = {
    "dna": _dna_input_files,
    "table": _table_input_files,
    "image": _image_input_files,
}


def input_files(config: dict[str, Any], dataset: str) -> list[str]:
    """The user files a dataset is prepared from (for Snakemake's input lists)."""
    spec = config["datasets"][dataset]
    return [path for _, path in INPUT_FILES[spec["modality"]](spec)]


def is_regression(spec: dict[str, Any]) -> bool:
    """Whether a dataset's labels are numbers to predict (known from the config alone)."""
    return "tracks" in spec or spec.get("task", spec.get("table", {}).get("task")) == "regression"


def datasets_of(config: dict[str, Any], modality: str) -> list[str]:
    """Names of the configured datasets of one modality, in config order."""
    return [name for name, spec in config["datasets"].items() if spec["modality"] == modality]


def runs(config: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (dataset, model) pair to train, in config order; by default each model on every
    dataset it fits."""
    chosen = config.get("runs") or {
        dataset: [m for m in config["models"] if fits(config, dataset, m)] for dataset in config["datasets"]
    }
    return [(dataset, model) for dataset, models in chosen.items() for model in models]


def fits(config: dict[str, Any], dataset: str, model: str) -> bool:
    """Whether a model's kind takes the dataset's modality (``KIND_MODALITIES``)."""
    return config["datasets"][dataset]["modality"] in KIND_MODALITIES[config["models"][model]["kind"]]
