rule evaluate_classification:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        predictions="results/evaluation/{dataset}/{model}/predictions.tsv",
    output:
        metrics="results/evaluation/{dataset}/{model}/metrics.tsv",
        metrics_table=run_report("metrics.html", "metrics"),
        roc=run_report("roc.png", "ROC curve"),
        pr=run_report("pr.png", "PR curve"),
        calibration=run_report("calibration.png", "calibration"),
        confusion=run_report("confusion.png", "confusion matrix"),
        confusion_table=run_report("confusion.tsv", "confusion counts"),
        confusion_html=run_table("confusion"),
        per_task=run_report("per_task.png", "per-task metrics"),
    log:
        "logs/evaluate/{dataset}/{model}.log",
    benchmark:
        "benchmarks/evaluate/{dataset}/{model}.tsv"
    wildcard_constraints:
        dataset=task_pattern("classification"),
    conda:
        "../../envs/evaluate.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 2000,
        runtime=lambda wildcards, attempt: attempt * 20,
    params:
        evaluation=config["evaluation"],
        settings=run_settings,
        seed=config["seed"],
        # attention_mil predicts one row per bag (slide): metrics per slide.
        per_bag=lambda wildcards: model_kind(wildcards.model) in MIL_KINDS,
    script:
        "../../scripts/evaluate.py"


rule attention_map:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
        attention="results/evaluation/{dataset}/{model}/attention.tsv",
        predictions="results/evaluation/{dataset}/{model}/predictions.tsv",
    output:
        attention_map=run_report(
            "attention_map.png", "attention map", caption_prefix="mil_"
        ),
    log:
        "logs/attention_map/{dataset}/{model}.log",
    wildcard_constraints:
        model=model_pattern(*MIL_KINDS),
    conda:
        "../../envs/evaluate.yaml"
    threads: 1
    resources:
        # The tiles of a few bags are read, not the dataset.
        mem_mb=lambda wildcards, attempt: attempt * 2000,
        runtime=lambda wildcards, attempt: attempt * 10,
    params:
        settings=run_settings,
    script:
        "../../scripts/attention_map.py"


rule evaluate_regression:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        predictions="results/evaluation/{dataset}/{model}/predictions.tsv",
    output:
        metrics="results/evaluation/{dataset}/{model}/metrics.tsv",
        metrics_table=run_report("metrics.html", "metrics"),
        scatter=run_report("scatter.png", "predicted vs observed"),
        per_task=run_report("per_task.png", "per-task metrics"),
    log:
        "logs/evaluate/{dataset}/{model}.log",
    benchmark:
        "benchmarks/evaluate/{dataset}/{model}.tsv"
    wildcard_constraints:
        dataset=task_pattern("regression"),
    conda:
        "../../envs/evaluate.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 2000,
        runtime=lambda wildcards, attempt: attempt * 20,
    params:
        evaluation=config["evaluation"],
        settings=run_settings,
        seed=config["seed"],
    script:
        "../../scripts/evaluate.py"


rule summarize:
    input:
        metrics=evaluation_files("metrics.tsv"),
        datasets=[f"results/prepared/{dataset}/dataset.json" for dataset, _ in RUNS],
        # Each run's parameter count (biodl.models.parameter_count), same order.
        parameters=[
            f"results/models/{dataset}/{model}/parameters.tsv"
            for dataset, model in RUNS
        ],
    output:
        summary=report(
            "results/summary.tsv",
            caption="../report/summary.rst",
            category="Summary",
            labels={"table": "all runs"},
        ),
        comparison=report(
            "results/summary.png",
            caption="../report/comparison.rst",
            category="Summary",
            labels={"table": "comparison of runs"},
        ),
    log:
        "logs/summarize.log",
    conda:
        "../../envs/summarize.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 1000,
        runtime=lambda wildcards, attempt: attempt * 5,
    params:
        runs=RUNS,
        kinds=[model_kind(model) for _, model in RUNS],
        roles=[VARIANTS[model].role for _, model in RUNS],
        member_of=[
            VARIANTS[model].model if VARIANTS[model].role == "member" else ""
            for _, model in RUNS
        ],
    script:
        "../../scripts/summarize.py"
