"""The benchmark scripts still run: each one's ``--smoke`` mode, from the repository root.

Smoke runs use tiny sizes and one repetition and install no peer tool, so they say nothing
about speed and nothing here asserts a timing: they only keep the scripts working as the code
they measure changes. Each test checks that the figures the script exists to print are there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[1]
HAS_GPU = bool(tf.config.list_physical_devices("GPU"))


def smoke(script: str, *extra: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{script} --smoke failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_one_hot_benchmark_prints_throughput_ratios_and_memory_slope() -> None:
    out = smoke("onehot_vs_kipoiseq.py")
    assert "Mbases/s" in out and "copy" in out and "per interval" in out


@pytest.mark.workflow
def test_dry_run_benchmark_prints_ms_per_job_and_the_breakdown() -> None:
    out = smoke("dry_run_scale.py")
    assert "ms" in out and "bare" in out


def test_training_benchmark_prints_the_ratio_to_bare_fit_and_the_peak_under_the_cap() -> None:
    out = smoke("train_pipeline.py")
    assert "ratio workflow / bare" in out and "Memory cap" in out and "peak RSS" in out


def test_tiling_benchmark_prints_tiles_per_second() -> None:
    out = smoke("tile_vs_histolab.py")
    assert "tiles/s" in out and "biodl" in out


@pytest.mark.workflow
def test_end_to_end_benchmark_dry_runs_the_demo_in_a_fresh_clone() -> None:
    out = smoke("demo_end_to_end.py")
    assert "smoke: the demo dry-runs in a fresh clone" in out


def test_interpretation_benchmark_prints_step_times_and_specificity() -> None:
    out = smoke("interpret_dna.py")
    assert "step" in out and "whole process" in out and "matched at null-calibrated q" in out


def test_text_reader_benchmark_prints_the_ratio_to_pandas() -> None:
    out = smoke("text_readers.py")
    assert "ratio biodl / pandas, table" in out and "ratio biodl / pandas, BED" in out


@pytest.mark.skipif(HAS_GPU, reason="this machine has a GPU: the check would run in full")
def test_gpu_check_without_a_gpu_says_so_and_fails() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "No GPU visible to TensorFlow:" in done.stdout and "Nothing was trained" in done.stdout


@pytest.mark.workflow
def test_gpu_check_smoke_trains_the_demo_dna_model_on_the_cpu() -> None:
    out = smoke("gpu_check.py")
    assert "samples/s" in out and "cnn_motif" in out and "cpu" in out


def test_multitask_label_benchmark_prints_seconds_and_peak_memory() -> None:
    out = smoke("multitask_labels.py")
    assert "windows x 4 tasks: biodl" in out and "peak" in out and "positive share" in out


def test_variant_scoring_benchmark_prints_variants_per_second_and_the_ratio() -> None:
    out = smoke("variant_scoring.py")
    assert "variants/s" in out and "ratio workflow / bare" in out


def test_scan_benchmark_prints_windows_per_second_the_ratio_and_peak_memory() -> None:
    out = smoke("genome_scan.py")
    assert "windows/s" in out and "ratio workflow / bare" in out and "peak RSS" in out


def test_coverage_benchmark_prints_the_ratio_to_pybigwig_stats_and_peak_memory() -> None:
    out = smoke("coverage_targets.py")
    assert "5,000 windows: biodl" in out and "x pyBigWig stats" in out and "means agree" in out


@pytest.mark.slow
def test_slide_benchmark_prints_tiles_per_second_the_ratio_and_peak_memory() -> None:
    out = smoke("apply_slides.py")
    assert "tiles/s" in out and "ratio workflow / plain" in out and "peak RSS" in out
    assert "stage predict: one chunk" in out and "resident after each of 2 maps" in out


@pytest.mark.slow
def test_mil_benchmark_prints_slide_level_test_metrics(tmp_path: Path) -> None:
    out = smoke("mil_slides.py", "--out", str(tmp_path))
    assert "slide-level test metrics" in out and "auroc" in out and "bags: validation" in out
    assert "training throughput: bag stream" in out
