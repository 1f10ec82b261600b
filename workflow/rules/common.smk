# Python helpers shared by the rules: config validation (before any job starts), the runs to
# fan out over, and input functions. The logic lives in the library scripts/biodl.
import json
import re
import sys
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.sourcecache import LocalSourceFile

# The workflow's own folder (this file is workflow/rules/common.smk in it): not the working
# directory when the workflow is deployed into a project or used as a module. Step scripts find
# the library beside them (Snakemake puts a script's folder on sys.path); this file needs it too.
# A module read from a remote repository has no local folder: the library must be installed.
WORKFLOW_DIR = (
    Path(workflow.current_basedir.get_path_or_uri(secret_free=True)).parents[1]
    if isinstance(workflow.current_basedir, LocalSourceFile)
    else None
)
if WORKFLOW_DIR is not None:
    sys.path.insert(0, str(WORKFLOW_DIR / "scripts"))
try:
    import biodl
except ImportError:
    raise WorkflowError(
        "The workflow's library (biodl) is not importable: use a local copy of the workflow "
        "(git clone, or snakedeploy/module with a local path), or install the library of the "
        "same version: pip install -e <clone> (see README, 'Use the workflow in your project')."
    ) from None

from biodl.config.runs import (
    AUTOENCODER_KINDS,
    IMAGE_AUTOENCODER_KINDS,
    MIL_KINDS,
    OWN_RULE_KINDS,
    datasets_of,
    input_files,
    is_regression,
)
from biodl.config.checks import validate_config
from biodl.config.config_file import check_config_files
from biodl.core.errors import InputError
from biodl.workflow.gpu_jobs import GpuJobs, gpus_for
from biodl.workflow.job_threads import JobThreads, threads_for
from biodl.workflow.variants import (
    describe_variant,
    evaluated_runs,
    expand_variants,
    names_pattern,
    pretrained_runs,
)

try:
    # Snakemake has loaded the files already, keeping the last of a key written twice: re-read.
    check_config_files(workflow.configfiles)
    validate_config(config, workflow_dir=WORKFLOW_DIR)
    # Every model name: plain models, ensemble members, search trials (biodl.workflow.variants).
    VARIANTS = expand_variants(config)
except InputError as error:
    raise WorkflowError(f"Invalid configuration: {error}") from None

RUNS = evaluated_runs(config, VARIANTS)
# Autoencoders that the pretrain rule trains (those in runs, those init_from names), not evaluated.
PRETRAINED = pretrained_runs(config)
# Which training jobs ask Slurm for a GPU (biodl.workflow.gpu_jobs).
GPU_JOBS = GpuJobs.from_validated(config["gpu_jobs"])
# How many threads the jobs that run TensorFlow or numba ask for (biodl.workflow.job_threads).
JOB_THREADS = JobThreads.from_validated(config["threads"])

# The validated config the results were made with (written by record_config); `snakemake --report`
# refuses results of another config instead of embedding them under this one's name.
RECORDED_CONFIG = "results/config.yaml"


def plain_config():
    """The validated config (defaults filled in) as plain data, as record_config writes it."""
    return json.loads(json.dumps(config, sort_keys=True))


def check_results_belong_to_this_config():
    """Stop a report on results written with another config (compare RECORDED_CONFIG)."""
    recorded = Path(RECORDED_CONFIG)
    if not recorded.is_file():
        return
    written = yaml.safe_load(recorded.read_text())
    if written == plain_config():
        return
    differ = sorted(
        key
        for key in set(written) | set(plain_config())
        if written.get(key) != plain_config().get(key)
    )
    raise WorkflowError(
        f"The results in results/ were made with another configuration ({RECORDED_CONFIG} "
        f"differs in: {', '.join(differ)}); a report now would show them under this one. Run the "
        "workflow with this configuration first, or make the report with the configuration that "
        "wrote them (--configfile)."
    )


if any(arg == "--report" or arg.startswith("--report=") for arg in sys.argv):
    check_results_belong_to_this_config()


