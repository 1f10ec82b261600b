"""The DNA preparation step: inputs → one-hot shards + metadata.

Contract (``prepare_dna(spec, seed, files)``): from one dataset's typed settings
(``biodl.config.datasets.DnaDataset``) write, where ``files`` (``biodl.data.shards.PreparedFiles``) says,
- ``shards/{split}-{k:05d}.x.npy``: ``uint8`` (n, length, 4) one-hot, A C G T, written shard by
  shard so memory stays bounded by one shard and one chromosome;
- ``shards/{split}-{k:05d}.y.npy``: ``float32`` (n, T) labels (binary: 1 = positive class;
  multiclass: one-hot over ``classes``; multilabel: one column per label column or task, NaN
  where a label is missing);
- ``metadata.tsv``: split, shard, offset, source, name, chrom, start, end, strand, label — in
  shard order, so predictions can be traced back to their interval or record;
- ``dataset.json``: task, classes, targets, input shape, ambiguous mode, per-split shards and
  counts (written last: its presence means the dataset is complete).

Inputs (exactly one): ``genome`` + ``regions`` (class → BED/narrowPeak,
``biodl.data.dna.from_genome``), ``genome`` + ``tasks`` (task → BED/narrowPeak, a multi-label
dataset labelled by overlap, ``biodl.data.dna.from_tasks``), ``genome`` + ``tracks`` (target →
bigWig, bedGraph or peak file: a regression dataset, ``biodl.data.dna.from_tracks``),
``sequences`` (class → FASTA of sequences) or ``table`` (CSV/TSV with a sequence column and
label columns; both ``biodl.data.dna.from_sequences``).
Classes: the negative label first when negatives are generated, then the configured classes in
config order; with two classes the task is binary and the second class is the positive one
(``biodl.data.dna.examples``). Every random choice draws from one generator seeded with ``seed``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from biodl.config.datasets import DnaDataset
from biodl.core.files import atomic_dir, write_json
from biodl.data.dna.examples import DnaJob, Labelling, input_files, labelling
from biodl.data.dna.from_genome import from_genome
from biodl.data.dna.from_sequences import from_sequence_files, from_table
from biodl.data.dna.from_tasks import from_tasks
from biodl.data.dna.from_tracks import from_tracks
from biodl.data.shards import PreparedFiles, close_dataset, writer_for


def prepare_dna(spec: DnaDataset, seed: int, files: PreparedFiles) -> dict[str, Any]:
    """Prepare one DNA dataset; see the module docstring. Returns the dataset description."""
    rng = np.random.default_rng(seed)
    with atomic_dir(files.shards) as tmp_shards, tempfile.TemporaryDirectory() as index_dir:
        job = DnaJob(spec, seed, rng, writer_for("dna", tmp_shards, spec.shard_size), Path(index_dir))
        labels = _write_examples(job)
        description = close_dataset(
            job.writer,
            {
                "name": spec.name,
                "modality": "dna",
                "task": labels.task,
                "classes": labels.classes,
                "targets": _targets(spec, labels),
                "input_shape": [spec.length, 4],
                "ambiguous": spec.ambiguous,
                "seed": seed,
            },
            input_files(spec),
            files.metadata,
        )
    write_json(description, files.dataset)
    return description


def _write_examples(job: DnaJob) -> Labelling:
    """Hand every example of the dataset's one input to the writer; return its classes and task."""
    spec = job.spec
    if spec.tasks is not None:
        return from_tasks(job)
    if spec.tracks is not None:
        return from_tracks(job)
    if spec.genome is not None:
        assert spec.regions is not None, "genome input comes with regions (biodl.config.checks)"
        labels = labelling(spec, list(spec.regions))
        from_genome(job, labels)
        return labels
    if spec.sequences is not None:
        labels = labelling(spec, list(spec.sequences))
        from_sequence_files(job, labels)
        return labels
    return from_table(job)


def _targets(spec: DnaDataset, labels: Labelling) -> list[str]:
    """What the network predicts: the regression columns, the positive class, or every class."""
    if labels.task == "regression" and spec.tracks is not None:
        return list(spec.tracks)
    if labels.task == "regression":
        assert spec.table is not None, "a table or tracks hold regression targets"
        return list(spec.table.label_columns)
    return [labels.classes[1]] if labels.task == "binary" else labels.classes
