"""Small generated DNA inputs and a runner for the DNA preparation tests.

The genome has three random 20 kb chromosomes (mixed case: soft-masked bases) and a BED of
100 bp peaks every 600 bp, every third one on the minus strand, plus one peak at the start of
chr1 whose window runs off the chromosome. Sequence files carry a planted motif.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biodl.config.checks import validate_config
from biodl.config.datasets import dataset_settings
from biodl.core import files
from biodl.data.dna.prepare import prepare_dna
from biodl.data.shards import PreparedFiles

MOTIF = "CCGCGTGGCGC"


def fasta_text(records: Any) -> str:
    return "".join(
        f">{name}\n" + "\n".join(seq[i : i + 60] for i in range(0, len(seq), 60)) + "\n"
        for name, seq in records
    )


def write_genome(folder: Path) -> Path:
    """``genome.fa`` and ``peaks.bed`` in ``folder`` (see the module docstring)."""
    rng = np.random.default_rng(5)
    chroms = {f"chr{i}": "".join(rng.choice(list("ACGTacgt"), 20000)) for i in (1, 2, 3)}
    (folder / "genome.fa").write_text(fasta_text(chroms.items()))
    rows = []
    for chrom in chroms:
        for k, start in enumerate(range(500, 19000, 600)):
            strand = "-" if k % 3 == 0 else "+"
            rows.append(f"{chrom}\t{start}\t{start + 100}\t{chrom}_p{k}\t0\t{strand}")
    rows.append("chr1\t10\t60\tedge\t0\t+")  # its 200 bp window runs off the chromosome start
    (folder / "peaks.bed").write_text("\n".join(rows) + "\n")
    return folder


def genome_dataset(**overrides: Any) -> dict[str, Any]:
    spec = {
        "modality": "dna",
        "genome": "genome.fa",
        "regions": {"peak": "peaks.bed"},
        "length": 200,
        "negatives": {"method": "gc_matched", "ratio": 2},
        "split": {"validation": ["chr2"], "test": ["chr3"]},
    }
    spec.update(overrides)
    return spec


def write_sequence_files(folder: Path, n: int = 60) -> Path:
    """``pos.fa``: ``n`` 80 bp sequences with the motif (odd ones lower case), a duplicate and a 40 bp one."""
    rng = np.random.default_rng(9)
    positives = []
    for i in range(n):
        seq = list("".join(rng.choice(list("ACGT"), 80)))
        seq[30 : 30 + len(MOTIF)] = MOTIF
        positives.append((f"pos{i}", "".join(seq).lower() if i % 2 else "".join(seq)))
    positives.append(("copy", positives[0][1]))  # a duplicate sequence
    positives.append(("short", "ACGT" * 10))  # 40 bp, padded to 80
    (folder / "pos.fa").write_text(fasta_text(positives))
    return folder


def run(folder: Path, dataset: dict[str, Any], seed: int = 3) -> tuple[Path, dict[str, Any], pd.DataFrame]:
    """Validate ``dataset`` as the workflow does, prepare it into ``folder/out``; return the
    folder, the dataset description and the metadata."""
    # A baseline fits sequences of any length (some cases here are a few bases long).
    models = {"m": {"kind": "baseline", "estimator": "linear"}}
    config = validate_config({"seed": seed, "datasets": {"d": dataset}, "models": models}, base_dir=folder)
    out = folder / "out"
    prepare_dna(dataset_settings("d", config["datasets"]["d"]), seed, PreparedFiles.in_folder(out))
    return out, json.loads((out / "dataset.json").read_text()), pd.read_csv(out / "metadata.tsv", sep="\t")


def load_split(out: Path, description: dict[str, Any], split: str) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and labels of one split, shards concatenated."""
    shards = description["splits"][split]["shards"]
    length = description["input_shape"][0]
    x = (
        np.concatenate([files.load_npy(out / f"{s}.x.npy") for s in shards])
        if shards
        else np.empty((0, length, 4))
    )
    y = np.concatenate([files.load_npy(out / f"{s}.y.npy") for s in shards]) if shards else np.empty((0, 1))
    return x, y
