"""biodl.training.sanity: a network fits a tiny training subset (or is reported as failing to), and the
workflow adds the check only when the config asks."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from biodl.config.models import DnaAugmentation, check_model
from biodl.config.settings import SanitySettings
from biodl.training.sanity import overfit_check, unregularised

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = SanitySettings.from_config(examples=32, max_epochs=150, target_accuracy=1.0, target_loss=0.01)


def test_regularisers_are_switched_off() -> None:
    config = check_model(
        "m",
        {
            "kind": "cnn1d",
            "conv_layers": [{"filters": 4, "kernel_size": 3, "dropout": 0.2, "batch_norm": True}],
            "dense_layers": [{"units": 4, "dropout": 0.5}],
            "l2": 0.1,
            "max_norm": 1.0,
            "augmentation": {"reverse_complement": True, "shift": 2},
            "training": {"class_weight": "balanced"},
        },
    )
    plain = unregularised(config)
    assert plain.conv_layers[0].dropout == 0 and plain.conv_layers[0].batch_norm is True
    assert plain.dense_layers[0].dropout == 0 and plain.l2 == 0 and plain.max_norm is None
    assert plain.augmentation == DnaAugmentation(reverse_complement=False, shift=0, average_strands=False)
    assert plain.training.class_weight is None
    assert config.l2 == 0.1 and config.training.class_weight == "balanced"  # the model's own settings stay


def test_a_network_fits_32_examples_by_heart(binary_dataset: Path, tiny_config: dict, tmp_path: Path) -> None:
    config = {
        **tiny_config,
        "dense_layers": [{"units": 16, "dropout": 0.5}],
        "training": {**tiny_config["training"], "learning_rate": 0.02},
    }
    row = overfit_check(binary_dataset, check_model("tiny", config), 1, tmp_path / "sanity.tsv", SETTINGS)
    written = pd.read_csv(tmp_path / "sanity.tsv", sep="\t")
    assert written.columns.tolist() == [
        "dataset",
        "model",
        "examples",
        "epochs",
        "loss",
        "accuracy",
        "criterion",
        "passed",
    ]
    assert bool(written["passed"][0]) and written["accuracy"][0] == 1.0 and written["examples"][0] == 32
    assert 1 < written["epochs"][0] < 150  # stopped once fitted
    np.testing.assert_allclose(written["loss"], row["loss"])


def test_too_few_epochs_fail_the_check(binary_dataset: Path, tiny_config: dict, tmp_path: Path) -> None:
    row = overfit_check(
        binary_dataset,
        check_model("tiny", tiny_config),
        1,
        tmp_path / "sanity.tsv",
        dataclasses.replace(SETTINGS, max_epochs=1),
    )
    assert not bool(row["passed"][0]) and row["epochs"][0] == 1 and row["accuracy"][0] < 1.0


def _dry_run(tmp_path: Path, enabled: bool) -> str:
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["sanity_check"] = {"enabled": enabled}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "snakemake"),
            "-n",
            "--forceall",
            "--quiet",
            "rules",
            "--configfile",
            str(tmp_path / "config.yaml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def test_the_workflow_checks_every_plain_network_run_only_when_enabled(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    # Plain networks only: ensembles and searches are checked through the model they vary.
    plain = {
        name
        for name, model in config["models"].items()
        if model["kind"] != "baseline" and "ensemble" not in model and "search" not in model
    }
    networks = sum(m in plain for models in config["runs"].values() for m in models)
    counts = dict(
        line.split()[:2] for line in _dry_run(tmp_path, True).splitlines() if len(line.split()) == 2
    )
    assert counts["sanity_check"] == str(networks)
    assert "sanity_check" not in _dry_run(tmp_path, False)
