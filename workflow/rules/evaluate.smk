rule evaluate:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
        model="results/models/{dataset}/{model}/model.keras",
        history="results/models/{dataset}/{model}/history.tsv",
    output:
        predictions=report(
            "results/evaluation/{dataset}/{model}/predictions.tsv",
            caption="../report/predictions.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={
                "dataset": "{dataset}",
                "model": "{model}",
                "figure": "predictions",
            },
        ),
        metrics=report(
            "results/evaluation/{dataset}/{model}/metrics.tsv",
            caption="../report/metrics.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={"dataset": "{dataset}", "model": "{model}", "figure": "metrics"},
        ),
        roc=report(
            "results/evaluation/{dataset}/{model}/roc.png",
            caption="../report/roc.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={"dataset": "{dataset}", "model": "{model}", "figure": "ROC curve"},
        ),
        pr=report(
            "results/evaluation/{dataset}/{model}/pr.png",
            caption="../report/pr.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={"dataset": "{dataset}", "model": "{model}", "figure": "PR curve"},
        ),
        training_curves=report(
            "results/evaluation/{dataset}/{model}/training_curves.png",
            caption="../report/training_curves.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={
                "dataset": "{dataset}",
                "model": "{model}",
                "figure": "training curves",
            },
        ),
    log:
        "logs/evaluate/{dataset}/{model}.log",
    benchmark:
        "benchmarks/evaluate/{dataset}/{model}.tsv"
    conda:
        "../../envs/evaluate.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 3000,
        runtime=lambda wildcards, attempt: attempt * 20,
    script:
        "../../scripts/evaluate.py"


rule summarize:
    input:
        metrics=evaluation_files("metrics.tsv"),
        datasets=[f"results/prepared/{dataset}/dataset.json" for dataset, _ in RUNS],
    output:
        summary=report(
            "results/summary.tsv",
            caption="../report/summary.rst",
            category="Summary",
            labels={"table": "all runs"},
        ),
    log:
        "logs/summarize.log",
    conda:
        "../../envs/summarize.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        runs=RUNS,
    script:
        "../../scripts/summarize.py"
