# Python helpers shared by the rules: config validation (before any job starts), the runs to
# fan out over, and input functions. The logic lives in scripts/biodl, importable here because
# Snakemake scripts and this file share that folder on sys.path.
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

from biodl.config import datasets_of, input_files, is_regression, runs, validate_config
from biodl.validate import InputError

try:
    validate_config(config)
except InputError as error:
    raise WorkflowError(f"Invalid configuration: {error}") from None

RUNS = runs(config)


def _names_pattern(names):
    """Regex matching exactly these names (nothing when there are none)."""
    return "|".join(map(re.escape, names)) or "(?!)"


def dataset_pattern(modality):
    """Regex of the dataset names of one modality, so each has exactly one preparing rule."""
    return _names_pattern(datasets_of(config, modality))


def task_pattern(kind):
    """Regex of the dataset names evaluated as classification or as regression."""
    regression = kind == "regression"
    return _names_pattern(
        [
            n
            for n, spec in config["datasets"].items()
            if is_regression(spec) == regression
        ]
    )


def model_pattern(*kinds):
    """Regex of the model names of the given kinds, so each has exactly one training rule."""
    return _names_pattern(
        [n for n, m in config["models"].items() if m["kind"] in kinds]
    )


def network_pattern():
    """Regex of the Keras models' names (every kind but the scikit-learn baselines)."""
    return _names_pattern([n for n in config["models"] if is_network(n)])


def shards_mb(shards):
    """Size of a prepared dataset's shards in MB (0 until they exist: resources are
    evaluated again when the job is ready to run)."""
    return sum(f.stat().st_size for f in Path(shards).glob("*.npy")) / 1e6


def is_network(model):
    return config["models"][model]["kind"] != "baseline"


def run_report(name, figure):
    """An evaluation output of one run, shown in the report under its dataset and model."""
    return report(
        f"results/evaluation/{{dataset}}/{{model}}/{name}",
        caption=f"../report/{Path(name).stem}.rst",
        category="{dataset}",
        subcategory="{model}",
        labels={"dataset": "{dataset}", "model": "{model}", "figure": figure},
    )


def dataset_inputs(wildcards):
    """The user's files a dataset is prepared from."""
    return input_files(config, wildcards.dataset)


def evaluation_files(name):
    """One evaluation output (e.g. metrics.tsv) for every run, in run order."""
    return [f"results/evaluation/{dataset}/{model}/{name}" for dataset, model in RUNS]


def run_outputs(dataset, model):
    """What the default target asks of one run: its evaluation, figures and curves."""
    if is_regression(config["datasets"][dataset]):
        names = ["metrics.tsv", "predictions.tsv", "scatter.png"]
    else:
        names = [
            "metrics.tsv",
            "predictions.tsv",
            "roc.png",
            "pr.png",
            "calibration.png",
            "confusion.png",
            "confusion.tsv",
        ]
    if is_network(model):
        names.append("training_curves.png")
    return [f"results/evaluation/{dataset}/{model}/{name}" for name in names]


def final_outputs():
    """The targets of the default run: every run's outputs, the summary table and figure."""
    runs = [path for dataset, model in RUNS for path in run_outputs(dataset, model)]
    return runs + ["results/summary.tsv", "results/summary.png"]
