"""biodl.workflow.gpu_jobs: training jobs ask for a GPU by device, kind and data size; in the
workflow's DAG the train jobs carry that as their Slurm gpu resource."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml
from test_workflow import TINY, snakemake

from biodl.workflow.gpu_jobs import GpuJobs, gpus_for

DEFAULT = GpuJobs.from_config({})


def test_defaults_leave_mlps_and_small_data_on_cpus() -> None:
    assert DEFAULT.min_data_mb == 50 and "mlp" not in DEFAULT.kinds
    assert gpus_for("dilated_resnet", "auto", 400.0, DEFAULT) == 1
    assert gpus_for("cnn2d", "auto", 50.0, DEFAULT) == 1
    assert gpus_for("cnn2d", "auto", 49.9, DEFAULT) == 0  # a tiny dataset: CPUs are enough
    assert gpus_for("mlp", "auto", 10_000.0, DEFAULT) == 0  # an MLP on a big table: still CPUs
    # Tile bags and convolutional pre-training ask as the CNNs do; a dense autoencoder as an MLP.
    assert gpus_for("attention_mil", "auto", 50.0, DEFAULT) == 1
    assert gpus_for("conv_autoencoder", "auto", 50.0, DEFAULT) == 1
    assert gpus_for("dense_autoencoder", "auto", 10_000.0, DEFAULT) == 0


def test_the_device_setting_overrides_the_policy() -> None:
    assert gpus_for("mlp", "gpu", 0.0, DEFAULT) == 1
    assert gpus_for("deepsea", "cpu", 10_000.0, DEFAULT) == 0


def test_the_policy_is_configurable() -> None:
    policy = GpuJobs.from_config({"kinds": ["mlp"], "min_data_mb": 0})
    assert gpus_for("mlp", "auto", 0.0, policy) == 1 and gpus_for("cnn1d", "auto", 1e6, policy) == 0


def test_train_jobs_ask_for_a_gpu_as_their_model_and_the_policy_say(tmp_path: Path) -> None:
    shutil.copytree(Path(__file__).resolve().parents[1] / "resources", tmp_path / "resources")
    models = {
        "motif_cnn": {"kind": "cnn1d", "conv_layers": [{"filters": 4, "kernel_size": 8}]},
        "forced_cpu": {
            "kind": "cnn1d",
            "conv_layers": [{"filters": 4, "kernel_size": 8}],
            "training": {"device": "cpu"},
        },
        "resnet": {"kind": "dilated_resnet", "filters": 4, "layers": 2},
        "table_mlp": {"kind": "mlp"},
        "forced_gpu": {"kind": "mlp", "training": {"device": "gpu"}},
        "linear": {"kind": "baseline", "estimator": "linear"},
    }
    config = {
        "seed": 1,
        "datasets": {"ctcf": TINY["datasets"]["ctcf"], "cancer": TINY["datasets"]["cancer"]},
        "models": models,
        # Nothing is prepared yet (0 MB): a threshold of 0 lets the kinds decide.
        "gpu_jobs": {"min_data_mb": 0},
        "interpretation": {"enabled": False},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    snakefile = str(Path(__file__).resolve().parents[1] / "Snakefile")
    result = snakemake("-n", "--snakefile", snakefile, "--configfile", "config.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = re.findall(r"^rule (train\w*):\n(.*?)(?=^\S|\Z)", result.stdout, re.M | re.S)
    gpus = {}
    for rule, block in jobs:
        model = re.search(r"model=([\w.]+)", block)[1]  # type: ignore[index]
        found = re.search(r"\bgpu=(\d+)", block)
        gpus[model] = (rule, int(found[1]) if found else None)
    assert gpus == {
        "motif_cnn": ("train", 1),
        "forced_cpu": ("train", 0),
        "resnet": ("train", 1),
        "table_mlp": ("train", 0),
        "forced_gpu": ("train", 1),
        "linear": ("train_baseline", None),
    }
