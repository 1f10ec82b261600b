"""biodl.training.checkpoint and resuming: an interrupted training continues to the same result as an
uninterrupted one, in process and through Snakemake after a SIGKILL."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import yaml

import biodl.training.callbacks
from biodl.config.models import check_model
from biodl.core.files import RunFolder
from biodl.training.checkpoint import Checkpoint, Saved, fingerprint
from biodl.training.loop import TrainingRun, train_model

ROOT = Path(__file__).resolve().parents[1]


def test_a_checkpoint_round_trips_and_a_foreign_one_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpoint = Checkpoint(RunFolder(tmp_path, "data", "ck"))
    saved = Saved(
        {"fingerprint": "abc", "epochs_done": 2},
        {"model": [np.arange(3.0), np.ones((2, 2), np.float32)], "optimizer": [np.int64(5)]},
    )
    checkpoint.save(saved)
    assert [p.name for p in (tmp_path / "data/ck").iterdir()] == ["checkpoint.npz"]  # no temporary file left
    loaded = checkpoint.load("abc")
    assert loaded is not None and loaded.state == saved.state
    assert [a.tolist() for a in loaded.arrays["model"]] == [[0.0, 1.0, 2.0], [[1.0, 1.0], [1.0, 1.0]]]
    assert loaded.arrays["optimizer"][0] == 5 and loaded.arrays["best"] == []
    with caplog.at_level(logging.WARNING, logger="biodl.training.checkpoint"):
        assert checkpoint.load("other") is None
    assert "written for another configuration" in caplog.text
    assert not (tmp_path / "data/ck").exists()
    (tmp_path / "data/ck").mkdir()
    (tmp_path / "data/ck/checkpoint.npz").write_bytes(b"truncated")
    assert checkpoint.load("abc") is None and not (tmp_path / "data/ck").exists()
    assert (
        fingerprint({"a": 1, "b": 2}, 3)
        == fingerprint({"b": 2, "a": 1}, 3)
        != fingerprint({"a": 1, "b": 2}, 4)
    )


class Interrupted(Exception):
    pass


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, epoch: int) -> None:
    """Crash training right after epoch ``epoch``'s checkpoint is on disk (as a kill would)."""
    original = biodl.training.callbacks.EpochCheckpoint.on_epoch_end

    def crash(self: object, index: int, logs: dict | None = None) -> None:
        original(self, index, logs)
        if index + 1 == epoch:
            raise Interrupted

    monkeypatch.setattr(biodl.training.callbacks.EpochCheckpoint, "on_epoch_end", crash)


def test_resumed_training_ends_like_an_uninterrupted_one(
    binary_dataset: Path,
    tiny_config: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Dropout and augmentation (random-generator states), Adam moments, a plateau schedule and
    # early stopping all carry over.
    config = {
        **tiny_config,
        "dense_layers": [{"units": 8, "dropout": 0.3}],
        "augmentation": {"reverse_complement": True, "shift": 2},
        "training": {
            **tiny_config["training"],
            "epochs": 5,
            "patience": 3,
            "schedule": {"kind": "plateau", "patience": 0, "factor": 0.5},
        },
    }

    def run(out: Path) -> pd.DataFrame:
        return train_model(
            TrainingRun(
                binary_dataset,
                check_model("tiny", config),
                1,
                out / "model.keras",
                out / "history.tsv",
                checkpoint=RunFolder(out, "d", "checkpoint"),
                tensorboard=RunFolder(out, "d", "tensorboard"),
                initial_loss_path=out / "initial_loss.tsv",
            )
        )

    whole = run(tmp_path / "whole")
    assert not (tmp_path / "whole/d/checkpoint").exists()  # deleted after success
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 2)
        with pytest.raises(Interrupted):
            run(tmp_path / "resumed")
    assert (tmp_path / "resumed/d/checkpoint/checkpoint.npz").exists() and not (
        tmp_path / "resumed/model.keras"
    ).exists()
    caplog.clear()  # count the resumed run's epochs only, whatever earlier tests set the log level to
    with caplog.at_level(logging.INFO, logger="biodl.training"):
        resumed = run(tmp_path / "resumed")
    assert "resuming from epoch 3 of 5" in caplog.text
    assert sum("] epoch " in m for m in caplog.messages) == 3  # only epochs 3-5 ran again
    assert (tmp_path / "resumed/history.tsv").read_bytes() == (tmp_path / "whole/history.tsv").read_bytes()
    # The resumed run measures the initial weights too (rebuilt from the seed), not the checkpoint's.
    initial = (tmp_path / "whole/initial_loss.tsv").read_bytes()
    assert (tmp_path / "resumed/initial_loss.tsv").read_bytes() == initial
    pd.testing.assert_frame_equal(resumed, whole)
    weights = [
        keras.models.load_model(tmp_path / run / "model.keras").get_weights() for run in ("whole", "resumed")
    ]
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))
    assert (
        len(list((tmp_path / "resumed/d/tensorboard/train").glob("events*"))) == 2
    )  # before and after the interruption


