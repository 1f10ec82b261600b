"""Typed, frozen settings built once from the validated configuration.

Contract:
- The workflow validates the whole config once (``biodl.config.checks.validate_config``: every
  default filled in from the schema, every value checked). Each step then turns its part of that
  mapping into frozen dataclasses with ``from_validated(mapping)``, which converts types (lists
  become tuples, nested mappings dataclasses) but checks nothing again and adds no default:
  defaults live in ``config.schema.yaml`` only, so a key absent from the mapping is a bug and
  raises ``KeyError``. The one exception: a key the schema leaves optional without a default
  (a DNA dataset's ``genome``, a table's ``id_column``) is absent when the user did not set it;
  its field is typed ``X | None`` and an absent key becomes ``None``. Only a field whose type
  admits ``None`` is filled so: a required key still raises ``KeyError``.
- ``from_config(raw)`` is the entry point for code that runs outside the workflow (tests,
  notebooks): it validates ``raw`` against the same part of the schema (defaults filled, one
  ``InputError`` naming the key) and then builds the settings.
- ``build(cls, mapping, **extra)`` is the converter behind both; ``extra`` supplies fields that
  are not in the mapping (a model's name).
- Section settings: ``EvaluationSettings`` (``evaluation``), ``InterpretSettings``
  (``interpretation``), ``SanitySettings`` (``sanity_check``), ``LearningCurveSettings``
  (``learning_curve``). Models: ``biodl.config.models``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar, Union

from biodl.config.schema import validate_part

T = TypeVar("T")


def build(cls: type[T], mapping: Mapping[str, Any], **extra: Any) -> T:
    """An instance of the dataclass ``cls`` from a validated ``mapping`` (see the module contract)."""
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not field.init:
            continue
        if field.name in extra:
            values[field.name] = extra[field.name]
            continue
        if field.name not in mapping and _admits_none(hints[field.name]):
            values[field.name] = None  # optional without a default in the schema, and not set
            continue
        values[field.name] = convert(hints[field.name], mapping[field.name])
    return cls(**values)


def _admits_none(hint: Any) -> bool:
    """Whether the type ``hint`` is a union with ``None`` (``X | None``, ``Optional[X]``)."""
    return typing.get_origin(hint) in (Union, types.UnionType) and type(None) in typing.get_args(hint)


def convert(hint: Any, value: Any) -> Any:
    """``value`` as the type ``hint`` says: dataclasses built, sequences as tuples, unions tried in order."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is not type(None) and _accepts(option, value):
                return convert(option, value)
        return value
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(convert(item, v) for v in value)
    if origin in (dict, Mapping):
        item = typing.get_args(hint)[1]
        return {k: convert(item, v) for k, v in value.items()}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return build(hint, value)
    return value


def _accepts(option: Any, value: Any) -> bool:
    """Whether ``value`` has the shape of the union member ``option`` (the schema fixed which)."""
    origin = typing.get_origin(option) or option
    if dataclasses.is_dataclass(origin) or origin in (dict, Mapping):
        return isinstance(value, Mapping)
    if origin is tuple:
        return isinstance(value, (list, tuple))
    if origin is typing.Literal:
        return value in typing.get_args(option)
    return isinstance(value, origin)


class FromConfig:
    """``from_validated`` / ``from_config`` for a dataclass whose schema part is ``SCHEMA_PART``."""

    SCHEMA_PART: ClassVar[str]  # a JSON pointer into the schema, e.g. "properties/evaluation"
    CONFIG_KEY: ClassVar[str]  # where the part sits in the config, for messages

    @classmethod
    def from_validated(cls: type[T], mapping: Mapping[str, Any]) -> T:
        return build(cls, mapping)

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None = None, **overrides: Any) -> Any:
        """Validate ``raw`` (updated with ``overrides``) against the schema part, then build."""
        checked = validate_part(cls.SCHEMA_PART, {**(raw or {}), **overrides}, (cls.CONFIG_KEY,))
        return cls.from_validated(checked)


@dataclasses.dataclass(frozen=True)
class EvaluationSettings(FromConfig):
    """``evaluation``: bootstrap resamples (0 = no intervals), their confidence level, calibration bins."""

    SCHEMA_PART = "properties/evaluation"
    CONFIG_KEY = "evaluation"

    bootstrap: int
    confidence: float
    calibration_bins: int


@dataclasses.dataclass(frozen=True)
class InterpretSettings(FromConfig):
    """``interpretation``: what the interpretation steps do (config/README.md explains each key)."""

    SCHEMA_PART = "properties/interpretation"
    CONFIG_KEY = "interpretation"

    enabled: bool
    split: str
    threshold: float
    pseudocount: float
    min_sites: int
    database: str
    max_q_value: float
    trim_bits: float
    min_information: float
    min_core_width: int
    null_motifs: int
    top_tasks: int
    attribution_split: str
    attribution_sequences: int
    attribution_references: int
    modisco_window: int
    modisco_min_seqlets: int
    modisco_max_seqlets: int
    modisco_leiden_runs: int
    marginal_motifs: int
    marginal_backgrounds: int
    logo_filters: int
    top_sequences: int
    mutagenesis_regions: tuple[str, ...]
    attribution_window: int
    maximisation_steps: int
    maximisation_step: float
    output_maximisation_step: float
    example_tiles: int
    permutation_repeats: int
    numba_cache_dir: str


@dataclasses.dataclass(frozen=True)
class SanitySettings(FromConfig):
    """``sanity_check``: can a network fit a tiny training subset by heart?"""

    SCHEMA_PART = "properties/sanity_check"
    CONFIG_KEY = "sanity_check"

    enabled: bool
    examples: int
    max_epochs: int
    target_accuracy: float
    target_loss: float


@dataclasses.dataclass(frozen=True)
class LearningCurveSettings(FromConfig):
    """``learning_curve``: train on nested fractions of the training split ("would more data help?")."""

    SCHEMA_PART = "properties/learning_curve"
    CONFIG_KEY = "learning_curve"

    enabled: bool
    models: tuple[str, ...]
    fractions: tuple[float, ...]
