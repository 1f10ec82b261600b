"""biodl.workflow.job_threads: jobs on small data ask for one thread, on enough data for per_job;
in the workflow's DAG the TensorFlow jobs carry that count (and Slurm's cpus_per_gpu with it)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from test_workflow import TINY, snakemake

from biodl.core.errors import InputError
from biodl.workflow.job_threads import JobThreads, threads_for

DEFAULT = JobThreads.from_config({})
RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def test_defaults_give_small_data_one_thread() -> None:
    assert (DEFAULT.per_job, DEFAULT.min_data_mb) == (2, 50)
    assert threads_for(0.0, DEFAULT) == 1  # a dry run before preparation measures nothing yet
    assert threads_for(49.9, DEFAULT) == 1
    assert threads_for(50.0, DEFAULT) == 2
    assert threads_for(3000.0, DEFAULT) == 2


def test_the_policy_is_configurable_and_checked() -> None:
    policy = JobThreads.from_config({"per_job": 8, "min_data_mb": 0})
    assert threads_for(0.0, policy) == 8
    with pytest.raises(InputError, match="per_job"):
        JobThreads.from_config({"per_job": 0})


def dry_run_threads(folder: Path, threads: dict[str, float]) -> dict[str, tuple[int, str | None]]:
    """rule → (threads, cpus_per_gpu) of the TensorFlow jobs in a dry run of the tiny DNA config."""
    config = {
        "seed": 1,
        "datasets": {"ctcf": TINY["datasets"]["ctcf"]},
        "models": {"cnn": {"kind": "cnn1d", "conv_layers": [{"filters": 4, "kernel_size": 8}]}},
        "threads": threads,
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    snakefile = str(Path(__file__).resolve().parents[1] / "Snakefile")
    result = snakemake(
        "-n", "--snakefile", snakefile, "--configfile", "config.yaml", "--cores", "8", cwd=folder
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = {}
    for rule, block in re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", result.stdout, re.M | re.S):
        if rule in {"train", "interpret_dna"}:
            count = re.search(r"^\s+threads: (\d+)$", block, re.M)
            per_gpu = re.search(r"\bcpus_per_gpu=(\d+)", block)
            found[rule] = (int(count[1]) if count else 1, per_gpu[1] if per_gpu else None)
    return found


def test_jobs_ask_for_the_threads_the_policy_gives(tmp_path: Path) -> None:
    shutil.copytree(
        Path(__file__).resolve().parents[1] / "resources" / "ctcf", tmp_path / "resources" / "ctcf"
    )
    shutil.copytree(
        Path(__file__).resolve().parents[1] / "resources" / "jaspar", tmp_path / "resources" / "jaspar"
    )
    # Nothing is prepared yet (0 MB): small data, one thread; Slurm's CPUs per GPU follow.
    assert dry_run_threads(tmp_path, {}) == {"train": (1, "1"), "interpret_dna": (1, None)}
    assert dry_run_threads(tmp_path, {"min_data_mb": 0, "per_job": 3}) == {
        "train": (3, "3"),
        "interpret_dna": (3, None),
    }
