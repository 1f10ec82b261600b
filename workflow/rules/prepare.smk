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
