rule prepare_dna:
    input:
        dataset_inputs,
    output:
        dataset="results/prepared/{dataset}/dataset.json",
        metadata="results/prepared/{dataset}/metadata.tsv",
        shards=directory("results/prepared/{dataset}/shards"),
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        "benchmarks/prepare/{dataset}.tsv"
    wildcard_constraints:
        dataset=dataset_pattern("dna"),
    conda:
        "../../envs/prepare.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input, attempt: attempt * max(2000, 8 * input.size_mb),
        runtime=lambda wildcards, input, attempt: attempt * max(10, int(input.size_mb)),
    params:
        spec=lambda wildcards: config["datasets"][wildcards.dataset],
        seed=config["seed"],
    script:
        "../../scripts/prepare_dna.py"


rule prepare_table:
    input:
        dataset_inputs,
    output:
        dataset="results/prepared/{dataset}/dataset.json",
        metadata="results/prepared/{dataset}/metadata.tsv",
        shards=directory("results/prepared/{dataset}/shards"),
        preprocessing="results/prepared/{dataset}/preprocessing.skops",
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        "benchmarks/prepare/{dataset}.tsv"
    wildcard_constraints:
        dataset=dataset_pattern("table"),
    conda:
        "../../envs/prepare.yaml"
    threads: 1
    resources:
        # The table is read whole: a few times its size as text.
        mem_mb=lambda wildcards, input, attempt: attempt * max(2000, 10 * input.size_mb),
        runtime=lambda wildcards, input, attempt: attempt * max(10, int(input.size_mb)),
    params:
        spec=lambda wildcards: config["datasets"][wildcards.dataset],
        seed=config["seed"],
    script:
        "../../scripts/prepare_table.py"


rule prepare_image:
    input:
        dataset_inputs,
    output:
        dataset="results/prepared/{dataset}/dataset.json",
        metadata="results/prepared/{dataset}/metadata.tsv",
        shards=directory("results/prepared/{dataset}/shards"),
        preview=report(
            "results/prepared/{dataset}/preview.png",
            caption="../report/tiles_preview.rst",
            category="{dataset}",
            subcategory="data",
            labels={"dataset": "{dataset}", "figure": "tile preview"},
        ),
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        "benchmarks/prepare/{dataset}.tsv"
    wildcard_constraints:
        dataset=dataset_pattern("image"),
    conda:
        "../../envs/prepare.yaml"
    threads: input_threads
    resources:
        # Slides are read by region (memory: one shard of tiles); other images are loaded whole.
        mem_mb=lambda wildcards, input, attempt: attempt * max(3000, 2 * input.size_mb),
        runtime=lambda wildcards, input, attempt: attempt * int(10 + input.size_mb / 20),
    params:
        spec=lambda wildcards: config["datasets"][wildcards.dataset],
        seed=config["seed"],
    script:
        "../../scripts/prepare_image.py"