def test_a_checkpoint_of_another_seed_is_not_resumed(
    binary_dataset: Path,
    tiny_config: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def run(seed: int) -> pd.DataFrame:
        return train_model(
            TrainingRun(
                binary_dataset,
                check_model("tiny", tiny_config),
                seed,
                tmp_path / "model.keras",
                tmp_path / "history.tsv",
                checkpoint=RunFolder(tmp_path, "d", "checkpoint"),
            )
        )

    with monkeypatch.context() as patch:
        _interrupt_after(patch, 1)
        with pytest.raises(Interrupted):
            run(1)
    with caplog.at_level(logging.INFO):
        history = run(2)
    assert "written for another configuration" in caplog.text and "resuming" not in caplog.text
    assert len(history) == 3


TINY = {
    "seed": 5,
    "datasets": {
        "ctcf": {
            "modality": "dna",
            "sequences": {"CTCF": "resources/ctcf/Gm12878.CTCF.top500.w200.fa"},
            "length": 200,
            "negatives": {"method": "shuffle", "ratio": 1},
        }
    },
    "models": {
        "cnn": {
            "kind": "cnn1d",
            "conv_layers": [{"filters": 32, "kernel_size": 15}],
            "global_pool": "max",
            "dense_layers": [{"units": 16, "dropout": 0.2}],
            "training": {
                "epochs": 8,
                "patience": 8,
                "batch_size": 32,
                "learning_rate": 0.003,
                "schedule": {"kind": "cosine"},
            },
        }
    },
    "runs": {"ctcf": ["cnn"]},
    "evaluation": {"bootstrap": 0},
}
TARGET = "results/evaluation/ctcf/cnn/predictions.tsv"


def _workdir(tmp_path: Path, name: str) -> Path:
    workdir = tmp_path / name
    (workdir / "resources").mkdir(parents=True)
    os.symlink(ROOT / "resources/ctcf", workdir / "resources/ctcf")
    (workdir / "config.yaml").write_text(yaml.safe_dump(TINY))
    return workdir


def _snakemake(workdir: Path, *extra: str) -> subprocess.Popen:
    snakemake = str(Path(sys.executable).parent / "snakemake")
    return subprocess.Popen(
        [
            snakemake,
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--configfile",
            "config.yaml",
            "--cores",
            "2",
            *extra,
            TARGET,
        ],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _training_process(snakemake_pid: int) -> int | None:
    for pid in _descendants(snakemake_pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"python" in command and b"train.py" in command:
            return pid
    return None


@pytest.mark.workflow
def test_a_training_job_killed_by_sigkill_resumes_when_the_workflow_is_rerun(tmp_path: Path) -> None:
    whole = _workdir(tmp_path, "whole")
    assert _snakemake(whole).wait(timeout=600) == 0

    killed = _workdir(tmp_path, "killed")
    run = _snakemake(killed)
    checkpoint = killed / "results/checkpoints/ctcf/cnn/checkpoint.npz"
    deadline = time.time() + 400
    while time.time() < deadline and run.poll() is None:
        if (
            checkpoint.exists()
            and Checkpoint(RunFolder(killed / "results/checkpoints", "ctcf", "cnn"))
            .load_state()
            .get("epochs_done", 0)
            >= 2
        ):
            break
        time.sleep(0.05)
    pid = _training_process(run.pid)
    assert pid is not None, "the training job was not running"
    os.kill(pid, signal.SIGKILL)
    output, _ = run.communicate(timeout=120)
    assert run.returncode != 0, output[-2000:]
    done = Checkpoint(RunFolder(killed / "results/checkpoints", "ctcf", "cnn")).load_state()["epochs_done"]
    assert 2 <= done < 8
    assert not (killed / "results/models/ctcf/cnn/model.keras").exists()

    rerun = _snakemake(killed)
    output, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, output[-3000:]
    log = (killed / "logs/train/ctcf/cnn.log").read_text()
    assert f"resuming from epoch {done + 1} of 8" in log
    assert not checkpoint.parent.exists()
    for path in ("results/models/ctcf/cnn/history.tsv", TARGET):
        assert (killed / path).read_bytes() == (whole / path).read_bytes(), path
