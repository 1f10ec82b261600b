# Tables for the HTML report: Snakemake's report offers TSV files as downloads only, so the
# tables a reader should see are rendered as HTML (biodl.report.html_tables).


rule leaderboard:
    input:
        summary="results/summary.tsv",
        # Not read: the leaderboard waits for every run's files, so its log line (the report
        # command) is the last of a run.
        runs=run_files(),
        recorded_config=RECORDED_CONFIG,
    output:
        leaderboard=report(
            "results/leaderboard.html",
            caption="../report/leaderboard.rst",
            category="Summary",
            labels={"table": "leaderboard"},
        ),
    log:
        "logs/leaderboard.log",
    conda:
        "../../envs/summarize.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 1000,
        runtime=lambda wildcards, attempt: attempt * 5,
    params:
        report_command=report_command(),
    script:
        "../../scripts/leaderboard.py"


rule tsv_table:
    input:
        table="results/{step}/{dataset}/{model}/{name}.tsv",
    output:
        table=report(
            "results/{step}/{dataset}/{model}/{name}.html",
            caption="../report/tsv_table.rst",
            category="{dataset}",
            subcategory="{model}",
            labels=tsv_table_labels,
        ),
    log:
        "logs/tsv_table/{step}/{dataset}/{model}/{name}.log",
    wildcard_constraints:
        step="evaluation|search|interpretation",
        name="|".join(TSV_TABLES),
    conda:
        "../../envs/summarize.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 1000,
        runtime=lambda wildcards, attempt: attempt * 5,
    script:
        "../../scripts/tsv_table.py"


rule filter_table:
    input:
        influence="results/interpretation/{dataset}/{model}/influence.tsv",
    output:
        filter_table=interpretation_report("filter_table.html", "filter matches"),
    log:
        "logs/filter_table/{dataset}/{model}.log",
    conda:
        "../../envs/summarize.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 1000,
        runtime=lambda wildcards, attempt: attempt * 5,
    script:
        "../../scripts/filter_table.py"


rule record_config:
    output:
        config=RECORDED_CONFIG,
    log:
        "logs/record_config.log",
    conda:
        "../../envs/summarize.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 1000,
        runtime=lambda wildcards, attempt: attempt * 5,
    params:
        # A changed config changes this parameter, so Snakemake writes the file again.
        config=plain_config(),
    script:
        "../../scripts/record_config.py"
