"""How DNA examples reach the shard writer, whatever their input: classes, labels, shuffled copies.

Contract:
- ``labelling(spec, configured)`` gives the classes of a dataset whose class names come from
  the config (regions or sequence files) or a table's label column: the negative label first
  when negatives are generated, then the configured classes in order, unless ``spec.classes``
  gives the order (it must name exactly these classes); two classes make a binary task (the
  second class is the positive one), more a multiclass task. A negative label that is also a
  class, a single class without negatives, or ``classes`` naming other classes raises ``InputError``.
- ``Labelling.targets(labels)`` turns label texts into float32 targets: binary ``(n, 1)`` with 1
  for ``classes[1]``, multiclass one-hot over ``classes``.
- ``input_files(spec)`` names the user's files of a dataset, as written in the config, for messages.
- ``DnaJob`` is one preparation run: its settings, the seed and the generator every random
  choice draws from (in a fixed order, so the same seed gives the same dataset), the shard
  writer and a scratch folder for FASTA indexes. ``emit`` hands one-hot examples to the writer
  split by split, in row order; ``shuffled`` makes ``negatives.ratio`` dinucleotide shuffles of
  each row, which inherit the row's split and are named ``<name>_shuffle<k>``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from biodl.config.datasets import DnaDataset
from biodl.core.errors import InputError
from biodl.core.vocabulary import SPLITS
from biodl.data.dna.background import dinucleotide_shuffle
from biodl.data.shards import ShardWriter


@dataclass(frozen=True)
class Labelling:
    """The classes of a dataset (empty for regression) and its task."""

    classes: list[str]
    task: str  # binary, multiclass, multilabel or regression

    def targets(self, labels: np.ndarray) -> np.ndarray:
        """float32 targets of single-label classes (see the module contract)."""
        if self.task == "binary":
            return (labels == self.classes[1]).astype(np.float32)[:, None]
        index = {c: i for i, c in enumerate(self.classes)}
        return np.eye(len(self.classes), dtype=np.float32)[[index[label] for label in labels]]


def input_files(spec: DnaDataset) -> str:
    """The user's files the examples come from, as written in the config (for messages)."""
    if spec.genome is not None and spec.regions is not None:
        return ", ".join(map(str, spec.regions.values()))
    if spec.genome is not None and spec.tasks is not None:
        return ", ".join(map(str, spec.tasks.values()))
    if spec.genome is not None and spec.tracks is not None:
        return ", ".join(track.path for track in spec.tracks.values())
    if spec.sequences is not None:
        return ", ".join(map(str, spec.sequences.values()))
    assert spec.table is not None, "a DNA dataset has one input (biodl.config.checks)"
    return str(spec.table.path)


def labelling(spec: DnaDataset, configured: Sequence[str]) -> Labelling:
    """The classes: generated negatives first, then ``configured`` (see the module contract)."""
    negatives = spec.negatives
    classes = ([negatives.label] if negatives.method != "none" else []) + list(configured)
    if len(set(classes)) != len(classes):
        raise InputError(
            "config", "negatives.label", f"negative label {negatives.label!r} is also a configured class"
        )
    if len(classes) < 2:
        raise InputError(
            "config", "negatives", "a single class needs negatives (method: shuffle or gc_matched)"
        )
    if spec.classes is not None:
        if sorted(spec.classes) != sorted(classes):
            raise InputError(
                "config",
                f"datasets.{spec.name}.classes",
                f"expected an order of the dataset's classes {classes}, found {list(spec.classes)}",
            )
        classes = list(spec.classes)
    return Labelling(classes, "binary" if len(classes) == 2 else "multiclass")


@dataclass(frozen=True)
class DnaJob:
    """One DNA preparation run (see the module contract)."""

    spec: DnaDataset
    seed: int
    rng: np.random.Generator
    writer: ShardWriter
    index_dir: Path  # FASTA indexes built here, never beside the user's files

    def emit(self, rows: pd.DataFrame, x: np.ndarray, labels: Labelling, y: np.ndarray | None = None) -> None:
        """Hand one-hot sequences ``x`` (n, L, 4) and their targets (default: from the rows'
        labels), split by split, to the writer."""
        if y is None:
            y = labels.targets(rows["label"].to_numpy())
        splits_of_rows = rows["split"].to_numpy()  # compared as a NumPy array: pandas adds overhead per call
        for split in SPLITS:
            mask = splits_of_rows == split
            if mask.all():  # the usual case (rows come sorted by position): no copy
                self.writer.add(split, x, y, rows)
            elif mask.any():
                self.writer.add(split, x[mask], y[mask], rows.loc[mask])

    def shuffled(self, rows: pd.DataFrame, codes: np.ndarray, label: str) -> tuple[pd.DataFrame, np.ndarray]:
        """``negatives.ratio`` dinucleotide shuffles of every row's ``codes``, labelled ``label``."""
        ratio = self.spec.negatives.shuffles
        repeated = rows.loc[rows.index.repeat(ratio)].reset_index(drop=True)
        copy = np.tile(np.arange(ratio), len(rows))
        shuffled = (
            np.stack([dinucleotide_shuffle(codes[i // ratio], self.rng) for i in range(len(repeated))])
            if len(repeated)
            else codes[:0]
        )
        repeated = repeated.assign(
            source="dinucleotide_shuffle",
            label=label,
            name=repeated["name"].astype(str) + "_shuffle" + copy.astype(str),
        )
        return repeated, shuffled


def chunks(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of ``range(n)``, ``size`` long (the last may be shorter)."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))
