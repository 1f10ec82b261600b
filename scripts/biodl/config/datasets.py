"""Typed settings of one dataset (``datasets.<name>`` of the config), built once from validated values.

Contract:
- ``dataset_settings(name, mapping)`` turns a dataset's validated settings (every default filled by
  the schema) into the frozen dataclass of its modality: ``DnaDataset``, ``ImageDataset`` or
  ``TableDataset`` (``DatasetSpec`` is any of the three). Lists become tuples, nested sections
  dataclasses (``Negatives``, ``Overlap``, ``TrackTarget``, ``TrackWindows``, ``HoldoutSplit``,
  ``RandomSplit``, ``SequenceTable``, ``TableLocation``, ``TileSettings``, ``TissueSettings``, ``MaskLabels``,
  ``PreviewSettings``). Paths stay the strings the user wrote (relative to the working
  directory, as every step runs there).
- The dataclasses hold no defaults: ``config.schema.yaml`` has them. Keys the schema leaves
  optional without a default (a DNA dataset's ``genome``, ``regions``, ``tasks``, ``tracks``,
  ``sequences`` or ``table``, a DNA table's ``location`` and ``group_column``; ``classes``; a
  table's ``feature_columns``,
  ``categorical_columns``, ``id_column``, ``group_column``) are ``None`` when not set
  (``biodl.config.settings.build``).
- ``check_dataset(name, raw)`` is for code that runs outside the workflow (tests, notebooks,
  benchmarks): it checks the name and validates ``raw`` as the workflow does (the schema, with
  defaults filled, then the checks a schema cannot express, ``biodl.config.checks``), and then
  types it. Input files are not looked at, except an image dataset's sample sheet when it exists.
- ``DatasetSettings.key`` (``datasets.<name>``) names the dataset's config entry in messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

from biodl.config.checks import DATASET_CHECKS
from biodl.config.schema import validate_part
from biodl.config.settings import build


@dataclasses.dataclass(frozen=True)
class DatasetSettings:
    """What every dataset has: its name (the ``{dataset}`` of every output path), modality, description."""

    name: str
    modality: Literal["dna", "image", "table"]
    description: str

    @property
    def key(self) -> str:
        """Where the dataset sits in the config, for messages."""
        return f"datasets.{self.name}"


@dataclasses.dataclass(frozen=True)
class RandomSplit:
    """Shares of the examples (groups, for images and grouped tables) drawn for validation and test."""

    validation_fraction: float
    test_fraction: float


# --- dna ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TableLocation:
    """``table.location``: where each row's sequence lies, from one ``chrom:start-end`` column or
    from three columns (BED's 0-based half-open ``start``/``end``); the config check gives one form."""

    column: str | None
    chrom: str | None
    start: str | None
    end: str | None

    @property
    def columns(self) -> tuple[str, ...]:
        """The table columns the location is read from."""
        return (self.column,) if self.column else tuple(c for c in (self.chrom, self.start, self.end) if c)


@dataclasses.dataclass(frozen=True)
class SequenceTable:
    """``table`` of a DNA dataset: a sequence column and label columns, optionally where each
    sequence lies (hold-outs by chromosome) or the group it belongs to (a grouped random split)."""

    path: str
    sequence_column: str
    label_columns: tuple[str, ...]
    task: Literal["classification", "regression"]
    location: TableLocation | None
    group_column: str | None


@dataclasses.dataclass(frozen=True)
class Negatives:
    """``negatives``: background examples generated beside the configured classes."""

    method: Literal["none", "shuffle", "gc_matched"]
    ratio: float
    label: str
    blacklist: str | None
    gc_bins: int
    stride: int | None
    max_ambiguous: float

    @property
    def shuffles(self) -> int:
        """Shuffled copies per sequence (``method: shuffle``; the config check makes ``ratio`` whole)."""
        return int(self.ratio)


@dataclasses.dataclass(frozen=True)
class Overlap:
    """``overlap``: when a window is a positive, negative or missing label of a task (``tasks``
    input; ``biodl.data.dna.overlap``), and how close regions are merged into one window."""

    measure: Literal["window", "peak", "either"]
    min_fraction: float
    ambiguous: Literal["missing", "negative"]
    merge_distance: int


@dataclasses.dataclass(frozen=True)
class TrackTarget:
    """One entry of ``tracks``: a coverage track (bigWig or bedGraph) or a peak file whose
    signalValue is the target, and the statistic taken over each window (``biodl.data.dna.from_tracks``)."""

    path: str
    format: Literal["auto", "bigwig", "bedgraph", "peaks"]
    statistic: Literal["mean", "max", "sum", "log1p_sum"]
    uncovered: Literal["zero", "skip", "missing"]


@dataclasses.dataclass(frozen=True)
class TrackWindows:
    """``windows``: where the examples of a ``tracks`` dataset lie: centred on regions, or bins
    tiled over the genome every ``stride`` bases."""

    regions: str | None
    stride: int | None
    max_ambiguous: float


@dataclasses.dataclass(frozen=True)
class HoldoutSplit:
    """``split`` of a DNA dataset: hold-out chromosomes or regions (genome input), or fractions
    of a stratified random split (sequence files and tables)."""

    validation: tuple[str, ...]
    test: tuple[str, ...]
    validation_fraction: float
    test_fraction: float


@dataclasses.dataclass(frozen=True)
class DnaDataset(DatasetSettings):
    """A DNA dataset: exactly one of ``genome`` (with ``regions``, ``tasks`` or ``tracks``), ``sequences`` or
    ``table`` is set."""

    genome: str | None
    regions: dict[str, str] | None  # class name → BED or narrowPeak file
    tasks: dict[str, str] | None  # task name → BED or narrowPeak file (multi-label)
    overlap: Overlap
    tracks: dict[str, TrackTarget] | None  # target name → track (regression)
    windows: TrackWindows
    sequences: dict[str, str] | None  # class name → FASTA file
    table: SequenceTable | None
    length: int
    anchor: Literal["auto", "centre"]
    edge: Literal["drop", "pad"]
    ambiguous: Literal["zeros", "uniform", "iupac"]
    classes: tuple[str, ...] | None  # the class order (the last is the positive class of a binary task)
    shard_size: int
    negatives: Negatives
    split: HoldoutSplit


# --- image ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TileSettings:
    size: int
    stride: int | None
    level: int | None
    mpp: float | None
    edge: Literal["drop", "pad"]


@dataclasses.dataclass(frozen=True)
class TissueSettings:
    background: Literal["light", "dark", "none"]
    threshold: float
    resolution: int


@dataclasses.dataclass(frozen=True)
class MaskLabels:
    """``labels``: when a tile's mask pixels give it a class."""

    min_coverage: float
    min_labelled: float
    mask_downsample: float | None


@dataclasses.dataclass(frozen=True)
class PreviewSettings:
    max_images: int
    max_px: int


# Label sheets: class names in order; mask sheets: class name → mask value(s).
ImageClasses = tuple[str, ...] | dict[str, int | tuple[int, ...]]


@dataclasses.dataclass(frozen=True)
class ImageDataset(DatasetSettings):
    sample_sheet: str
    classes: ImageClasses | None
    tile: TileSettings
    tissue: TissueSettings
    labels: MaskLabels
    nifti_axis: Literal["axial", "coronal", "sagittal"]
    intensity_percentiles: tuple[float, float]
    shard_size: int
    split: RandomSplit
    preview: PreviewSettings


# --- table ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TableDataset(DatasetSettings):
    path: str
    label_columns: tuple[str, ...]
    task: Literal["binary", "multiclass", "multilabel", "regression"]
    classes: tuple[str, ...] | None
    feature_columns: tuple[str, ...] | None
    categorical_columns: tuple[str, ...] | None
    id_column: str | None
    group_column: str | None
    missing: Literal["impute", "reject"]
    shard_size: int
    split: RandomSplit


DatasetSpec = DnaDataset | ImageDataset | TableDataset

MODALITY_SETTINGS: dict[str, type[DnaDataset] | type[ImageDataset] | type[TableDataset]] = {
    "dna": DnaDataset,
    "image": ImageDataset,
    "table": TableDataset,
}


def dataset_settings(name: str, mapping: Mapping[str, Any]) -> DatasetSpec:
    """The typed settings of a validated dataset mapping (see the module contract)."""
    return build(MODALITY_SETTINGS[mapping["modality"]], mapping, name=name)


def check_dataset(name: str, raw: Mapping[str, Any]) -> DatasetSpec:
    """Validate raw settings as the workflow does (defaults filled), then type them."""
    key = ("datasets", name)
    validate_part("$defs/name", name, key)
    checked = validate_part("$defs/dataset", dict(raw), key)
    DATASET_CHECKS[checked["modality"]](checked, ".".join(key))
    return dataset_settings(name, checked)
