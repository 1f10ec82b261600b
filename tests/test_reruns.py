"""Crashes and reruns: Snakemake killed with SIGKILL in the middle of a job, then run again,
finishes with exactly the outputs of an uninterrupted run; two fresh runs of one config agree.

The tiny configuration prepares a genome dataset (the demo's yeast chromosomes and promoters,
GC-matched background) and a table (the demo's breast cancer table), fits the linear baseline
on both and evaluates them (networks are left out to keep the test short: identical seeds
giving identical training is tests/test_loop.py's). The kills land while a preparing job
builds its shard folder (a ``.shards.*.tmp`` folder exists) and while an evaluation job
writes its outputs. Then the same command runs again, after ``--unlock`` when Snakemake asks for it
(README, Troubleshooting); the workflow profile's ``rerun-incomplete`` redoes the killed jobs.
Outputs are compared byte for byte, except skops files (the fitted baselines ``model.skops`` and
the table preprocessing ``preprocessing.skops``: zip archives that store write times and object
ids), whose results are compared instead through ``predictions.tsv`` and the prepared shards.
No training job is killed here: resuming training is ``biodl.training.loop``'s
(tests/test_loop.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
CONFIG = {
    "seed": 11,
    "datasets": {
        "yeast": {
            "modality": "dna",
            "genome": "resources/yeast/sacCer_chrI_chrII.fa",
            "regions": {"promoter": "resources/yeast/promoters.bed"},
            "length": 200,
            "negatives": {"method": "gc_matched", "ratio": 1},
            "split": {"validation": ["chrII:1-200000"], "test": ["chrI"]},
        },
        "cancer": {
            "modality": "table",
            "path": "resources/tables/breast_cancer.csv",
            "id_column": "sample",
            "label_columns": ["diagnosis"],
            "task": "binary",
            "classes": ["benign", "malignant"],
        },
    },
    "models": {"linear": {"kind": "baseline", "estimator": "linear", "cv_folds": 3}},
    "runs": {"yeast": ["linear"], "cancer": ["linear"]},
    "evaluation": {"bootstrap": 200},
}
# Archives that hold write times; what they produce is compared instead (predictions.tsv).
NOT_BYTE_STABLE = ("model.skops", "preprocessing.skops")


def workdir_for(root: Path) -> Path:
    root.mkdir(parents=True)
    for folder in ("yeast", "tables"):
        shutil.copytree(ROOT / "resources" / folder, root / "resources" / folder)
    (root / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    return root


def command(*extra: str) -> list[str]:
    return [
        SNAKEMAKE,
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--configfile",
        "config.yaml",
        "--cores",
        "2",
        *extra,
    ]


def run(workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    result = subprocess.run(command(*extra), cwd=workdir, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def outputs(workdir: Path) -> dict[str, bytes]:
    """Every file under results/, by relative path (the fitted baselines by name only)."""
    found = {}
    for path in sorted((workdir / "results").rglob("*")):
        if path.is_file():
            found[str(path.relative_to(workdir))] = b"" if path.name in NOT_BYTE_STABLE else path.read_bytes()
    return found


def session_processes(session: int) -> list[int]:
    """Processes of a session (the killed Snakemake and any job it started)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session:  # field 6 of /proc/PID/stat, counted after the name
            pids.append(int(stat.parent.name))
    return pids


