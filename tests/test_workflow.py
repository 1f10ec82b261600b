"""Workflow tests: Snakemake itself run on the demo config (dry), on a tiny config (for real),
on an invalid config and on bad input, as a user would run it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from biodl.models.parameter_count import read_parameters

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")


def snakemake(*args, cwd=ROOT, timeout=900):
    return subprocess.run([SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_dry_run_of_the_demo_lists_every_step():
    result = snakemake("-n", "--forceall", "--quiet", "rules")
    assert result.returncode == 0, result.stderr
    counts = dict(
        line.split()[:2]
        for line in result.stdout.splitlines()
        if line.split()[:1] and line.split()[-1].isdigit() and len(line.split()) == 2
    )
    # train: 10 plain networks, 3 fold members of mlp_folds, 3 trials of mlp_search, each writing its
    # predictions and curves; trials get no test evaluation; plain networks but the zoo's
    # (ctcf / danq_small, resnet_small) are interpreted; every
    # table run but the ensemble and the search gets the preprocessing next to its model.
    assert counts == {
        "prepare_dna": "2",
        "prepare_table": "2",
        "prepare_image": "2",
        "train": "16",
        "train_baseline": "5",
        "export_preprocessing": "9",
        "evaluate_classification": "17",
        "evaluate_regression": "3",
        "average_ensemble": "1",
        "select_trial": "1",
        "interpret_dna": "4",
        "interpret_image": "2",
        "interpret_table": "2",
        "summarize": "1",
        "leaderboard": "1",
        "record_config": "1",
        "apply_variants": "1",
        "apply_slides": "2",
        "apply_scan_part": "1",
        "apply_scan": "1",
        "all": "1",
        "total": "75",
    }


def dry_run(config_path):
    """A forced dry run of a config: (job counts by rule, the dry run's output)."""
    result = snakemake("-n", "--forceall", "--configfile", str(config_path))
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    table = lines[lines.index("Job stats:") + 3 :]
    counts = {}
    for line in table:
        if len(line.split()) != 2:
            break
        counts[line.split()[0]] = int(line.split()[1])
    return counts, result.stdout


def test_dry_run_of_the_mil_config_trains_on_bags_and_evaluates_per_slide():
    counts, output = dry_run(ROOT / "config/mil.yaml")
    # One attention-MIL run: no rule train, no sanity check or interpretation; its confusion
    # counts and tile attention shown as tables, the attention also drawn over the tiles.
    assert counts == {
        "prepare_image": 1,
        "record_config": 1,
        "train_mil": 1,
        "evaluate_classification": 1,
        "attention_map": 1,
        "summarize": 1,
        "leaderboard": 1,
        "all": 1,
        "total": 8,
    }
    for path in (
        "attention.tsv",
        "attention.html",
        "attention_map.png",
        "predictions.tsv",
        "metrics.tsv",
        "training_curves.png",
    ):
        assert f"results/evaluation/skin_regions/mil/{path}" in output


def test_dry_run_of_the_position_config_trains_the_zoo_beside_the_baselines():
    counts, output = dry_run(ROOT / "config/position.yaml")
    # One sequence dataset, two logistic regressions (one-hot, k-mers) and six networks (two
    # cnn1d, four zoo kinds), every one evaluated on the held-out chromosome; no interpretation.
    assert counts == {
        "prepare_dna": 1,
        "record_config": 1,
        "train_baseline": 2,
        "train": 6,
        "evaluate_classification": 8,
        "summarize": 1,
        "leaderboard": 1,
        "all": 1,
        "total": 21,
    }
    for model in (
        "onehot_linear",
        "cnn_motif",
        "basset_small",
        "deepsea_small",
        "danq_small",
        "resnet_small",
    ):
        assert f"results/evaluation/fly_tss_position/{model}/metrics.tsv" in output


def test_dry_run_of_a_config_that_pretrains_and_fine_tunes(tmp_path):
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    layers = [{"filters": 8, "kernel_size": 15, "pool_size": 4}]
    config["datasets"] = {"ctcf": config["datasets"]["ctcf"]}
    config["models"] = {
        "ae": {"kind": "conv_autoencoder", "conv_layers": layers},
        "cnn_pre": {
            "kind": "cnn1d",
            "conv_layers": layers,
            "global_pool": "max",
            "init_from": {"dataset": "ctcf", "model": "ae"},
        },
    }
    config["runs"] = {"ctcf": ["ae", "cnn_pre"]}
    config["interpretation"] = {"enabled": False}
    config.pop("apply")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    counts, output = dry_run(tmp_path / "config.yaml")
    # The autoencoder is pre-trained (rule pretrain), not evaluated; the CNN starts from it.
    assert counts == {
        "prepare_dna": 1,
        "record_config": 1,
        "pretrain": 1,
        "train": 1,
        "evaluate_classification": 1,
        "summarize": 1,
        "leaderboard": 1,
        "all": 1,
        "total": 8,
    }
    assert "results/models/ctcf/ae/loss_curves.png" in output
    assert "reconstructions.png" not in output
    assert "results/evaluation/ctcf/ae/" not in output
    jobs = output.split("\nrule ")
    (train,) = [job for job in jobs if job.startswith("train:")]
    assert "results/models/ctcf/ae/model.keras" in train.split("output:")[0]  # an input of the CNN


def test_dry_run_of_a_config_that_pretrains_on_tiles_and_fine_tunes(tmp_path):
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    layers = [{"filters": 8, "kernel_size": 3, "pool_size": 2}]
    config["datasets"] = {"skin_epithelium": config["datasets"]["skin_epithelium"]}
    config["models"] = {
        "tile_ae": {"kind": "conv2d_autoencoder", "conv_layers": layers},
        "cnn_pre": {
            "kind": "cnn2d",
            "conv_layers": layers,
            "init_from": {"dataset": "skin_epithelium", "model": "tile_ae"},
        },
    }
    config["runs"] = {"skin_epithelium": ["tile_ae", "cnn_pre"]}
    config.pop("apply")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    counts, output = dry_run(tmp_path / "config.yaml")
    assert counts["pretrain"] == 1 and counts["train"] == 1 and counts["evaluate_classification"] == 1
    assert counts["reconstructions"] == 1  # drawn for tile autoencoders only
    for name in ("loss_curves.png", "reconstructions.png"):
        assert f"results/models/skin_epithelium/tile_ae/{name}" in output
    assert "results/evaluation/skin_epithelium/tile_ae/" not in output
    (train,) = [job for job in output.split("\nrule ") if job.startswith("train:")]
    assert "results/models/skin_epithelium/tile_ae/model.keras" in train.split("output:")[0]


def test_lint_and_snakefmt_are_clean():
    lint = snakemake("--lint")
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr
    fmt = subprocess.run(
        [str(BIN / "snakefmt"), "--check", "Snakefile", "workflow"], cwd=ROOT, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stderr


TINY = {
    "seed": 3,
    "datasets": {
        "ctcf": {
            "modality": "dna",
            "sequences": {"CTCF": "resources/ctcf/Gm12878.CTCF.top500.w200.fa"},
            "length": 200,
            "negatives": {"method": "shuffle", "ratio": 1},
        },
        "yeast": {
            "modality": "dna",
            "genome": "resources/yeast/sacCer_chrI_chrII.fa",
            "regions": {"promoter": "resources/yeast/promoters.bed"},
            "length": 300,
            "negatives": {"method": "gc_matched", "ratio": 1},
            "split": {"validation": ["chrII:1-200000"], "test": ["chrI"]},
        },
        "cancer": {
            "modality": "table",
            "path": "resources/tables/breast_cancer.csv",
            "id_column": "sample",
            "label_columns": ["diagnosis"],
            "task": "binary",
        },
        "diabetes": {
            "modality": "table",
            "path": "resources/tables/diabetes.csv",
            "id_column": "patient",
            "label_columns": ["progression"],
            "task": "regression",
        },
    },
    "models": {
        "tiny": {
            "kind": "cnn1d",
            "conv_layers": [{"filters": 8, "kernel_size": 11}],
            "global_pool": "max",
            "training": {"epochs": 3, "batch_size": 64, "learning_rate": 0.01},
        },
        "mlp": {
            "kind": "mlp",
            "dense_layers": [{"units": 8}],
            "training": {"epochs": 3, "learning_rate": 0.01},
        },
        "linear": {"kind": "baseline", "estimator": "linear", "cv_folds": 3},
        "tiles": {
            "kind": "cnn2d",
            "conv_layers": [{"filters": 4, "kernel_size": 3}],
            "training": {"epochs": 2},
        },
    },
    "runs": {
        "ctcf": ["tiny", "linear"],
        "yeast": ["tiny"],
        "cancer": ["mlp", "linear"],
        "diabetes": ["mlp", "linear"],
        "brain": ["tiles"],
    },
    "evaluation": {"bootstrap": 100},
    # The repository's numba cache, so Tomtom is compiled once per checkout, not per test run.
    "interpretation": {
        "numba_cache_dir": str(ROOT / ".cache/numba"),
        "logo_filters": 4,
        "maximisation_steps": 20,
        "top_sequences": 2,
        # Attributions, TF-MoDISco and insertions run, on a few sequences.
        "attribution_sequences": 150,
        "attribution_references": 3,
        "null_motifs": 20,
        "modisco_leiden_runs": 2,
        "marginal_backgrounds": 20,
    },
}
CLASSIFICATION_FIGURES = ("roc.png", "pr.png", "calibration.png", "confusion.png")
# A few sagittal slices of the demo brain, tiles without overlap: the image path in seconds.
BRAIN_SLICES = "image\tmask\tgroup\tsplit\tslices\n" + "".join(
    f"ch2bet.nii.gz\taal.nii.gz\t{group}\t{split}\t{slices}\n"
    for group, split, slices in (
        ("lateral", "train", "18-27"),
        ("medial", "train", "66-86"),
        ("slab_a", "validation", "30-37"),
        ("slab_b", "validation", "56-63"),
        ("right", "test", "100-130"),
    )
)
TINY["datasets"]["brain"] = {
    **yaml.safe_load((ROOT / "config/config.yaml").read_text())["datasets"]["brain_lobes"],
    "sample_sheet": "resources/brain/tiny.tsv",
    "tile": {"size": 32, "stride": 32},
}


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(ROOT / "resources", tmp_path / "resources")
    return tmp_path


def write_config(workdir, config):
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny config run for real, then its report: (folder, config path, run, report run)."""
    workdir = tmp_path_factory.mktemp("tiny")
    shutil.copytree(ROOT / "resources", workdir / "resources")
    (workdir / "resources/brain/tiny.tsv").write_text(BRAIN_SLICES)
    config = write_config(workdir, TINY)
    run = snakemake(
        "--snakefile", str(ROOT / "Snakefile"), "--configfile", config, "--cores", "2", cwd=workdir
    )
    report = None
    if run.returncode == 0:
        report = snakemake(
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--configfile",
            config,
            "--report",
            "report.html",
            "--report-stylesheet",
            str(ROOT / "workflow/report/report.css"),
            cwd=workdir,
        )
    return workdir, run, report


@pytest.mark.workflow
def test_tiny_end_to_end_run_and_report(tiny_run):
    workdir, run, report = tiny_run
    assert run.returncode == 0, run.stderr[-3000:]
    summary = pd.read_csv(workdir / "results/summary.tsv", sep="\t")
    runs = [(dataset, model) for dataset, models in TINY["runs"].items() for model in models]
    assert sorted(zip(summary["dataset"], summary["model"], strict=True)) == sorted(runs)
    assert summary.set_index("dataset").loc["brain", "task"] == "multiclass"
    assert (workdir / "results/prepared/brain/preview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    classification = summary[summary["task"] != "regression"]
    assert classification["auroc"].between(0, 1).all()
    assert (classification["auroc_ci_low"] <= classification["auroc"]).all()
    assert summary.loc[summary["task"] == "regression", "r2"].notna().all()
    assert (workdir / "results/summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Every run's parameter count, from its training job: a network's every weight, the linear
    # baseline's coefficients; the same number in the summary.
    counts = summary.set_index(["dataset", "model"])["parameters"]
    for dataset, model in runs:
        count = read_parameters(workdir / "results/models" / dataset / model / "parameters.tsv")
        assert count.total == counts[dataset, model] > 0
    import keras

    tiny = keras.models.load_model(workdir / "results/models/ctcf/tiny/model.keras").count_params()
    assert counts["ctcf", "tiny"] == tiny
    for dataset, model in runs:
        folder = workdir / "results/evaluation" / dataset / model
        metrics = pd.read_csv(folder / "metrics.tsv", sep="\t")
        regression = dataset == "diabetes"
        expected = (
            {"mse", "mae", "pearson_r", "r2"} if regression else {"auroc", "auprc", "f1", "brier", "accuracy"}
        )
        expected |= {"f1_best", "threshold_best"} if dataset in ("ctcf", "yeast", "cancer") else set()
        assert expected <= set(metrics["metric"])
        predictions = pd.read_csv(folder / "predictions.tsv", sep="\t")
        prepared = pd.read_csv(workdir / "results/prepared" / dataset / "metadata.tsv", sep="\t")
        assert len(predictions) == prepared["split"].isin(["validation", "test"]).sum()
        figures = ("scatter.png",) if regression else CLASSIFICATION_FIGURES
        figures += ("per_task.png",)
        figures += ("training_curves.png",) if model != "linear" else ()
        for png in figures:
            assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (workdir / "logs/train" / dataset / f"{model}.log").stat().st_size > 0
    assert report.returncode == 0, report.stderr[-3000:]
    html = (workdir / "report.html").read_text()
    for text in (
        "Test-set metrics of model",
        "ROC curve",
        "training curves",
        "summary.tsv",
        "leaderboard.html",
        # The landing page's models, with their parameter counts.
        f"{tiny:,} parameters on ctcf",
    ):
        assert text in html


# One run of each modality, looked at item by item in the report.
BROWSED_RUNS = (("ctcf", "tiny"), ("brain", "tiles"), ("cancer", "mlp"))


@pytest.mark.workflow
def test_report_renders_in_chromium(tiny_run, tmp_path):
    """The tiny run's report as a reader sees it at 1400 x 1000: the landing page with the best
    models on its first screen, the leaderboard, and every item of one run per modality, each
    reachable (not cut off, scrollable to its end), every image decoding, every table with rows."""
    from report_browser import (
        BROKEN_IMAGES_SCRIPT,
        VIEWPORT,
        assert_frame_layout,
        assert_reachable,
        open_menu,
        report_page,
        screenshot,
        show_result,
        shown_frame,
        shown_image,
    )

    workdir, run, report = tiny_run
    assert run.returncode == 0 and report.returncode == 0, (run.stderr + (report.stderr if report else ""))[
        -3000:
    ]
    shots = tmp_path / "screenshots"
    runs = [(dataset, model) for dataset, models in TINY["runs"].items() for model in models]
    with report_page(workdir / "report.html") as page:
        landing = page.inner_text("body")
        assert "Deep learning on genomic and medical data" in landing
        for name in [*TINY["datasets"], *TINY["models"], "Summary"]:
            assert name in landing
        check_landing(page, assert_reachable, VIEWPORT)
        screenshot(page, shots, "landing")
        images = page.evaluate(BROKEN_IMAGES_SCRIPT)
        assert images["broken"] == []
        expected_images = {
            f"results/evaluation/{d}/{m}/{name}"
            for d, m in runs
            for name in (("scatter.png",) if d == "diabetes" else CLASSIFICATION_FIGURES)
            + (("training_curves.png",) if m != "linear" else ())
        }
        assert expected_images | {"results/summary.png"} <= set(images["checked"])

        open_menu(page, "Summary")
        show_result(page, "leaderboard")
        leaderboard = shown_frame(page)
        assert assert_frame_layout(leaderboard, "leaderboard") >= 2
        rows = leaderboard.locator("tbody tr")
        assert rows.count() == len(runs)
        shown = {
            tuple(rows.nth(i).locator("td").nth(j).inner_text().split()[0] for j in (0, 1))
            for i in range(rows.count())
        }
        assert shown == set(runs)
        # Two runs on ctcf and cancer: bold marks a winner; one run on yeast and brain: nothing bold.
        for dataset, models in TINY["runs"].items():
            dataset_rows = rows.filter(has=leaderboard.locator("td:first-child", has_text=dataset))
            assert (dataset_rows.locator("td.best").count() > 0) == (len(models) > 1), dataset
        leaderboard.get_by_role("columnheader", name="auROC").first.click()
        table = leaderboard.locator("table").first
        # The auROC column found by its heading: the columns before it change as the table grows.
        headings = [text.split()[0] for text in table.locator("thead th").all_inner_texts()]
        column = headings.index("auROC") + 1
        aurocs = [
            float(text.split()[0])
            for text in table.locator(f"tbody tr td:nth-child({column})").all_inner_texts()
        ]
        assert aurocs == sorted(aurocs, reverse=True)
        screenshot(page, shots, "leaderboard")

        for dataset, model in BROWSED_RUNS:
            browse_run(page, dataset, model, shots, assert_reachable, assert_frame_layout, screenshot)
        open_menu(page, "ctcf", "tiny")
        show_result(page, "ROC curve")
        assert shown_image(page).evaluate("image => image.naturalWidth") > 500
        show_result(page, "metrics")
        metric_names = shown_frame(page).locator("tbody tr td:first-child").all_inner_texts()
        assert {"auROC", "auPRC", "F1", "accuracy"} <= set(metric_names)
        assert page.errors == []


def check_landing(page, assert_reachable, viewport):
    """The landing page starts in the window and states each dataset's best run on its first screen."""
    assert_reachable(page, "landing page")
    heading = page.get_by_text("Best model per dataset").first
    assert 0 <= heading.bounding_box()["y"] < viewport["height"]
    for dataset in TINY["runs"]:
        line = page.locator("li").filter(has_text=f"{dataset}:").filter(has_text=" — ").first
        box = line.bounding_box()
        assert box is not None and box["y"] + box["height"] <= viewport["height"], dataset


def browse_run(page, dataset, model, shots, assert_reachable, assert_frame_layout, screenshot):
    """Every item of one run's page, in the report's order: metrics first, interpretation last;
    each shown item reachable, its image decoded or its tables filled."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from report_browser import open_menu

    open_menu(page, dataset, model)
    eyes = page.locator("a[iconname=eye]")
    names = [
        eyes.nth(i).locator("xpath=ancestor::tr").first.inner_text().split("\t") for i in range(eyes.count())
    ]
    figures = [" ".join(" ".join(cells).split()) for cells in names]
    assert "metrics" in figures[0], figures
    roc_or_scatter = next(
        i for i, text in enumerate(figures) if "ROC curve" in text or "predicted vs" in text
    )
    curves = next(i for i, text in enumerate(figures) if "training curves" in text)
    assert roc_or_scatter < curves, figures
    for i in range(eyes.count()):
        before = page.evaluate("() => app.state.resultPath || ''")
        eyes.nth(i).click()
        try:
            page.wait_for_function(
                "before => (app.state.resultPath || '') !== before", arg=before, timeout=3000
            )
        except PlaywrightTimeout:
            continue  # a file Snakemake offers only as a download (a TSV): its table is an item of its own
        content, path = page.evaluate("() => [app.state.content, app.state.resultPath]")
        what = f"{dataset}/{model} {path}"
        if content == "img":
            image = page.locator("div.p-3 > img").first
            page.wait_for_function("image => image.complete", arg=image.element_handle())
            assert image.evaluate("image => image.naturalWidth") > 0, what
        elif content == "html":
            frame = page.locator("iframe").first.element_handle().content_frame()
            frame.wait_for_load_state()
            assert_frame_layout(frame, what)
        if content in ("img", "html", "text"):
            assert_reachable(page, what)
            screenshot(page, shots, f"{dataset}-{model}-{i:02d}")


def test_invalid_config_is_rejected_before_any_job(workdir):
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["models"]["tiny"]["training"]["epochs"] = "many"
    run = snakemake(
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--configfile",
        write_config(workdir, config),
        "--cores",
        "1",
        cwd=workdir,
    )
    assert run.returncode != 0
    assert (
        "Invalid configuration: config, models.tiny.training.epochs: expected an integer, found 'many'"
        in run.stderr
    )
    assert not (workdir / "results").exists()


def test_bad_input_fails_its_job_with_the_file_and_line_and_leaves_no_output(workdir):
    bed = workdir / "resources/yeast/promoters.bed"
    lines = bed.read_text().splitlines()
    lines[9] = "chrI\t5000\t4000\tbroken\t0\t+"
    bed.write_text("\n".join(lines) + "\n")
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["datasets"] = {"yeast": config["datasets"]["yeast"]}
    config["runs"] = {"yeast": ["tiny"]}
    run = snakemake(
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--configfile",
        write_config(workdir, config),
        "--cores",
        "1",
        cwd=workdir,
    )
    assert run.returncode != 0
    log = (workdir / "logs/prepare/yeast.log").read_text()
    assert (
        "resources/yeast/promoters.bed, line 10: end must be greater than start, found start=5000 end=4000"
        in log
    )
    assert "Traceback" not in log
    assert not list((workdir / "results").rglob("dataset.json"))


@pytest.mark.workflow
def test_mil_config_runs_end_to_end_with_metrics_per_slide(tmp_path):
    """config/mil.yaml for real (2 epochs): one prediction per bag, metrics counting slides,
    attention weights that sum to 1 per bag, the run in the summary."""
    shutil.copytree(ROOT / "resources/images", tmp_path / "resources/images")
    config = yaml.safe_load((ROOT / "config/mil.yaml").read_text())
    config["models"]["mil"]["training"]["epochs"] = 2
    run = snakemake(
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--configfile",
        write_config(tmp_path, config),
        "--cores",
        "2",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results/evaluation/skin_regions/mil"
    predictions = pd.read_csv(results / "predictions.tsv", sep="\t")
    metadata = pd.read_csv(tmp_path / "results/prepared/skin_regions/metadata.tsv", sep="\t")
    groups = metadata[metadata["split"] != "train"].groupby("split")["group"].nunique()
    assert predictions["group"].is_unique
    assert predictions.groupby("split").size().to_dict() == groups.to_dict()
    metrics = pd.read_csv(results / "metrics.tsv", sep="\t").set_index(["metric", "target"])["value"]
    metrics = metrics.xs("epithelial", level="target")
    assert metrics["n"] == groups["test"] and 0 <= metrics["auroc"] <= 1
    attention = pd.read_csv(results / "attention.tsv", sep="\t")
    assert len(attention) == predictions["tiles_used"].sum()
    assert attention.groupby("group")["attention"].sum().round(5).eq(1).all()
    assert (results / "attention_map.png").read_bytes().startswith(b"\x89PNG")  # drawn beside them
    summary = pd.read_csv(tmp_path / "results/summary.tsv", sep="\t")
    assert summary[["model", "kind", "n_test"]].values.tolist() == [["mil", "attention_mil", groups["test"]]]
    count = read_parameters(tmp_path / "results/models/skin_regions/mil/parameters.tsv")
    assert summary["parameters"].tolist() == [count.total] and count.total > 0
