"""A lab's own project: its config alone, the workflow deployed into another folder (snakedeploy,
or a Snakemake module), and a report that refuses results of another config.

The deployment is made from a local copy of this working tree (no network). snakedeploy's local
provider writes the module's ``snakefile:`` as a path relative to the source ("Snakefile"), which
Snakemake would read relative to the deployed Snakefile; for a GitHub source it writes
``github(...)``. The test points it at the local copy's Snakefile, as a user of a local clone does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

OWN_CONFIG = {
    "seed": 3,
    "datasets": {
        "my_peaks": {
            "modality": "dna",
            "sequences": {"bound": "data/peaks.fa"},
            "length": 200,
            "negatives": {"method": "shuffle", "ratio": 1},
        },
        "my_cohort": {
            "modality": "table",
            "path": "data/cohort.csv",
            "id_column": "sample",
            "label_columns": ["diagnosis"],
            "task": "binary",
            "classes": ["benign", "malignant"],
        },
    },
    "models": {
        "cnn": {
            "kind": "cnn1d",
            "conv_layers": [{"filters": 8, "kernel_size": 11}],
            "global_pool": "max",
            "training": {"epochs": 2},
        },
        "mlp": {"kind": "mlp", "dense_layers": [{"units": 8}], "training": {"epochs": 3}},
    },
    "evaluation": {"bootstrap": 50},
    # The numba compile cache of this clone, so the test does not compile Tomtom again.
    "interpretation": {"numba_cache_dir": str(ROOT / ".cache" / "numba")},
}


def run(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def snakemake(cwd: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return run([str(BIN / "snakemake"), *args], cwd, timeout)


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Job counts of a dry run's job table."""
    counts = {}
    for line in result.stdout.splitlines():
        words = line.split()
        if len(words) == 2 and words[1].isdigit() and words[0] != "total":
            counts[words[0]] = int(words[1])
    return counts


def own_data(project: Path) -> None:
    (project / "data").mkdir(parents=True, exist_ok=True)
    lines = (ROOT / "resources/ctcf/Gm12878.CTCF.top500.w200.fa").read_text().splitlines()[:400]
    (project / "data/peaks.fa").write_text("\n".join(lines) + "\n")
    shutil.copy(ROOT / "resources/tables/breast_cancer.csv", project / "data/cohort.csv")


def test_own_configfile_runs_alone_and_a_bare_run_is_the_demo(tmp_path: Path) -> None:
    own_data(tmp_path)
    datasets = yaml.safe_load(yaml.safe_dump(OWN_CONFIG["datasets"]))
    datasets["my_peaks"]["sequences"]["bound"] = str(tmp_path / "data/peaks.fa")
    datasets["my_cohort"]["path"] = str(tmp_path / "data/cohort.csv")
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({**OWN_CONFIG, "datasets": datasets}))
    mine = snakemake(
        ROOT, "-n", "--forceall", "--quiet", "rules", "--configfile", str(tmp_path / "mine.yaml")
    )
    assert mine.returncode == 0, mine.stderr
    jobs = planned_jobs(mine)
    assert jobs["prepare_dna"] == 1 and jobs["prepare_table"] == 1 and jobs["train"] == 2
    assert "prepare_image" not in jobs and "train_baseline" not in jobs  # nothing of the demo
    demo = snakemake(ROOT, "-n", "--forceall", "--quiet", "rules")
    assert planned_jobs(demo)["prepare_image"] == 2


@pytest.mark.workflow
def test_deployed_into_a_project_it_runs_the_labs_config_only_and_the_report_holds_only_its_runs(
    tmp_path: Path,
) -> None:
    source, project = tmp_path / "workflow-src", tmp_path / "project"
    files = run(["git", "ls-files", "-co", "--exclude-standard"], ROOT).stdout.split()
    for name in files:
        if (ROOT / name).is_file() or (ROOT / name).is_symlink():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name, follow_symlinks=False)
    deployed = run(
        [str(BIN / "snakedeploy"), "deploy-workflow", str(source), str(project), "--branch", "main"], tmp_path
    )
    assert deployed.returncode == 0, deployed.stderr
    assert (project / "config/README.md").is_file() and (project / "LICENSE").is_file()
    snakefile = project / "workflow/Snakefile"
    text = snakefile.read_text()
    assert '"Snakefile"' in text  # snakedeploy's local form, see the module docstring
    snakefile.write_text(text.replace('"Snakefile"', f'"{source / "Snakefile"}"'))
    own_data(project)
    (project / "config/config.yaml").write_text(yaml.safe_dump(OWN_CONFIG))

    dry = snakemake(project, "-n", "--quiet", "rules")
    assert dry.returncode == 0, dry.stderr
    jobs = planned_jobs(dry)
    assert jobs["prepare_dna"] == 1 and jobs["prepare_table"] == 1 and "prepare_image" not in jobs

    done = snakemake(project, "--cores", "2", timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    # The leaderboard job comes last (it waits for every run's files); its log line names the report.
    closing = done.stderr.rindex("the full report: snakemake --report report.html")
    assert "rule interpret" not in done.stderr[closing:] and "rule train" not in done.stderr[closing:]
    summary = (project / "results/summary.tsv").read_text()
    assert "my_peaks" in summary and "my_cohort" in summary and "ctcf" not in summary
    assert not (project / "resources").exists()  # the JASPAR default came from the workflow's folder
    report = snakemake(project, "--report", "report.html")
    assert report.returncode == 0, report.stderr
    html = (project / "report.html").read_text(errors="replace")
    assert "my_peaks" in html and "yeast_promoters" not in html

    # Another config over the same results: the report refuses instead of mislabelling them.
    other = {**OWN_CONFIG, "seed": 4}
    (project / "config/config.yaml").write_text(yaml.safe_dump(other))
    refused = snakemake(project, "--report", "report2.html")
    assert refused.returncode != 0 and "were made with another configuration" in refused.stderr
    assert "seed" in refused.stderr and not (project / "report2.html").exists()
