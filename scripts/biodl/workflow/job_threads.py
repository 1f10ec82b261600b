"""How many CPU threads a job that runs TensorFlow or numba asks for.

Contract: ``JobThreads`` is the validated ``threads`` section (``per_job``, ``min_data_mb``).
``threads_for(data_mb, policy)`` is the thread count of a job that reads ``data_mb`` MB: ``per_job``
from ``min_data_mb`` up, else 1. Training, pre-training, learning curves, sanity checks and DNA
interpretation measure the prepared dataset's shards; image preparation and application measure
their inputs. Small data makes short jobs of small operations that a second thread hardly
shortens (the demo's two-thread training jobs kept 1.0 core busy on average), so two one-thread
jobs side by side use two cores where one two-thread job leaves one idle. Sizes are measured when
a job is ready to run (Snakemake evaluates threads again then): a dry run before preparation
reads 0 MB. The count is capped by ``--cores``, and TensorFlow's results can differ in the last
digits between thread counts (summation order), so the config fixes the numbers it gives.
"""

from __future__ import annotations

import dataclasses

from biodl.config.settings import FromConfig


@dataclasses.dataclass(frozen=True)
class JobThreads(FromConfig):
    """``threads``: the threads of a job on enough data, and what counts as enough."""

    SCHEMA_PART = "properties/threads"
    CONFIG_KEY = "threads"

    per_job: int
    min_data_mb: float


def threads_for(data_mb: float, policy: JobThreads) -> int:
    """Threads of a job that reads ``data_mb`` MB (see the module contract)."""
    return policy.per_job if data_mb >= policy.min_data_mb else 1
