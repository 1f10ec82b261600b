"""biodl.report.landing: the report's landing text from the real results and settings."""

import copy
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from biodl.config.checks import validate_config
from biodl.config.datasets import dataset_settings
from biodl.config.models import check_model, model_settings
from biodl.evaluation.summary import SUMMARY_COLUMNS
from biodl.models.parameter_count import ParameterCount, write_parameters
from biodl.report.landing import best_runs, headline_rst, landing_rst, split_text, training_text

ROOT = Path(__file__).resolve().parents[1]
NAN = math.nan


@pytest.fixture(scope="module")
def demo():
    """The demo config, validated as the workflow does."""
    raw = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    return validate_config(raw, base_dir=ROOT)


def summary(rows):
    """A summary frame from (dataset, model, role, task, primary value, ci low, ci high)."""
    records = []
    for dataset, model, role, task, value, low, high in rows:
        metric = "r2" if task == "regression" else "auroc"
        records.append(
            {"dataset": dataset, "model": model, "kind": "mlp", "role": role, "task": task, "n_test": 9}
            | {metric: value, f"{metric}_ci_low": low, f"{metric}_ci_high": high}
        )
    return pd.DataFrame(records, columns=SUMMARY_COLUMNS)


RUNS = summary(
    [
        ("ctcf", "linear", "model", "binary", 0.85, 0.8, 0.9),
        ("ctcf", "cnn", "model", "binary", 0.93, 0.9, 0.96),
        ("ctcf", "cnn_folds.fold1", "member", "binary", 0.99, 0.98, 1.0),
        ("diabetes", "mlp", "model", "regression", 0.41, 0.3, 0.5),
        ("brain", "tiles", "model", "multiclass", NAN, NAN, NAN),
        ("brain", "linear", "model", "multiclass", 0.7, NAN, NAN),
    ]
)


def test_best_run_per_dataset_by_its_primary_metric_members_left_out():
    headlines = {h.dataset: h for h in best_runs(RUNS)}
    assert list(headlines) == ["ctcf", "diabetes", "brain"]
    ctcf = headlines["ctcf"]
    assert (ctcf.model, ctcf.metric, ctcf.value, ctcf.runner_up) == ("cnn", "auroc", 0.93, "linear")
    assert (ctcf.ci_low, ctcf.ci_high) == (0.9, 0.96)
    assert headlines["diabetes"].metric == "r2" and headlines["diabetes"].runner_up is None
    # An undefined primary metric is no competitor.
    assert headlines["brain"].model == "linear" and headlines["brain"].runner_up is None


def test_headline_lines_give_value_interval_and_margin():
    lines = headline_rst(RUNS, 0.95).splitlines()
    assert lines == [
        "- **ctcf**: cnn — auROC 0.930 (95% CI 0.900–0.960), +0.080 over linear",
        "- **diabetes**: mlp — R² 0.410 (95% CI 0.300–0.500), the only run",
        "- **brain**: linear — auROC 0.700, the only run",
    ]


def test_split_text_follows_the_dataset_settings(demo):
    def text(name):
        return split_text(dataset_settings(name, demo["datasets"][name]))

    # Genome input holds out the configured locations; sequence files never claim chromosomes.
    assert text("yeast_promoters") == "held out by location: validation chrII:1-200000, test chrI"
    assert text("ctcf") == "stratified random split of the examples: 10% validation, 10% test"
    assert "chromosome" not in text("ctcf") and "held out" not in text("ctcf")
    assert text("brain_lobes").startswith("whole groups of the sample sheet drawn at random")
    grouped = dict(demo["datasets"]["breast_cancer"], group_column="sample")
    assert split_text(dataset_settings("t", grouped)).startswith("whole groups (sample) drawn at random")


def test_training_text_states_the_real_monitor_and_a_search_s_chosen_learning_rate(demo):
    mapping = copy.deepcopy(demo["models"]["mlp"])
    mapping["training"]["monitor"] = "val_auroc"
    text = training_text(model_settings("mlp", mapping), {})
    assert "early stopping on val_auroc" in text and "val_loss" not in text
    assert "learning rate 0.003" in text
    search = model_settings("mlp_search", demo["models"]["mlp_search"])
    sampled = training_text(search, {}, sampled=True)
    assert "learning rate sampled per trial" in sampled and "0.003" not in sampled
    chosen = training_text(search, {"breast_cancer": 0.00123}, sampled=True)
    assert "chosen: 0.00123 on breast_cancer" in chosen
    assert training_text(model_settings("linear", demo["models"]["linear"]), {}) == "scikit-learn linear"
    autoencoder = training_text(check_model("ae", {"kind": "conv_autoencoder"}), {})
    assert (
        autoencoder.startswith("adam, learning rate 0.001,") and "early stopping on val_loss" in autoencoder
    )


def test_landing_text_reads_the_summary_and_the_search_trials(demo, tmp_path):
    RUNS.to_csv(tmp_path / "summary.tsv", sep="\t", index=False)
    trials = tmp_path / "breast_cancer.tsv"
    pd.DataFrame(
        {"trial": ["t1", "t2"], "training.learning_rate": [0.001, 0.0042], "chosen": [False, True]}
    ).to_csv(trials, sep="\t", index=False)
    write_parameters(ParameterCount(3553, 3553, "keras"), tmp_path / "ctcf" / "cnn_motif.tsv")
    write_parameters(ParameterCount(3617, 3617, "keras"), tmp_path / "yeast_promoters" / "cnn_motif.tsv")
    write_parameters(ParameterCount(19073, 19073, "keras"), tmp_path / "ctcf" / "resnet_small.tsv")
    trees = ParameterCount(None, None, "gradient boosting fits 87 trees, not weights")
    write_parameters(trees, tmp_path / "diabetes" / "boosting.tsv")
    text = landing_rst(
        demo,
        tmp_path / "summary.tsv",
        lambda d, m: tmp_path / f"{d}.tsv",
        lambda d, m: tmp_path / d / f"{m}.tsv",
    )
    assert text.index("**ctcf**: cnn") < text.index("**Datasets**") < text.index("**Models**")
    assert (
        "- **mlp_search** (mlp): adam, learning rate sampled per trial (chosen: 0.0042 on breast_cancer)"
        in text
    )
    # Each model's parameter count on each dataset it ran on, where counted (breast_cancer's
    # boosting has no file yet: a partial run); a count not taken says why.
    lines = {line.split("**")[1]: line for line in text.splitlines() if line.startswith("- **")}
    assert lines["cnn_motif"].endswith(
        "(patience 6); 3,553 parameters on ctcf; 3,617 parameters on yeast_promoters"
    )
    assert lines["resnet_small"].endswith("; 19,073 parameters on ctcf")
    assert lines["boosting"] == (
        "- **boosting** (baseline): scikit-learn gradient boosting; "
        "no parameter count on diabetes (gradient boosting fits 87 trees, not weights)"
    )
    assert "parameters" not in lines["mlp"]
    # Before any run has finished there is nothing to claim.
    empty = landing_rst(
        demo, tmp_path / "missing.tsv", lambda d, m: tmp_path / "none.tsv", lambda d, m: tmp_path / "none.tsv"
    )
    assert "no run has finished yet" in empty and "chosen" not in empty and "parameters on" not in empty
