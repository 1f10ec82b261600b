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
