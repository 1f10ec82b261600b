# Ensembles and hyper-parameter searches (biodl.workflow.variants): their members and trials are trained
# and predicted by the usual rules; these rules turn them into the runs evaluated on test.


rule average_ensemble:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        members=member_predictions,
        member_parameters=member_parameters,
    output:
        predictions=run_report("predictions.tsv", "predictions"),
        # An ensemble predicts with every member: the sum of their parameters.
        parameters="results/models/{dataset}/{model}/parameters.tsv",
    log:
        "logs/average_ensemble/{dataset}/{model}.log",
    benchmark:
        "benchmarks/average_ensemble/{dataset}/{model}.tsv"
    wildcard_constraints:
        model=role_pattern("ensemble"),
    conda:
        "../../envs/evaluate.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 2000,
        runtime=lambda wildcards, attempt: attempt * 10,
    script:
        "../../scripts/average_ensemble.py"


rule select_trial:
    input:
        dataset="results/prepared/{dataset}/dataset.json",
        # Every trial's predictions; only their validation rows are read.
        trials=member_predictions,
        trial_parameters=member_parameters,
    output:
        predictions=run_report("predictions.tsv", "predictions"),
        # The chosen trial's parameter count.
        parameters="results/models/{dataset}/{model}/parameters.tsv",
        trials=report(
            "results/search/{dataset}/{model}/trials.tsv",
            caption="../report/trials.rst",
            category="{dataset}",
            subcategory="{model}",
            labels=run_labels("search trials"),
        ),
        trials_html=run_table("trials"),
    log:
        "logs/select_trial/{dataset}/{model}.log",
    benchmark:
        "benchmarks/select_trial/{dataset}/{model}.tsv"
    wildcard_constraints:
        model=role_pattern("search"),
    conda:
        "../../envs/evaluate.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 2000,
        runtime=lambda wildcards, attempt: attempt * 10,
    params:
        names=lambda wildcards: list(VARIANTS[wildcards.model].members),
        sampled=lambda wildcards: [
            VARIANTS[trial].sampled for trial in VARIANTS[wildcards.model].members
        ],
    script:
        "../../scripts/select_trial.py"
