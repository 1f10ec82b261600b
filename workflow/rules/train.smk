rule train:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
        # Transfer learning: the trained run named by init_from, so the DAG links the two.
        init_model=lambda wildcards: init_model(wildcards.model),
    output:
        model="results/models/{dataset}/{model}/model.keras",
        history="results/models/{dataset}/{model}/history.tsv",
        # The loss of the initial weights against its chance value (also in the log).
        initial_loss="results/models/{dataset}/{model}/initial_loss.tsv",
        # Total and trainable parameters, for the leaderboard (biodl.models.parameter_count).
        parameters="results/models/{dataset}/{model}/parameters.tsv",
        # Written by the training job, with the model still in memory (a separate job would
        # start TensorFlow again): the validation and test predictions and the training curves.
        predictions=run_report("predictions.tsv", "predictions"),
        training_curves=run_report("training_curves.png", "training curves"),
    log:
        "logs/train/{dataset}/{model}.log",
    benchmark:
        "benchmarks/train/{dataset}/{model}.tsv"
    wildcard_constraints:
        model=network_pattern(),
    conda:
        "../../envs/train.yaml"
    threads: dataset_threads
    resources:
        # Batches stream from memory-mapped shards: memory does not grow with the data.
        mem_mb=lambda wildcards, attempt: attempt * 4000,
        # Minutes: start-up plus 0.1 s per MB of prepared data and epoch. The shards are
        # measured when the job is ready to run (before that the glob finds none).
        runtime=lambda wildcards, input, attempt: attempt
        * (
            15
            + model_config(wildcards.model)["training"]["epochs"]
            * int(shards_mb(input.shards))
            // 600
        ),
        # Slurm: --gpus=1 --cpus-per-gpu=<threads> where the model's training.device and the
        # gpu_jobs section ask for a GPU (mlps and small datasets do not, by default); else gpu=0:
        # --cpus-per-task=<threads> and no GPU. Local runs set no GPU limit. Threads: the threads
        # section (one on a small dataset, biodl.workflow.job_threads).
        gpu=train_gpus,
        cpus_per_gpu=lambda wildcards, threads: threads,
    params:
        model_config=lambda wildcards: model_config(wildcards.model),
        seed=lambda wildcards: run_seed(wildcards.model),
        # The run's settings in words, for the report's captions.
        settings=run_settings,
        # Fold-ensemble members: [member, folds] (biodl.data.dataset.open_dataset), else None.
        fold=lambda wildcards: run_fold(wildcards.model),
        # The run's checkpoint folder is <root>/{dataset}/{model}. Not an output: Snakemake
        # deletes a failed job's outputs, the checkpoint must survive.
        checkpoint_root="results/checkpoints",
        # Event files hold wall-clock times: logs, kept out of the byte-reproducible results/.
        tensorboard_root="logs/tensorboard",
    script:
        "../../scripts/train.py"


rule train_mil:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
        # A cnn2d or attention_mil run whose tile layers start the encoder (init_from).
        init_model=lambda wildcards: init_model(wildcards.model),
    output:
        model="results/models/{dataset}/{model}/model.keras",
        history="results/models/{dataset}/{model}/history.tsv",
        # Total and trainable parameters, for the leaderboard (biodl.models.parameter_count).
        parameters="results/models/{dataset}/{model}/parameters.tsv",
        # One row per validation and test bag (slide): evaluate reads them per bag.
        predictions=run_report("predictions.tsv", "predictions", caption_prefix="mil_"),
        # The attention weight of every tile of those bags, and as the report's table.
        attention="results/evaluation/{dataset}/{model}/attention.tsv",
        attention_html=run_table("attention"),
        training_curves=run_report(
            "training_curves.png", "training curves", caption_prefix="mil_"
        ),
    log:
        "logs/train/{dataset}/{model}.log",
    benchmark:
        "benchmarks/train/{dataset}/{model}.tsv"
    wildcard_constraints:
        model=model_pattern(*MIL_KINDS),
    conda:
        "../../envs/train.yaml"
    threads: dataset_threads
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 4000,
        # As rule train: start-up plus 0.1 s per MB of prepared data and epoch.
        runtime=lambda wildcards, input, attempt: attempt
        * (
            15
            + model_config(wildcards.model)["training"]["epochs"]
            * int(shards_mb(input.shards))
            // 600
        ),
        gpu=train_gpus,
        cpus_per_gpu=lambda wildcards, threads: threads,
    params:
        model_config=lambda wildcards: model_config(wildcards.model),
        seed=lambda wildcards: run_seed(wildcards.model),
        settings=run_settings,
    script:
        "../../scripts/train_mil.py"


rule pretrain:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
    output:
        # What a supervised run's init_from starts from (its encoder's layers).
        model="results/models/{dataset}/{model}/model.keras",
        history="results/models/{dataset}/{model}/history.tsv",
        # Total and trainable parameters, for the leaderboard (biodl.models.parameter_count).
        parameters="results/models/{dataset}/{model}/parameters.tsv",
        loss_curves=run_report(
            "loss_curves.png",
            "reconstruction loss",
            step="models",
            caption_prefix="pretrain_",
        ),
    log:
        "logs/pretrain/{dataset}/{model}.log",
    benchmark:
        "benchmarks/pretrain/{dataset}/{model}.tsv"
    wildcard_constraints:
        model=model_pattern(*AUTOENCODER_KINDS),
    conda:
        "../../envs/train.yaml"
    threads: dataset_threads
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 4000,
        runtime=lambda wildcards, input, attempt: attempt
        * (
            15
            + model_config(wildcards.model)["training"]["epochs"]
            * int(shards_mb(input.shards))
            // 600
        ),
        gpu=train_gpus,
        cpus_per_gpu=lambda wildcards, threads: threads,
    params:
        model_config=lambda wildcards: model_config(wildcards.model),
        seed=lambda wildcards: run_seed(wildcards.model),
        settings=run_settings,
    script:
        "../../scripts/pretrain.py"


