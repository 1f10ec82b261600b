"""A multi-label DNA dataset from a genome FASTA and one interval file per task.

Contract of ``from_tasks(job)``:
- The tasks' files are read and checked against the genome (``biodl.data.dna.overlap.read_tasks``:
  unique names, known chromosomes, ends within them).
- Examples are windows of ``length`` bases centred on the regions of the union of all tasks,
  where regions closer than ``overlap.merge_distance`` bases are merged first (each merged region
  one window; ``edge`` as for regions), plus, with ``negatives: gc_matched``, background windows
  GC-matched to them and away from their bases (``biodl.data.dna.from_genome.gc_matched``).
  Or, given a ``windows`` block (``biodl.data.dna.bins.configured_windows``, as for ``tracks``),
  the examples are bins of ``length`` every ``windows.stride`` bases over the genome or inside
  ``windows.regions``, or one window per region of ``windows.regions``: every example labelled
  by the same overlap rule (GC-matched background only beside regions, not genome-wide bins).
- Every window, background included, is labelled for every task by overlap with that task's
  regions (``overlap`` settings, ``biodl.data.dna.overlap.label_windows``): 1, 0 or NaN (missing,
  masked in the loss and metrics). So a background window that touches a region which reaches
  beyond its merged window is labelled from that overlap, never assumed negative.
- Splits hold out whole chromosomes or regions as for ``regions`` (windows straddling a boundary
  are dropped). A task without a positive, or without a negative, in a split is refused
  (``InputError`` naming the task, the split and the counts): its metrics there would be
  undefined, and a task with nothing to learn in training is a configuration mistake. Choose
  hold-outs where every task has examples, or leave the task out.
- Metadata: ``source`` is ``tasks`` (union windows), ``bins``, ``regions`` or ``gc_matched``;
  ``label`` names the tasks the window is positive for, joined by ``;`` (empty for none), as for
  multi-label tables.
Returns the ``Labelling``: the task names in config order, task ``multilabel``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from biodl.config.datasets import DnaDataset
from biodl.core.errors import InputError
from biodl.core.vocabulary import SPLITS
from biodl.data import splits
from biodl.data.dna.bins import configured_windows
from biodl.data.dna.examples import DnaJob, Labelling, input_files
from biodl.data.dna.from_genome import Genome, gc_matched, split_windows, write_windows
from biodl.data.dna.overlap import OverlapRule, TaskIntervals, label_windows, merge, read_tasks
from biodl.data.dna.windows import make_windows

log = logging.getLogger(__name__)


def from_tasks(job: DnaJob) -> Labelling:
    """Write the union windows and background of every task, labelled by overlap (see the contract)."""
    spec = job.spec
    assert spec.genome is not None and spec.tasks is not None, "checked by biodl.config.checks"
    genome = Genome.open(spec.genome, job.index_dir)
    tasks = read_tasks(list(spec.tasks.items()), genome.sizes, spec.genome)
    labels = Labelling(list(spec.tasks), "multilabel")
    holdouts = genome.holdouts(spec)
    windows = example_windows(spec, genome, tasks, holdouts)
    if spec.negatives.method == "gc_matched":
        windows = pd.concat([windows, gc_matched(job, genome, windows, holdouts)], ignore_index=True)
    windows = windows.sort_values(["chrom", "start"], kind="stable", ignore_index=True)
    rule = OverlapRule(spec.overlap.measure, spec.overlap.min_fraction, spec.overlap.ambiguous)
    y = label_windows(
        windows["chrom"].to_numpy(), windows["start"].to_numpy(), windows["end"].to_numpy(), tasks, rule
    )
    require_both_classes(y, windows["split"].to_numpy(), labels.classes, input_files(spec))
    windows["label"] = label_texts(y, labels.classes)
    windows["strand"] = "+"
    write_windows(job, labels, genome, windows[[*job.writer.row_columns, "split"]], y)
    return labels


def example_windows(
    spec: DnaDataset, genome: Genome, tasks: list[TaskIntervals], holdouts: dict[str, list[splits.Region]]
) -> pd.DataFrame:
    """The windows to label, each with its split (see the contract)."""
    if spec.windows.regions is not None or spec.windows.stride is not None:
        windows, _ = split_windows(configured_windows(spec, genome), holdouts, ("start", "end"))
        why = "every one straddles a hold-out boundary"
    else:
        regions = union_regions(tasks, spec.overlap.merge_distance)
        windows = make_windows(regions, spec.length, genome.sizes, "centre", spec.edge)
        windows, _ = split_windows(windows, holdouts, ("win_start", "win_end"))
        windows = windows.assign(start=windows["win_start"], end=windows["win_end"], source="tasks")
        windows["name"] = windows["chrom"] + ":" + windows["start"].astype(str)
        why = (
            f"of {len(regions)} merged regions, past a chromosome end with edge: {spec.edge}, "
            "or straddling a hold-out boundary"
        )
    if windows.empty:
        raise InputError(input_files(spec), None, f"no window remains ({why}); expected at least one")
    return windows


def union_regions(tasks: list[TaskIntervals], distance: int) -> pd.DataFrame:
    """The regions of all tasks merged per chromosome (closer than ``distance`` bases: one region),
    as a ``read_bed``-like frame (no name, strand ``+``, no summit)."""
    frames = []
    for chrom in dict.fromkeys(chrom for task in tasks for chrom in task.by_chrom):
        parts = [task.by_chrom[chrom] for task in tasks if chrom in task.by_chrom]
        starts = np.concatenate([p.merged_starts for p in parts])
        ends = np.concatenate([p.merged_ends for p in parts])
        order = np.argsort(starts, kind="stable")
        merged_starts, merged_ends = merge(starts[order], ends[order], distance)
        frames.append(pd.DataFrame({"chrom": chrom, "start": merged_starts, "end": merged_ends}))
    union = pd.concat(frames, ignore_index=True)
    log.info("%d regions in the union of %d tasks (merge distance %d)", len(union), len(tasks), distance)
    return union.assign(name=".", score=".", strand="+", summit=-1)


def require_both_classes(y: np.ndarray, split_of_rows: np.ndarray, tasks: list[str], source: str) -> None:
    """Refuse a task without a positive or without a negative in a split (see the contract)."""
    for split in SPLITS:
        in_split = y[split_of_rows == split]
        positives, negatives = (in_split == 1).sum(axis=0), (in_split == 0).sum(axis=0)
        missing = np.isnan(in_split).sum(axis=0)
        log.info(
            "%s: positives per task %s (missing labels %s)",
            split,
            dict(zip(tasks, positives.tolist(), strict=True)),
            dict(zip(tasks, missing.tolist(), strict=True)),
        )
        for t, task in enumerate(tasks):
            if not positives[t] or not negatives[t]:
                raise InputError(
                    source,
                    f"task {task!r}, split {split!r}",
                    f"{positives[t]} positive and {negatives[t]} negative windows ({missing[t]} missing); "
                    "expected both, so that the task can be learned and evaluated: hold out other "
                    "chromosomes (split.validation, split.test) or leave the task out",
                )


def label_texts(y: np.ndarray, tasks: list[str]) -> list[str]:
    """Per window, the tasks it is positive for, joined by ``;``."""
    names = np.asarray(tasks, dtype=object)
    return [";".join(names[row == 1]) for row in y]