def kill_when(workdir: Path, target: str, ready: Callable[[Path], bool], timeout: float = 300) -> None:
    """Start the workflow on ``target`` in its own session; SIGKILL the whole session once ``ready`` holds."""
    process = subprocess.Popen(
        command(target),
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while not ready(workdir):
            assert process.poll() is None, "the workflow ended before the moment to kill it"
            assert time.monotonic() < deadline, "the moment to kill the workflow never came"
            time.sleep(0.02)
    finally:
        for pid in session_processes(process.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()
    for _ in range(100):  # the killed jobs are gone before anything is checked
        if not session_processes(process.pid):
            break
        time.sleep(0.05)


def rerun_after_a_kill(workdir: Path, target: str) -> list[str]:
    """The same command again. The only remedy allowed is the one Snakemake asks for when its own
    process was killed: ``--unlock`` for the lock it left. Jobs killed half-way are redone without
    being asked (the workflow profile sets ``rerun-incomplete``). Returns the remedies used."""
    remedies: list[str] = []
    for _ in range(2):
        again = subprocess.run(command(target), cwd=workdir, capture_output=True, text=True, timeout=600)
        if again.returncode == 0:
            return remedies
        if "--unlock" in again.stderr and not remedies:
            run(workdir, "--unlock")
            remedies.append("--unlock")
        else:
            pytest.fail(f"the rerun failed: {again.stderr[-3000:]}")
    pytest.fail(f"the rerun failed after {remedies}")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    workdir = workdir_for(tmp_path_factory.mktemp("reruns") / "uninterrupted")
    run(workdir)
    found = outputs(workdir)
    assert "results/evaluation/yeast/linear/metrics.tsv" in found and "results/summary.tsv" in found
    return found


def preparation_under_way(workdir: Path) -> bool:
    """The preparing job has its shard folder under construction (a ``.shards.*.tmp`` folder).

    Waiting for a first shard file inside it would race: preparation writes the yeast
    dataset's few shards within milliseconds of each other, then renames the folder."""
    return any((workdir / "results/prepared/yeast").glob(".shards.*.tmp"))


def evaluation_half_written(workdir: Path) -> bool:
    """The evaluation job has written its first output (metrics.tsv) and goes on with the figures."""
    return (workdir / "results/evaluation/cancer/linear/metrics.tsv").exists()


# The job to kill: its target, the moment, the folders whose files the rerun must restore, and
# files in them that the target does not ask for.
KILLS = {
    "preparation": (
        "results/prepared/yeast/dataset.json",
        preparation_under_way,
        ("results/prepared/yeast",),
        (),
    ),
    "evaluation": (
        "results/evaluation/cancer/linear/metrics.tsv",
        evaluation_half_written,
        # The model, its parameter count and the evaluation; the preprocessing copied next to the
        # model is not asked for.
        (
            "results/prepared/cancer",
            "results/models/cancer/linear/model.skops",
            "results/models/cancer/linear/parameters.tsv",
            "results/evaluation/cancer",
        ),
        # Evaluation writes the report's table of the confusion counts too: every file is asked for.
        (),
    ),
}


@pytest.mark.workflow
@pytest.mark.parametrize("job", KILLS)
def test_killed_run_completes_on_rerun_with_the_uninterrupted_outputs(
    tmp_path: Path, uninterrupted: dict[str, bytes], job: str
) -> None:
    target, moment, folders, not_asked = KILLS[job]
    workdir = workdir_for(tmp_path / "killed")
    kill_when(workdir, target, moment)
    # Whatever carries a final name is complete: equal to the uninterrupted run's file.
    for name, content in outputs(workdir).items():
        if ".tmp" not in name:
            assert content == uninterrupted[name], name
    remedies = rerun_after_a_kill(workdir, target)
    print(f"rerun after killing {job}: {' '.join(remedies) or 'the same command'}")
    expected = {
        name: content
        for name, content in uninterrupted.items()
        if name.startswith(folders) and name not in not_asked
    }
    assert outputs(workdir) == expected


@pytest.mark.workflow
def test_two_fresh_runs_of_one_config_give_identical_outputs(
    tmp_path: Path, uninterrupted: dict[str, bytes]
) -> None:
    workdir = workdir_for(tmp_path / "again")
    run(workdir)
    again = outputs(workdir)
    assert again.keys() == uninterrupted.keys()
    differing = [name for name in again if again[name] != uninterrupted[name]]
    assert differing == []
