"""A prepared dataset's manifest (``dataset.json``, written by ``biodl.data.shards``), read and checked.

Contract:
- ``read_prepared(path)`` reads ``dataset.json`` (``path`` is that file or its folder) into a
  ``PreparedDataset``: it checks every field the training and evaluation steps rely on and
  raises ``InputError`` naming the field otherwise. Input shapes per modality: dna ``[length,
  4]`` (uint8 one-hot), image ``[height, width, channels]`` (uint8), table ``[features]``
  (float32, already scaled by the preparation step). Regression datasets have no classes; their
  targets are the label columns, with the training split's ``target_mean`` / ``target_std``;
  image datasets carry their training tiles' ``channel_mean`` / ``channel_std``.
- ``PreparedDataset`` knows its splits (``SplitInfo``: size and shard names) and, for a
  cross-validation view (``FoldView``, made by ``biodl.data.dataset.fold_view``), where each of
  the view's splits is stored (``stored``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from biodl.core.errors import InputError, require
from biodl.core.vocabulary import MODALITIES, SPLITS
from biodl.data.format import read_manifest

AMBIGUOUS_MODES = ("zeros", "uniform", "iupac")


@dataclass(frozen=True)
class SplitInfo:
    n: int
    shards: tuple[str, ...]


@dataclass(frozen=True)
class PreparedDataset:
    """The checked content of a ``dataset.json``; ``root`` is the folder holding it."""

    root: Path
    name: str
    modality: str
    task: str
    classes: tuple[str, ...]
    targets: tuple[str, ...]
    input_shape: tuple[int, ...]
    ambiguous: str
    splits: dict[str, SplitInfo]
    seed: int
    feature_names: tuple[str, ...] = ()
    target_mean: tuple[float, ...] = ()
    target_std: tuple[float, ...] = ()
    channel_mean: tuple[float, ...] = ()
    channel_std: tuple[float, ...] = ()
    fold: FoldView | None = field(default=None, compare=False)

    def scale_targets(self, y: np.ndarray) -> np.ndarray:
        """Regression targets in training-split standard deviations (what the network learns)."""
        return (y - np.asarray(self.target_mean, dtype=np.float32)) / np.asarray(
            self.target_std, dtype=np.float32
        )

    def unscale_targets(self, y: np.ndarray) -> np.ndarray:
        """Network outputs of a regression back in the target's own units."""
        return y * np.asarray(self.target_std) + np.asarray(self.target_mean)

    @property
    def manifest(self) -> Path:
        return self.root / "dataset.json"

    def n(self, split: str) -> int:
        """Number of examples in ``split`` (of the fold view, if this is one)."""
        stored, rows = self.stored(split)
        return self.split(stored).n if rows is None else len(rows)

    def split(self, split: str) -> SplitInfo:
        """The stored split (shards and size), whatever the fold view."""
        require(
            split in self.splits,
            self.manifest,
            "splits",
            f"has no split {split!r} (found: {', '.join(self.splits)})",
        )
        return self.splits[split]

    def stored(self, split: str) -> tuple[str, np.ndarray | None]:
        """Where ``split``'s examples are stored: (stored split, row indices into it or None for all)."""
        if self.fold is not None and split in self.fold.rows:
            return "train", self.fold.rows[split]
        return split, None


@dataclass(frozen=True)
class FoldView:
    """Member ``index`` of ``count`` (1-based): rows of the stored training split per view split."""

    index: int
    count: int
    rows: dict[str, np.ndarray]


def read_prepared(path: str | PathLike[str]) -> PreparedDataset:
    """Read and check ``dataset.json`` (``path`` may be the file or the folder holding it)."""
    manifest, raw = read_manifest(path)
    for key in ("name", "modality", "task", "classes", "targets", "input_shape", "splits", "seed"):
        require(key in raw, manifest, key, "required field is missing")
    modality = raw["modality"]
    require(
        modality in MODALITIES,
        manifest,
        "modality",
        f"expected one of {', '.join(MODALITIES)}, found {modality!r}",
    )
    ambiguous = raw.get("ambiguous", "zeros")
    require(
        ambiguous in AMBIGUOUS_MODES,
        manifest,
        "ambiguous",
        f"expected one of {', '.join(AMBIGUOUS_MODES)}, found {ambiguous!r}",
    )
    require(is_int(raw["seed"]), manifest, "seed", f"expected an integer, found {raw['seed']!r}")
    classes = _names(raw["classes"], manifest, "classes", allow_empty=raw["task"] == "regression")
    targets = _names(raw["targets"], manifest, "targets")
    _check_targets(raw["task"], classes, targets, manifest)
    input_shape = _input_shape(modality, raw["input_shape"], manifest)
    feature_names = _names(
        raw.get("feature_names", []), manifest, "feature_names", allow_empty=modality != "table"
    )
    require(
        modality != "table" or len(feature_names) == input_shape[0],
        manifest,
        "feature_names",
        f"expected {input_shape[0]} names (one per input feature), found {len(feature_names)}",
    )
    scaling = (
        _scaling(raw, ("target_mean", "target_std"), len(targets), manifest)
        if raw["task"] == "regression"
        else ((), ())
    )
    channels = (
        _scaling(raw, ("channel_mean", "channel_std"), input_shape[-1], manifest)
        if modality == "image"
        else ((), ())
    )
    dataset = PreparedDataset(
        root=manifest.parent,
        name=str(raw["name"]),
        modality=modality,
        task=raw["task"],
        classes=classes,
        targets=targets,
        input_shape=input_shape,
        ambiguous=ambiguous,
        splits={split: _split_info(raw["splits"], split, manifest) for split in SPLITS},
        seed=raw["seed"],
        feature_names=feature_names,
        target_mean=scaling[0],
        target_std=scaling[1],
        channel_mean=channels[0],
        channel_std=channels[1],
    )
    return dataset


