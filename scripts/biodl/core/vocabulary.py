"""The words every step shares: the splits, the task types and the data modalities."""

from __future__ import annotations

SPLITS = ("train", "validation", "test")


TASKS = ("binary", "multiclass", "multilabel", "regression")


MODALITIES = ("dna", "image", "table")