rule reconstructions:
    input:
        model="results/models/{dataset}/{model}/model.keras",
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
    output:
        reconstructions=run_report(
            "reconstructions.png",
            "reconstructions",
            step="models",
            caption_prefix="pretrain_",
        ),
    log:
        "logs/reconstructions/{dataset}/{model}.log",
    wildcard_constraints:
        model=model_pattern(*IMAGE_AUTOENCODER_KINDS),
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        # A few validation tiles through the autoencoder.
        mem_mb=lambda wildcards, attempt: attempt * 3000,
        runtime=lambda wildcards, attempt: attempt * 10,
    params:
        settings=run_settings,
    script:
        "../../scripts/reconstructions.py"


rule train_baseline:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
    output:
        model="results/models/{dataset}/{model}/model.skops",
        # Coefficients and intercepts of a linear model; empty for gradient boosting (trees).
        parameters="results/models/{dataset}/{model}/parameters.tsv",
        predictions="results/evaluation/{dataset}/{model}/predictions.tsv",
    log:
        "logs/train/{dataset}/{model}.log",
    benchmark:
        "benchmarks/train/{dataset}/{model}.tsv"
    wildcard_constraints:
        model=model_pattern("baseline"),
    conda:
        "../../envs/baseline.yaml"
    threads: 1
    resources:
        # The features of every split are held in memory (tables, k-mer counts).
        mem_mb=lambda wildcards, input, attempt: attempt
        * max(2000, int(3 * shards_mb(input.shards))),
        runtime=lambda wildcards, attempt: attempt * 30,
    params:
        model_config=lambda wildcards: model_config(wildcards.model),
        seed=lambda wildcards: run_seed(wildcards.model),
    script:
        "../../scripts/train_baseline.py"


rule sanity_check:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
    output:
        result=report(
            "results/models/{dataset}/{model}/sanity_check.tsv",
            caption="../report/sanity_check.rst",
            category="{dataset}",
            subcategory="{model}",
            labels=run_labels("sanity check"),
        ),
    log:
        "logs/sanity_check/{dataset}/{model}.log",
    benchmark:
        "benchmarks/sanity_check/{dataset}/{model}.tsv"
    wildcard_constraints:
        model=network_pattern(),
    conda:
        "../../envs/train.yaml"
    threads: dataset_threads
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 3000,
        runtime=lambda wildcards, attempt: attempt * 20,
    params:
        model_config=lambda wildcards: model_config(wildcards.model),
        seed=lambda wildcards: run_seed(wildcards.model),
        settings=config["sanity_check"],
    script:
        "../../scripts/sanity_check.py"


rule learning_curve:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        shards="results/prepared/{dataset}/shards",
        # A model started from another run's weights starts from them at every fraction.
        init_model=lambda wildcards: init_model(wildcards.model),
    output:
        table=report(
            "results/learning_curve/{dataset}/{model}/learning_curve.tsv",
            caption="../report/learning_curve.rst",
            category="{dataset}",
            subcategory="{model}",
            labels=run_labels("learning curve (table)"),
        ),
        figure=report(
            "results/learning_curve/{dataset}/{model}/learning_curve.png",
            caption="../report/learning_curve.rst",
            category="{dataset}",
            subcategory="{model}",
            labels=run_labels("learning curve"),
        ),
    log:
        "logs/learning_curve/{dataset}/{model}.log",
    benchmark:
        "benchmarks/learning_curve/{dataset}/{model}.tsv"
    wildcard_constraints:
        model=learning_curve_pattern(),
    conda:
        "../../envs/train.yaml"
    threads: dataset_threads
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 4000,
        # One training per fraction, each at most the run's own (see rule train).
        runtime=lambda wildcards, input, attempt: attempt
        * len(config["learning_curve"]["fractions"])
        * (
            15
            + model_config(wildcards.model)["training"]["epochs"]
            * int(shards_mb(input.shards))
            // 600
        ),
        gpu=train_gpus,
        cpus_per_gpu=lambda wildcards, threads: threads,
    params:
        model_config=lambda wildcards: model_config(wildcards.model),
        seed=lambda wildcards: run_seed(wildcards.model),
        settings=config["learning_curve"],
        evaluation=config["evaluation"],
    script:
        "../../scripts/learning_curve.py"


rule export_preprocessing:
    input:
        preprocessing="results/prepared/{dataset}/preprocessing.skops",
    output:
        preprocessing="results/models/{dataset}/{model}/preprocessing.skops",
    log:
        "logs/export_preprocessing/{dataset}/{model}.log",
    wildcard_constraints:
        dataset=dataset_pattern("table"),
    conda:
        "../../envs/summarize.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 1000,
        runtime=lambda wildcards, attempt: attempt * 5,
    script:
        "../../scripts/export_preprocessing.py"