def _scaling(
    raw: dict[str, Any], keys: tuple[str, str], n: int, manifest: Path
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A (mean, standard deviation) pair of training-split statistics, ``n`` values each."""
    values = []
    for key in keys:
        value = raw.get(key)
        if not _finite_numbers(value, n):
            raise InputError(manifest, key, f"expected {n} finite number(s), found {value!r}")
        values.append(tuple(float(v) for v in value))
    require(all(v > 0 for v in values[1]), manifest, keys[1], f"expected values > 0, found {list(values[1])}")
    return values[0], values[1]


def _finite_numbers(value: object, n: int) -> TypeGuard[list[float]]:
    return (
        isinstance(value, list)
        and len(value) == n
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in value)
    )


def is_int(value: object) -> TypeGuard[int]:
    """Whether ``value`` is an integer (JSON's ``true`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _names(value: object, manifest: Path, key: str, allow_empty: bool = False) -> tuple[str, ...]:
    # Names become TSV column suffixes (p_<class>), so tabs and line breaks are refused.
    if not _printable_names(value, allow_empty):
        raise InputError(
            manifest,
            key,
            f"expected a {'' if allow_empty else 'non-empty '}list of non-empty printable names "
            f"without tabs, found {value!r}",
        )
    require(len(set(value)) == len(value), manifest, key, f"names must be unique, found {value}")
    return tuple(value)


def _printable_names(value: object, allow_empty: bool) -> TypeGuard[list[str]]:
    return (
        isinstance(value, list)
        and (allow_empty or len(value) > 0)
        and all(isinstance(v, str) and v and v.isprintable() and "\t" not in v for v in value)
    )


def _check_targets(task: str, classes: tuple[str, ...], targets: tuple[str, ...], manifest: Path) -> None:
    if task == "regression":
        require(not classes, manifest, "classes", f"a regression task has no classes, found {list(classes)}")
        return
    if task == "binary":
        require(
            len(classes) == 2,
            manifest,
            "classes",
            f"a binary task needs [negative, positive], found {list(classes)}",
        )
        expected = classes[1:]
    else:
        require(
            len(classes) >= 2,
            manifest,
            "classes",
            f"a {task} task needs at least two classes, found {list(classes)}",
        )
        expected = classes
    require(
        targets == expected,
        manifest,
        "targets",
        f"for a {task} task expected {list(expected)}, found {list(targets)}",
    )


def _input_shape(modality: str, value: object, manifest: Path) -> tuple[int, ...]:
    expected = {
        "dna": "[length >= 1, 4]",
        "image": "[height, width, channels 1-4]",
        "table": "[features >= 1]",
    }[modality]
    if not _shape_of(value, modality):
        raise InputError(
            manifest, "input_shape", f"expected {expected} for a {modality} dataset, found {value!r}"
        )
    return tuple(value)


def _shape_of(value: object, modality: str) -> TypeGuard[list[int]]:
    """Whether ``value`` is an input shape a ``modality`` dataset can have."""
    return (
        isinstance(value, list)
        and all(is_int(v) and v >= 1 for v in value)
        and (
            (modality == "dna" and len(value) == 2 and value[1] == 4)
            or (modality == "image" and len(value) == 3 and value[2] <= 4)
            or (modality == "table" and len(value) == 1)
        )
    )


def _split_info(splits: object, split: str, manifest: Path) -> SplitInfo:
    where = f"splits.{split}"
    if not (isinstance(splits, dict) and split in splits):
        raise InputError(manifest, where, "required split is missing")
    entry = splits[split]
    if not isinstance(entry, dict):
        raise InputError(manifest, where, "expected an object with 'n' and 'shards'")
    n, shards = entry.get("n"), entry.get("shards")
    if not (is_int(n) and n >= 0):
        raise InputError(manifest, f"{where}.n", f"expected a count >= 0, found {n!r}")
    if not (isinstance(shards, list) and all(isinstance(s, str) and s for s in shards)):
        raise InputError(manifest, f"{where}.shards", "expected a list of shard names")
    require(n == 0 or len(shards) > 0, manifest, f"{where}.shards", f"{n} examples but no shards")
    return SplitInfo(n=n, shards=tuple(shards))
