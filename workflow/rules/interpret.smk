# Interpretation of trained networks (biodl.interpret): one rule per modality, each taking the
# network kind that modality trains (cnn1d for DNA, cnn2d for images, mlp for tables).


rule interpret_dna:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
        model="results/models/{dataset}/{model}/model.keras",
        database=motif_database,
    output:
        **dna_interpretation_outputs(),
    log:
        "logs/interpret/{dataset}/{model}.log",
    benchmark:
        "benchmarks/interpret/{dataset}/{model}.tsv"
    wildcard_constraints:
        dataset=dataset_pattern("dna"),
        model=model_pattern("cnn1d"),
    conda:
        "../../envs/interpret.yaml"
    # Tomtom, TF-MoDISco and TensorFlow run on the job's threads (one on a small dataset).
    threads: dataset_threads
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 4000,
        runtime=lambda wildcards, attempt: attempt * 30,
    params:
        interpretation=config["interpretation"],
        genome=dataset_genome,
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
        importance_html=run_table("importance"),
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
