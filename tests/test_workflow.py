"""Workflow tests: Snakemake itself run on the demo config (dry), on a tiny config (for real),
on an invalid config and on bad input, as a user would run it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")


def snakemake(*args, cwd=ROOT, timeout=900):
    return subprocess.run([SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_dry_run_of_the_demo_lists_every_step():
    result = snakemake("-n", "--forceall", "--quiet", "rules")
    assert result.returncode == 0, result.stderr
    counts = dict(line.split()[:2] for line in result.stdout.splitlines() if line.split()[:1] and line.split()[-1].isdigit()
                  and len(line.split()) == 2)
    assert counts == {"prepare_dna": "2", "train": "4", "evaluate": "4", "summarize": "1", "all": "1", "total": "12"}


def test_lint_and_snakefmt_are_clean():
    lint = snakemake("--lint")
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr
    fmt = subprocess.run([str(BIN / "snakefmt"), "--check", "Snakefile", "workflow"], cwd=ROOT, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stderr


TINY = {
    "seed": 3,
    "datasets": {
        "ctcf": {"modality": "dna", "sequences": {"CTCF": "resources/ctcf/Gm12878.CTCF.top500.w200.fa"}, "length": 200,
                 "negatives": {"method": "shuffle", "ratio": 1}},
        "yeast": {"modality": "dna", "genome": "resources/yeast/sacCer_chrI_chrII.fa",
                  "regions": {"promoter": "resources/yeast/promoters.bed"}, "length": 300,
                  "negatives": {"method": "gc_matched", "ratio": 1},
                  "split": {"validation": ["chrII:1-200000"], "test": ["chrI"]}},
    },
    "models": {"tiny": {"kind": "cnn1d", "conv_layers": [{"filters": 8, "kernel_size": 11}], "global_pool": "max",
                        "training": {"epochs": 3, "batch_size": 64, "learning_rate": 0.01}}},
}


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(ROOT / "resources", tmp_path / "resources")
    return tmp_path


def write_config(workdir, config):
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.mark.workflow
def test_tiny_end_to_end_run_and_report(workdir):
    config = write_config(workdir, TINY)
    run = snakemake("--snakefile", str(ROOT / "Snakefile"), "--configfile", config, "--cores", "2", cwd=workdir)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = pd.read_csv(workdir / "results/summary.tsv", sep="\t")
    assert sorted(summary["dataset"]) == ["ctcf", "yeast"]
    assert summary["auroc"].between(0, 1).all()
    for dataset in ("ctcf", "yeast"):
        folder = workdir / "results/evaluation" / dataset / "tiny"
        metrics = pd.read_csv(folder / "metrics.tsv", sep="\t")
        assert {"auroc", "auprc", "f1", "accuracy", "precision", "recall", "n"} <= set(metrics["metric"])
        predictions = pd.read_csv(folder / "predictions.tsv", sep="\t")
        prepared = pd.read_csv(workdir / "results/prepared" / dataset / "metadata.tsv", sep="\t")
        assert len(predictions) == (prepared["split"] == "test").sum()
        for png in ("roc.png", "pr.png", "training_curves.png"):
            assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (workdir / "logs/train" / dataset / "tiny.log").stat().st_size > 0
    report = snakemake("--snakefile", str(ROOT / "Snakefile"), "--configfile", config, "--report", "report.html", cwd=workdir)
    assert report.returncode == 0, report.stderr[-3000:]
    html = (workdir / "report.html").read_text()
    for text in ("Test-set metrics of model", "ROC curve", "training curves", "summary.tsv"):
        assert text in html


def test_invalid_config_is_rejected_before_any_job(workdir):
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["models"]["tiny"]["training"]["epochs"] = "many"
    run = snakemake("--snakefile", str(ROOT / "Snakefile"), "--configfile", write_config(workdir, config), "--cores", "1",
                    cwd=workdir)
    assert run.returncode != 0
    assert "Invalid configuration: config, models.tiny.training.epochs: expected an integer, found 'many'" in run.stderr
    assert not (workdir / "results").exists()


def test_bad_input_fails_its_job_with_the_file_and_line_and_leaves_no_output(workdir):
    bed = workdir / "resources/yeast/promoters.bed"
    lines = bed.read_text().splitlines()
    lines[9] = "chrI\t5000\t4000\tbroken\t0\t+"
    bed.write_text("\n".join(lines) + "\n")
    config = yaml.safe_load(yaml.safe_dump(TINY))
    del config["datasets"]["ctcf"]
    run = snakemake("--snakefile", str(ROOT / "Snakefile"), "--configfile", write_config(workdir, config), "--cores", "1",
                    cwd=workdir)
    assert run.returncode != 0
    log = (workdir / "logs/prepare/yeast.log").read_text()
    assert "resources/yeast/promoters.bed, line 10: end must be greater than start, found start=5000 end=4000" in log
    assert "Traceback" not in log
    assert not list((workdir / "results").rglob("dataset.json"))