def report_stylesheet():
    """The report's stylesheet (workflow/report/report.css): relative to the working directory
    when the workflow is there (the README's command), else absolute."""
    if WORKFLOW_DIR is None:
        return None
    stylesheet = WORKFLOW_DIR / "workflow/report/report.css"
    try:
        return str(stylesheet.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(stylesheet.resolve())


def landing_text():
    """The report's landing text (biodl.report.landing), called by workflow/report/workflow.rst
    when the report is made, so it states the results and settings of this working directory.
    """
    from biodl.report.landing import landing_rst

    return landing_rst(
        config,
        "results/summary.tsv",
        lambda dataset, model: f"results/search/{dataset}/{model}/trials.tsv",
        lambda dataset, model: f"results/models/{dataset}/{model}/parameters.tsv",
    )


def report_command():
    """The command that makes this config's report, for the leaderboard job's closing log line:
    with the stylesheet without which tall pages and figures of the report are cut off.
    """
    stylesheet = report_stylesheet()
    options = [f"--report-stylesheet {stylesheet}"] if stylesheet else []
    options += [f"--configfile {path}" for path in workflow.overwrite_configfiles]
    return " ".join(["snakemake --report report.html", *options])


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


# Model names are matched by biodl.workflow.variants.names_pattern: members and trials by their form
# (m.seed<number>), so a pattern's length grows with the models, not with seeds or trials.
# Snakemake writes every constraint into each output pattern and rescans it for every job.
def model_pattern(*kinds):
    """Regex of the trained model names of the given kinds, so each has exactly one training rule."""
    return names_pattern(
        VARIANTS, [n for n, v in VARIANTS.items() if v.trained and v.kind in kinds]
    )


def network_pattern():
    """Regex of the names of the Keras models that the train rule's loop trains (every kind but
    the scikit-learn baselines and the kinds with rules of their own, OWN_RULE_KINDS).
    """
    return names_pattern(VARIANTS, [n for n in VARIANTS if trained_by_loop(n)])


def learning_curve_models():
    """The models whose runs may get a learning curve: config learning_curve.models, or every
    plain network (trained once: not a fold member, trial, ensemble or search)."""
    chosen = config["learning_curve"]["models"]
    return [
        n
        for n, v in VARIANTS.items()
        if trained_by_loop(n) and v.role == "model" and (not chosen or n in chosen)
    ]


def learning_curve_pattern():
    """Regex of the model names rule learning_curve takes."""
    return names_pattern(VARIANTS, learning_curve_models())


def role_pattern(role):
    """Regex of the names of ensembles ("ensemble") or searches ("search")."""
    return names_pattern(VARIANTS, [n for n, v in VARIANTS.items() if v.role == role])


def model_config(model):
    """The settings a model name trains with (a trial's with its sampled values)."""
    return VARIANTS[model].settings


def run_seed(model):
    """The seed a model name trains with (ensemble members: one each)."""
    return VARIANTS[model].seed


def run_fold(model):
    """[member, folds] of a fold-ensemble member, else None (biodl.data.dataset.open_dataset)."""
    fold = VARIANTS[model].fold
    return None if fold is None else list(fold)


def model_kind(model):
    return VARIANTS[model].kind


def run_settings(wildcards):
    """A run's settings in words, for the report's captions."""
    return describe_variant(VARIANTS[wildcards.model])


def member_predictions(wildcards):
    """The predictions of an ensemble's members or a search's trials."""
    return [
        f"results/evaluation/{wildcards.dataset}/{member}/predictions.tsv"
        for member in VARIANTS[wildcards.model].members
    ]


def member_parameters(wildcards):
    """The parameter counts of an ensemble's members or a search's trials."""
    return [
        f"results/models/{wildcards.dataset}/{member}/parameters.tsv"
        for member in VARIANTS[wildcards.model].members
    ]


def init_model(model):
    """The model file a network starts from (its init_from run, checked by validate_config), or none."""
    source = model_config(model).get("init_from")
    if not source:
        return []
    return f"results/models/{source['dataset']}/{source['model']}/model.keras"


def train_gpus(wildcards, input):
    """GPUs a training job asks Slurm for: its model's training.device and the gpu_jobs
    section decide (biodl.workflow.gpu_jobs)."""
    return gpus_for(
        model_kind(wildcards.model),
        model_config(wildcards.model)["training"]["device"],
        shards_mb(input.shards),
        GPU_JOBS,
    )


def dataset_threads(wildcards, input):
    """Threads of a job on a prepared dataset, by the size of its shards (threads section)."""
    return threads_for(shards_mb(input.shards), JOB_THREADS)


def input_threads(wildcards, input):
    """Threads of a job by the size of its input files (threads section). Measured here, not with
    input.size_mb: that is undetermined on a cluster executor until the files exist, and threads
    must be a number from the dry run on."""
    return threads_for(files_mb(Path(path) for path in input), JOB_THREADS)


def shards_mb(shards):
    """Size of a prepared dataset's shards in MB (0 until they exist: resources are
    evaluated again when the job is ready to run)."""
    return files_mb(Path(shards).glob("*.npy"))


def files_mb(paths):
    """Total size in MB of those of the paths that are files (none yet: 0)."""
    return sum(path.stat().st_size for path in paths if path.is_file()) / 1e6


def is_network(model):
    return VARIANTS[model].is_network


def trained_by_loop(model):
    """Whether the train rule's loop (biodl.training.loop) trains the model (a network of a kind
    without a rule of its own)."""
    return is_network(model) and model_kind(model) not in OWN_RULE_KINDS


# A run's items in the report in the order a reader needs them: the numbers, the curves that
# judge the predictions, how training went, then interpretation. Snakemake lists a run's items by
# their labels, so the first label ("#") is this rank.
RUN_REPORT_ORDER = (
    "metrics",
    "ROC curve",
    "PR curve",
    "predicted vs observed",
    "per-task metrics",
    "calibration",
    "confusion matrix",
    "confusion table",
    "confusion counts",
    "training curves",
    "reconstruction loss",
    "reconstructions",
    "sanity check",
    "learning curve",
    "learning curve (table)",
    "search trials table",
    "search trials",
    "predictions",
    "attention map",
    "attention table",
    "permutation importance plot",
    "permutation importance table",
    "permutation importance",
    "filter matches",
    "filter logos and matches",
    "Tomtom matches table",
    "Tomtom matches",
    "filter influence",
    "filter motifs (MEME)",
    "attribution logos",
    "TF-MoDISco pattern logos",
    "TF-MoDISco patterns",
    "motif insertion plot",
    "motif insertion effects",
    "activation maximisation",
    "saliency and Grad-CAM",
    "first-layer kernels",
    "feature maps",
)


# A run's TSVs that the report also shows as HTML tables, name -> (the folder under results/, the
# item's name in the report). The step that writes a TSV writes its page too (run_table).
TSV_TABLES = {
    "confusion": ("evaluation", "confusion table"),
    "attention": ("evaluation", "attention table"),
    "trials": ("search", "search trials table"),
    "importance": ("interpretation", "permutation importance table"),
    "tomtom": ("interpretation", "Tomtom matches table"),
}


def run_rank(figure):
    """A run item's place in the report (RUN_REPORT_ORDER), as text that sorts as a number."""
    return f"{RUN_REPORT_ORDER.index(figure) + 1:02d}"


def run_labels(figure):
    """The report labels of one run's item: its rank (RUN_REPORT_ORDER), dataset, model, name."""
    return {
        "#": run_rank(figure),
        "dataset": "{dataset}",
        "model": "{model}",
        "figure": figure,
    }


def run_table(name):
    """The output of a run's <name>.tsv as the report's table (TSV_TABLES), written by the step that
    writes the TSV (biodl.report.html_tables.write_run_tables): a job of its own would cost a
    Python start for a file of a few kB."""
    step, figure = TSV_TABLES[name]
    return report(
        f"results/{step}/{{dataset}}/{{model}}/{name}.html",
        caption="../report/tsv_table.rst",
        category="{dataset}",
        subcategory="{model}",
        labels=run_labels(figure),
    )


def run_report(name, figure, step="evaluation", caption_prefix=""):
    """An output of one run (results/<step>/...) in the report under its dataset and model;
    caption: workflow/report/<caption_prefix><name without its suffix>.rst"""
    return report(
        f"results/{step}/{{dataset}}/{{model}}/{name}",
        caption=f"../report/{caption_prefix}{Path(name).stem}.rst",
        category="{dataset}",
        subcategory="{model}",
        labels=run_labels(figure),
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
        names = [
            "metrics.tsv",
            "metrics.html",
            "predictions.tsv",
            "scatter.png",
            "per_task.png",
        ]
    else:
        names = [
            "metrics.tsv",
            "metrics.html",
            "predictions.tsv",
            "roc.png",
            "pr.png",
            "calibration.png",
            "confusion.png",
            "confusion.tsv",
            "per_task.png",
        ]
    if is_network(model):
        names.append("training_curves.png")
    if model_kind(model) in MIL_KINDS:
        # The weight of each tile (rule train_mil), drawn where the tiles lie (rule attention_map).
        names += ["attention.tsv", "attention_map.png"]
    files = [f"results/evaluation/{dataset}/{model}/{name}" for name in names]
    if config["datasets"][dataset]["modality"] == "table" and VARIANTS[model].trained:
        # Next to the model, what turns a new table into its inputs (export_preprocessing).
        files.append(f"results/models/{dataset}/{model}/preprocessing.skops")
    return files


# What the interpretation step writes for a network of each modality (workflow/rules/interpret.smk),
# and the filter table drawn from it (workflow/rules/report.smk).
# The outputs of the DNA interpretation step, declared once. Output name -> (file, report label; None keeps
# the file out of the report). "tracks" is a folder (one bigWig per task).
DNA_INTERPRETATION = {
    "filters": ("filters.meme", "filter motifs (MEME)"),
    "tomtom": ("tomtom.tsv", "Tomtom matches"),
    "influence": ("influence.tsv", "filter influence"),
    "filter_logos": ("filter_logos.png", "filter logos and matches"),
    "maximisation_logos": ("maximisation_logos.png", "activation maximisation"),
    "attribution_logos": ("attribution_logos.png", "attribution logos"),
    "attributions": ("attributions.npz", None),
    "tracks": ("tracks", None),
    "patterns": ("patterns.tsv", "TF-MoDISco patterns"),
    "pattern_logos": ("pattern_logos.png", "TF-MoDISco pattern logos"),
    "marginalisation": ("marginalisation.tsv", "motif insertion effects"),
    "marginalisation_plot": ("marginalisation.png", "motif insertion plot"),
}

INTERPRETATION_FILES = {
    ("dna", "cnn1d"): [name for name, _ in DNA_INTERPRETATION.values()]
    + ["filter_table.html"],
    ("image", "cnn2d"): [
        "filter_grid.png",
        "feature_maps.png",
        "maximisation_images.png",
        "saliency_gradcam.png",
    ],
    ("table", "mlp"): ["importance.tsv", "importance.png"],
}


def interpretation_report(name, figure):
    """An interpretation output of one run, shown in the report under its dataset and model."""
    return run_report(name, figure, step="interpretation", caption_prefix="interpret_")


def dna_interpretation_outputs():
    """The named outputs of rule interpret_dna (DNA_INTERPRETATION)."""
    outputs = {}
    for key, (name, figure) in DNA_INTERPRETATION.items():
        path = f"results/interpretation/{{dataset}}/{{model}}/{name}"
        if key == "tracks":
            outputs[key] = directory(path)
        else:
            outputs[key] = (
                path if figure is None else interpretation_report(name, figure)
            )
    # The report's tables of tomtom.tsv and of influence.tsv (the filters and their matches).
    outputs["tomtom_table"] = run_table("tomtom")
    outputs["filter_table"] = interpretation_report(
        "filter_table.html", "filter matches"
    )
    return outputs


def motif_database(wildcards):
    """The motif collection a DNA dataset's filters and patterns are matched against: its own
    motif_database, else interpretation.database."""
    return (
        config["datasets"][wildcards.dataset].get("motif_database")
        or config["interpretation"]["database"]
    )


def dataset_genome(wildcards):
    """The genome FASTA a DNA dataset's windows come from (None for sequence files)."""
    return config["datasets"][wildcards.dataset].get("genome")


def interpretation_outputs(dataset, model):
    """The interpretation files of one run: plain networks of their modality's kind (not
    ensemble members or search trials, which would repeat it for every copy)."""
    variant = VARIANTS[model]
    key = (config["datasets"][dataset]["modality"], variant.kind)
    if not config["interpretation"]["enabled"] or variant.role != "model":
        return []
    names = INTERPRETATION_FILES.get(key, [])
    return [f"results/interpretation/{dataset}/{model}/{name}" for name in names]


def sanity_outputs():
    """The sanity check of every plain network run, when config sanity_check.enabled asks."""
    if not config["sanity_check"]["enabled"]:
        return []
    return [
        f"results/models/{dataset}/{model}/sanity_check.tsv"
        for dataset, model in RUNS
        if VARIANTS[model].role == "model" and trained_by_loop(model)
    ]


def learning_curve_outputs():
    """The learning curve of every chosen network run, when config learning_curve.enabled asks."""
    if not config["learning_curve"]["enabled"]:
        return []
    chosen = set(learning_curve_models())
    return [
        f"results/learning_curve/{dataset}/{model}/learning_curve.{ext}"
        for dataset, model in RUNS
        if model in chosen
        for ext in ("tsv", "png")
    ]


def pretraining_outputs():
    """The autoencoders' models and reconstruction-loss curves (rule pretrain), and the tile
    autoencoders' reconstructions (rule reconstructions)."""
    return [
        f"results/models/{dataset}/{model}/{name}"
        for dataset, model in PRETRAINED
        for name in ("model.keras", "loss_curves.png")
        + (
            ("reconstructions.png",)
            if model_kind(model) in IMAGE_AUTOENCODER_KINDS
            else ()
        )
    ]


def run_files():
    """Every output of the runs (evaluation, sanity checks, interpretation, search trials,
    pre-training)."""
    runs = [path for dataset, model in RUNS for path in run_outputs(dataset, model)]
    runs += pretraining_outputs()
    runs += sanity_outputs()
    runs += learning_curve_outputs()
    runs += [p for d, m in RUNS for p in interpretation_outputs(d, m)]
    runs += [
        f"results/search/{dataset}/{model}/trials.tsv"
        for dataset, model in RUNS
        if VARIANTS[model].role == "search"
    ]
    return runs


def final_outputs():
    """The targets of the default run: every run's outputs, the summary, the recorded config."""
    return run_files() + [
        "results/summary.tsv",
        "results/summary.png",
        "results/leaderboard.html",
        RECORDED_CONFIG,
    ]


# Apply targets (config apply:, biodl.config.targets; rules in apply.smk).
from biodl.config.targets import ApplyTarget, targets_of
from biodl.apply.scan import read_scan_parts


def apply_target(wildcards):
    """The target of a job, checked against the model in its output path."""
    target = ApplyTarget.from_validated(
        wildcards.target, config["apply"][wildcards.target]
    )
    if wildcards.model != target.model:
        raise WorkflowError(
            f"results/apply/{wildcards.target}/ holds the outputs of model {target.model} "
            f"(apply.{wildcards.target}.run), not {wildcards.model}"
        )
    return target


def apply_models(wildcards):
    """The model file(s) of a target's run: an ensemble's members, else its own."""
    target = apply_target(wildcards)
    variant = VARIANTS[target.model]
    names = variant.members if variant.role == "ensemble" else (target.model,)
    return [f"results/models/{target.dataset}/{name}/model.keras" for name in names]


def apply_dataset(wildcards):
    return f"results/prepared/{apply_target(wildcards).dataset}/dataset.json"


def apply_average_strands(wildcards):
    settings = VARIANTS[apply_target(wildcards).model].settings
    return settings["augmentation"]["average_strands"]


def apply_sequence_columns(wildcards):
    """A table of sequences' id and sequence columns; None for a FASTA."""
    target = apply_target(wildcards)
    if target.sequence_column is None:
        return None
    return {"id": target.id_column, "sequence": target.sequence_column}


def apply_stride(wildcards):
    return config["apply"][wildcards.target]["stride"]


def apply_top_variants(wildcards):
    return apply_target(wildcards).top_variants


def apply_threshold(wildcards):
    return apply_target(wildcards).threshold


def apply_known_sites(wildcards):
    """A scan's BED of known sites, if it gives one (a list of none or one)."""
    known = apply_target(wildcards).known_sites
    return [] if known is None else [known]


_SCAN_PARTS = {}


def scan_parts_of(target):
    """The chromosomes of each part of a scan target (biodl.apply.scan.scan_parts), read once."""
    if target not in _SCAN_PARTS:
        _SCAN_PARTS[target] = read_scan_parts(config["apply"][target]["scan"])
    return _SCAN_PARTS[target]


def apply_scan_parts(wildcards):
    """The part files a scan gathers: one job per chromosome (small ones grouped)."""
    parts = scan_parts_of(wildcards.target)
    return [
        f"results/apply/{wildcards.target}/{wildcards.model}/scan/part{k}.tsv"
        for k in range(1, len(parts) + 1)
    ]


def apply_scan_chromosomes(wildcards):
    """The chromosomes one part scans."""
    parts = scan_parts_of(wildcards.target)
    k = int(wildcards.part)
    if not 1 <= k <= len(parts):
        raise WorkflowError(
            f"scan {wildcards.target} has parts 1 to {len(parts)}, not {wildcards.part}"
        )
    return list(parts[k - 1])


def apply_slide_images(wildcards):
    """The slides a slides target's sheet names, each once (inputs, so that a changed slide reruns
    the job; regions of one slide name it on several rows)."""
    from biodl.apply.slide_sheet import read_slide_sheet

    sheet = read_slide_sheet(config["apply"][wildcards.target]["slides"], None)
    return list(dict.fromkeys(str(row.image) for row in sheet.rows))


def apply_input(key):
    """Input function: one file the target names (its input, or its genome)."""
    return lambda wildcards: config["apply"][wildcards.target][key]


def apply_pattern(kind):
    """Regex of the target names whose input is ``kind``."""
    return _names_pattern(targets_of(config, kind))


def apply_report(name, table):
    """An output of one target, in the report under Apply."""
    return report(
        f"results/apply/{{target}}/{{model}}/{name}",
        caption=f"../report/apply_{Path(name).stem}.rst",
        category="Apply",
        subcategory="{target}",
        labels={"target": "{target}", "model": "{model}", "table": table},
    )


def apply_outputs():
    """Every apply target's outputs (nothing without an apply: section)."""
    names = {
        "sequences": ["scores.tsv"],
        "regions": ["scores.tsv", "scores.bed"],
        "vcf": [
            "effects.tsv",
            "unscored.tsv",
            "top_variants.html",
            "top_variant_logos.png",
        ],
        "scan": ["tracks", "scan_summary.tsv", "track_plot.png"],
        "slides": ["tiles.tsv", "slides.tsv", "slide_metrics.tsv", "maps"],
        "table": ["table_scores.tsv"],
    }
    return [
        f"results/apply/{name}/{ApplyTarget.from_validated(name, spec).model}/{output}"
        for name, spec in config.get("apply", {}).items()
        for output in names[ApplyTarget.from_validated(name, spec).kind]
    ]
