# Python helpers shared by the rules: config validation (before any job starts), the runs to
# fan out over, and input functions. The logic lives in scripts/biodl, importable here because
# Snakemake scripts and this file share that folder on sys.path.
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

from biodl.config import datasets_of, input_files, runs, validate_config
from biodl.validate import InputError

try:
    validate_config(config)
except InputError as error:
    raise WorkflowError(f"Invalid configuration: {error}") from None

RUNS = runs(config)


def dataset_pattern(modality):
    """Regex of the dataset names of one modality, so each has exactly one preparing rule."""
    return "|".join(map(re.escape, datasets_of(config, modality))) or "(?!)"


def dataset_inputs(wildcards):
    """The user's files a dataset is prepared from."""
    return input_files(config, wildcards.dataset)


def evaluation_files(name):
    """One evaluation output (e.g. metrics.tsv) for every run, in run order."""
    return [f"results/evaluation/{dataset}/{model}/{name}" for dataset, model in RUNS]


def final_outputs():
    """The targets of the default run: every evaluation output and the summary table."""
    names = [
        "metrics.tsv",
        "predictions.tsv",
        "roc.png",
        "pr.png",
        "training_curves.png",
    ]
    return [path for name in names for path in evaluation_files(name)] + [
        "results/summary.tsv"
    ]
