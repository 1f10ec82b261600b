rule train:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
    output:
        model="results/models/{dataset}/{model}/model.keras",
        history="results/models/{dataset}/{model}/history.tsv",
    log:
        "logs/train/{dataset}/{model}.log",
    benchmark:
        "benchmarks/train/{dataset}/{model}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 2
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 4000,
        runtime=lambda wildcards, attempt: attempt
        * max(30, config["models"][wildcards.model]["training"]["epochs"]),
    params:
        model_name=lambda wildcards: wildcards.model,
        model_config=lambda wildcards: config["models"][wildcards.model],
        seed=config["seed"],
    script:
        "../../scripts/train.py"
