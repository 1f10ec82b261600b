"""biodl.core.run_lock: one training per run, stale locks taken over, and training that honours it."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from biodl.config.models import check_model
from biodl.core import run_lock as locks
from biodl.core.files import RunFolder
from biodl.core.log import run_step
from biodl.core.run_lock import RunLocked, lock_path, run_lock
from biodl.training.loop import TrainingRun, train_model

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.fixture
def folder(tmp_path: Path) -> RunFolder:
    return RunFolder(tmp_path / "checkpoints", "d", "m")


def _write_lock(folder: RunFolder, **owner: object) -> Path:
    path = lock_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"taken": "2026-01-01T00:00:00+00:00", **owner}))
    return path


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(child.stdout)


def test_a_second_training_of_a_run_is_refused_naming_who_holds_it(folder: RunFolder) -> None:
    with run_lock(folder):
        path = lock_path(folder)
        assert path.name == ".m.lock" and path.parent == folder.path.parent  # beside the run's folder
        with pytest.raises(RunLocked) as error, run_lock(folder):
            pass
        assert error.value.source == str(path)
        message = error.value.problem
        assert f"run d/m is being trained by process {os.getpid()} on {socket.gethostname()}" in message
        assert f"kill {os.getpid()}" in message and "expected one training per run" in message
    assert not path.exists()
    with run_lock(folder):  # free again
        assert path.exists()


def test_a_lock_left_by_a_killed_process_is_taken_over_with_a_log_line(
    folder: RunFolder, caplog: pytest.LogCaptureFixture
) -> None:
    pid = _dead_pid()
    _write_lock(folder, host=socket.gethostname(), pid=pid, started=1)
    with caplog.at_level(logging.WARNING, logger="biodl.core.run_lock"), run_lock(folder):
        assert json.loads(lock_path(folder).read_text())["pid"] == os.getpid()
    assert f"taking over the lock of run d/m from process {pid}" in caplog.text


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times are read from /proc")
def test_a_reused_process_id_is_not_the_owner(folder: RunFolder) -> None:
    started = locks._start_time(os.getpid())
    assert started is not None
    _write_lock(folder, host=socket.gethostname(), pid=os.getpid(), started=started - 1)
    with run_lock(folder):
        assert json.loads(lock_path(folder).read_text())["started"] == started


def test_another_hosts_lock_holds_while_it_beats_and_is_taken_over_after(folder: RunFolder) -> None:
    path = _write_lock(folder, host="node-elsewhere", pid=1, started=1)
    with pytest.raises(
        RunLocked, match=r"process 1 on node-elsewhere .*alive 0 s ago.*run again in 1[12]\d s"
    ):
        with run_lock(folder):
            pass
    old = time.time() - locks.STALE_AFTER_S - 5
    os.utime(path, (old, old))
    with run_lock(folder):
        assert json.loads(path.read_text())["host"] == socket.gethostname()


def test_the_heartbeat_keeps_a_held_lock_fresh(folder: RunFolder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locks, "HEARTBEAT_S", 0.05)
    with run_lock(folder):
        path = lock_path(folder)
        old = time.time() - 1000
        os.utime(path, (old, old))
        time.sleep(0.3)
        assert time.time() - path.stat().st_mtime < 5


def test_leaving_deletes_only_a_lock_that_is_still_its_own(folder: RunFolder) -> None:
    with run_lock(folder):
        _write_lock(folder, host="other", pid=2)  # (only a broken setup does this)
    assert json.loads(lock_path(folder).read_text())["host"] == "other"


def test_no_folder_no_lock() -> None:
    with run_lock(None):
        pass


# The winner holds the lock until the three others were refused (or 30 s passed): on a loaded
# machine a racer that starts late must still find the lock taken, not a finished run.
RACER = """
import os, sys, time
from pathlib import Path
from biodl.core.files import RunFolder
from biodl.core.run_lock import RunLocked, run_lock
folder = Path(sys.argv[1])
try:
    with run_lock(RunFolder(folder, "d", "m")):
        print("trained", flush=True)
        deadline = time.monotonic() + 30
        while len(list(folder.glob("refused_*"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
except RunLocked:
    (folder / f"refused_{os.getpid()}").touch()
    print("refused", flush=True)
"""


def test_of_processes_racing_for_one_run_exactly_one_trains(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS)}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(4)
    ]
    outcomes = sorted(racer.communicate(timeout=60)[0].strip() for racer in racers)
    assert outcomes == ["refused", "refused", "refused", "trained"]


HOLDER = """
import sys, time
from pathlib import Path
from biodl.core.files import RunFolder
from biodl.core.run_lock import run_lock
with run_lock(RunFolder(Path(sys.argv[1]), sys.argv[2], "tiny")):
    print("held", flush=True)
    time.sleep(600)
"""


def test_training_stops_at_once_while_an_orphaned_training_holds_the_run_and_resumes_after_kill(
    binary_dataset: Path, tiny_config: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The case of the issue: Snakemake killed with -9, its training job left running."""
    roots = tmp_path / "checkpoints"
    run = TrainingRun(
        binary_dataset,
        check_model("tiny", tiny_config),
        1,
        tmp_path / "out" / "model.keras",
        tmp_path / "out" / "history.tsv",
        checkpoint=RunFolder(roots, binary_dataset.name, "tiny"),
        threads=1,
    )
    orphan = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(roots), binary_dataset.name],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SCRIPTS)},
    )
    try:
        assert orphan.stdout is not None and orphan.stdout.readline().strip() == "held"
        log = tmp_path / "logs" / "train.log"
        with pytest.raises(SystemExit) as stop:
            run_step(log, lambda: train_model(run))
        assert stop.value.code == 1
        errors = [line for line in log.read_text().splitlines() if " ERROR " in line]
        assert len(errors) == 1 and f"is being trained by process {orphan.pid}" in errors[0]
        assert "Traceback" not in log.read_text()
        assert not (tmp_path / "out").exists()
    finally:
        orphan.kill()
        orphan.wait()
    with caplog.at_level(logging.WARNING, logger="biodl.core.run_lock"):
        train_model(run)
    assert f"taking over the lock of run {binary_dataset.name}/tiny from process {orphan.pid}" in caplog.text
    assert (tmp_path / "out" / "model.keras").is_file() and not lock_path(run.checkpoint).exists()
