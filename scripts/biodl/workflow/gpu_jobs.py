"""Which training jobs ask the cluster for a GPU.

Contract: ``GpuJobs`` is the validated ``gpu_jobs`` section (``kinds``, ``min_data_mb``).
``gpus_for(kind, device, data_mb, policy)`` is the number of GPUs (0 or 1) a training job of a
network of ``kind`` with ``training.device`` = ``device`` on a prepared dataset of ``data_mb`` MB
asks for: 1 for ``gpu``, 0 for ``cpu``; for ``auto``, 1 when ``kind`` is one of ``policy.kinds``
and ``data_mb >= policy.min_data_mb``, else 0. The rules ``train``, ``train_mil`` and
``pretrain`` pass it as the Slurm resource ``gpu`` (``--gpus``); with 0 the job gets ``threads``
CPUs and no GPU. Baselines have their own rule and never ask. The dataset size is measured when
the job is ready to run: before preparation (a dry run of a fresh project) it reads 0, so
``auto`` jobs show no GPU there unless ``min_data_mb`` is 0.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from biodl.config.settings import FromConfig


@dataclasses.dataclass(frozen=True)
class GpuJobs(FromConfig):
    """``gpu_jobs``: the kinds and data sizes whose ``auto`` training jobs ask for a GPU."""

    SCHEMA_PART = "properties/gpu_jobs"
    CONFIG_KEY = "gpu_jobs"

    kinds: tuple[str, ...]
    min_data_mb: float


def gpus_for(kind: str, device: Literal["auto", "gpu", "cpu"], data_mb: float, policy: GpuJobs) -> int:
    """GPUs a training job asks the cluster for (see the module contract)."""
    if device != "auto":
        return int(device == "gpu")
    return int(kind in policy.kinds and data_mb >= policy.min_data_mb)
