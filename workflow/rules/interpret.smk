# Interpretation of trained networks (biodl.interpret): one rule per modality, each taking the
# network kind that modality trains (cnn1d for DNA, cnn2d for images, mlp for tables).


rule interpret_dna:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
        model="results/models/{dataset}/{model}/model.keras",
        database=config["interpretation"]["database"],
    output:
        filters=interpretation_report("filters.meme", "filter motifs (MEME)"),
        tomtom=interpretation_report("tomtom.tsv", "Tomtom matches"),
        influence=interpretation_report("influence.tsv", "filter influence"),
        filter_logos=interpretation_report(
            "filter_logos.png", "filter logos and matches"
        ),
        maximisation_logos=interpretation_report(
            "maximisation_logos.png", "activation maximisation"
        ),
        attribution_logos=interpretation_report(
            "attribution_logos.png", "attribution logos"
        ),
    log:
        "logs/interpret/{dataset}/{model}.log",
    benchmark:
        "benchmarks/interpret/{dataset}/{model}.tsv"
    wildcard_constraints:
        dataset=dataset_pattern("dna"),
        model=model_pattern("cnn1d"),
    conda:
        "../../envs/interpret.yaml"
    # Tomtom runs its queries on numba threads.
    threads: 2
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 4000,
        runtime=lambda wildcards, attempt: attempt * 30,
    params:
        interpretation=config["interpretation"],
        seed=config["seed"],
    script:
        "../../scripts/interpret_dna.py"


rule interpret_image:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
        model="results/models/{dataset}/{model}/model.keras",
    output:
        filter_grid=interpretation_report("filter_grid.png", "first-layer kernels"),
        feature_maps=interpretation_report("feature_maps.png", "feature maps"),
        maximisation_images=interpretation_report(
            "maximisation_images.png", "activation maximisation"
        ),
        saliency_gradcam=interpretation_report(
            "saliency_gradcam.png", "saliency and Grad-CAM"
        ),
    log:
        "logs/interpret/{dataset}/{model}.log",
    benchmark:
        "benchmarks/interpret/{dataset}/{model}.tsv"
    wildcard_constraints:
        dataset=dataset_pattern("image"),
        model=model_pattern("cnn2d"),
    conda:
        "../../envs/interpret.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 4000,
        runtime=lambda wildcards, attempt: attempt * 30,
    params:
        interpretation=config["interpretation"],
        seed=config["seed"],
    script:
        "../../scripts/interpret_image.py"


rule interpret_table:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
        model="results/models/{dataset}/{model}/model.keras",
    output:
        importance=interpretation_report("importance.tsv", "permutation importance"),
        importance_plot=interpretation_report(
            "importance.png", "permutation importance plot"
        ),
    log:
        "logs/interpret/{dataset}/{model}.log",
    benchmark:
        "benchmarks/interpret/{dataset}/{model}.tsv"
    wildcard_constraints:
        dataset=dataset_pattern("table"),
        model=model_pattern("mlp"),
    conda:
        "../../envs/interpret.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 2000,
        runtime=lambda wildcards, attempt: attempt * 20,
    params:
        interpretation=config["interpretation"],
        seed=config["seed"],
    script:
        "../../scripts/interpret_table.py"
