"""Fixtures: small prepared DNA datasets written in the layout of ``prepare`` (see biodl.data.dataset).

Positives carry a planted motif per target (binary / multilabel: present or not; multiclass:
the class's motif), so tiny networks learn them in a few epochs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from biodl.core.files import save_npy, write_json, write_tsv

BASES = "ACGT"
MOTIFS = ["GATAAGGATAAG", "CACGTGCACGTG", "TTGACATTGACA"]
CLASSES = {
    "binary": ["background", "bound"],
    "multiclass": ["alpha", "beta", "gamma"],
    "multilabel": ["site_a", "site_b"],
}
# IUPAC codes placed once in each non-"zeros" sequence, with their stored channels (A, C, G, T).
AMBIGUOUS_CODES = {"N": (1, 1, 1, 1), "R": (1, 0, 1, 0)}


def _labels(task: str, n: int, rng: np.random.Generator) -> np.ndarray:
    n_classes = len(CLASSES[task])
    if task == "binary":
        return (np.arange(n) % 2 == 1).astype(np.float32)[rng.permutation(n)][:, None]
    if task == "multiclass":
        return np.eye(n_classes, dtype=np.float32)[rng.permutation(np.arange(n) % n_classes)]
    return (rng.random((n, n_classes)) < 0.5).astype(np.float32)


def _sequences(task: str, y: np.ndarray, length: int, ambiguous: str, rng: np.random.Generator) -> np.ndarray:
    codes = rng.integers(0, 4, size=(len(y), length))
    for i, row in enumerate(y):
        motifs = [MOTIFS[j] for j in np.flatnonzero(row)] if task != "binary" else MOTIFS[:1] * int(row[0])
        for k, motif in enumerate(motifs):
            start = k * (length // 2) + int(
                rng.integers(0, length // 2 - len(motif) - 2)
            )  # clear of the ambiguous tail
            codes[i, start : start + len(motif)] = [BASES.index(b) for b in motif]
    x = np.eye(4, dtype=np.uint8)[codes]
    if ambiguous == "zeros":
        x[:, -1] = 0  # the last base is an N in every sequence
    else:
        x[:, -1] = AMBIGUOUS_CODES["N"]
        x[:, -2] = AMBIGUOUS_CODES["R"]
    return x


@dataclass(frozen=True)
class FixtureDataset:
    """What a fixture dataset looks like: task, split sizes (train, validation, test), sequence
    length, examples per shard, how ambiguous bases are stored, and the seed of its draws."""

    task: str = "binary"
    sizes: tuple[int, int, int] = (160, 48, 40)
    length: int = 50
    shard_size: int = 64
    ambiguous: str = "zeros"
    seed: int = 7


def write_dataset(root: Path, spec: FixtureDataset) -> Path:
    """Write a prepared dataset under ``root``; return the folder."""
    task, length, shard_size = spec.task, spec.length, spec.shard_size
    rng = np.random.default_rng(spec.seed)
    classes = CLASSES[task]
    targets = classes[1:] if task == "binary" else classes
    splits, rows = {}, []
    for split, n in zip(("train", "validation", "test"), spec.sizes, strict=True):
        y = _labels(task, n, rng)
        x = _sequences(task, y, length, spec.ambiguous, rng)
        shards = []
        for k, first in enumerate(range(0, n, shard_size)):
            shard = f"shards/{split}-{k:05d}"
            save_npy(x[first : first + shard_size], root / f"{shard}.x.npy")
            save_npy(y[first : first + shard_size], root / f"{shard}.y.npy")
            shards.append(shard)
            for offset, label in enumerate(y[first : first + shard_size]):
                index = first + offset
                rows.append(
                    {
                        "split": split,
                        "shard": shard,
                        "offset": offset,
                        "source": "fixture",
                        "name": f"{split}_{index}",
                        "chrom": f"chr{index % 3 + 1}",
                        "start": index * 100,
                        "end": index * 100 + length,
                        "strand": "+",
                        "label": _label_text(task, classes, label),
                    }
                )
        splits[split] = {"n": n, "shards": shards}
    manifest = {
        "name": f"fixture_{task}",
        "modality": "dna",
        "task": task,
        "classes": classes,
        "targets": targets,
        "input_shape": [length, 4],
        "ambiguous": spec.ambiguous,
        "splits": splits,
        "seed": spec.seed,
    }
    write_json(manifest, root / "dataset.json")
    write_tsv(pd.DataFrame(rows), root / "metadata.tsv")
    return root


def _label_text(task: str, classes: list[str], label: np.ndarray) -> str:
    if task == "binary":
        return classes[int(label[0])]
    if task == "multiclass":
        return classes[int(label.argmax())]
    return ";".join(c for c, v in zip(classes, label, strict=True) if v)


@pytest.fixture
def make_dataset(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_dataset(task=..., sizes=..., ...)`` (the fields of ``FixtureDataset``)
    writes a dataset in ``tmp_path``."""
    counter = iter(range(1000))

    def make(**fields: Any) -> Path:
        return write_dataset(tmp_path / f"dataset{next(counter)}", FixtureDataset(**fields))

    return make


@pytest.fixture
def binary_dataset(make_dataset: Callable[..., Path]) -> Path:
    return make_dataset(task="binary")


@pytest.fixture
def tiny_config() -> dict[str, object]:
    """A model small enough to train in about a second per epoch on the fixtures."""
    return {
        "kind": "cnn1d",
        "conv_layers": [{"filters": 8, "kernel_size": 8, "pool_size": 4}],
        "global_pool": "max",
        "dense_layers": [{"units": 8}],
        "training": {"batch_size": 32, "epochs": 3, "patience": 2, "learning_rate": 0.01},
    }
