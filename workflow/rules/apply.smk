# Trained runs applied to new inputs (config apply:, biodl.config.targets): one rule per input
# kind, one job per target. Outputs: results/apply/{target}/{model}/, the model being the one the
# target's run names (an ensemble: its members' models, averaged).


rule apply_sequences:
    input:
        dataset=apply_dataset,
        models=apply_models,
        sequences=apply_input("sequences"),
    output:
        scores=apply_report("scores.tsv", "sequence scores"),
    log:
        "logs/apply/{target}/{model}.log",
    benchmark:
        "benchmarks/apply/{target}/{model}.tsv"
    wildcard_constraints:
        target=apply_pattern("sequences"),
    conda:
        "../../envs/apply.yaml"
    threads: input_threads
    resources:
        mem_mb=lambda wildcards, input, attempt: attempt * max(3000, 40 * input.size_mb),
        runtime=lambda wildcards, input, attempt: attempt * max(15, int(input.size_mb)),
    params:
        average_strands=apply_average_strands,
        seed=config["seed"],
        columns=apply_sequence_columns,
    script:
        "../../scripts/apply_sequences.py"


rule apply_regions:
    input:
        dataset=apply_dataset,
        models=apply_models,
        regions=apply_input("regions"),
        genome=apply_input("genome"),
    output:
        scores=apply_report("scores.tsv", "region scores"),
        bed=apply_report("scores.bed", "region scores (BED)"),
    log:
        "logs/apply/{target}/{model}.log",
    benchmark:
        "benchmarks/apply/{target}/{model}.tsv"
    wildcard_constraints:
        target=apply_pattern("regions"),
    conda:
        "../../envs/apply.yaml"
    threads: input_threads
    resources:
        # One chromosome's codes plus the windows: a few times the genome's largest chromosome.
        mem_mb=lambda wildcards, input, attempt: attempt * max(3000, 4 * input.size_mb),
        runtime=lambda wildcards, input, attempt: attempt
        * max(15, int(input.size_mb) // 10),
    params:
        average_strands=apply_average_strands,
        seed=config["seed"],
    script:
        "../../scripts/apply_regions.py"


rule apply_variants:
    input:
        dataset=apply_dataset,
        models=apply_models,
        vcf=apply_input("vcf"),
        genome=apply_input("genome"),
    output:
        effects=apply_report("effects.tsv", "variant effects"),
        unscored=apply_report("unscored.tsv", "variants not scored"),
        top_variants=apply_report("top_variants.html", "top variants"),
        top_variant_logos=apply_report(
            "top_variant_logos.png", "top variants explained"
        ),
    log:
        "logs/apply/{target}/{model}.log",
    benchmark:
        "benchmarks/apply/{target}/{model}.tsv"
    wildcard_constraints:
        target=apply_pattern("vcf"),
    conda:
        "../../envs/apply.yaml"
    threads: input_threads
    resources:
        mem_mb=lambda wildcards, input, attempt: attempt * max(3000, 4 * input.size_mb),
        runtime=lambda wildcards, input, attempt: attempt
        * max(15, int(input.size_mb) // 10),
    params:
        average_strands=apply_average_strands,
        top_variants=apply_top_variants,
        seed=config["seed"],
    script:
        "../../scripts/apply_variants.py"


rule apply_scan_part:
    input:
        dataset=apply_dataset,
        models=apply_models,
        regions=apply_input("scan"),
        genome=apply_input("genome"),
    output:
        part=temp("results/apply/{target}/{model}/scan/part{part}.tsv"),
    log:
        "logs/apply/{target}/{model}/part{part}.log",
    benchmark:
        "benchmarks/apply/{target}/{model}/part{part}.tsv"
    wildcard_constraints:
        target=apply_pattern("scan"),
        part=r"\d+",
    conda:
        "../../envs/apply.yaml"
    threads: input_threads
    resources:
        # One chromosome's codes and a chunk of windows at a time.
        mem_mb=lambda wildcards, input, attempt: attempt * max(4000, 4 * input.size_mb),
        runtime=lambda wildcards, input, attempt: attempt
        * max(30, int(input.size_mb) // 2),
    params:
        average_strands=apply_average_strands,
        stride=apply_stride,
        chromosomes=apply_scan_chromosomes,
        seed=config["seed"],
    script:
        "../../scripts/apply_scan_part.py"


rule apply_scan:
    input:
        dataset=apply_dataset,
        parts=apply_scan_parts,
        genome=apply_input("genome"),
        known_sites=apply_known_sites,
    output:
        tracks=directory("results/apply/{target}/{model}/tracks"),
        summary=apply_report("scan_summary.tsv", "genome scan summary"),
        track_plot=apply_report("track_plot.png", "track plot around the top windows"),
    log:
        "logs/apply/{target}/{model}.log",
    benchmark:
        "benchmarks/apply/{target}/{model}.tsv"
    wildcard_constraints:
        target=apply_pattern("scan"),
    conda:
        "../../envs/apply.yaml"
    threads: 1
    resources:
        # Every part's scores at once (a few tens of bytes per window).
        mem_mb=lambda wildcards, input, attempt: attempt * max(2000, 3 * input.size_mb),
        runtime=lambda wildcards, input, attempt: attempt
        * max(15, int(input.size_mb) // 20),
    params:
        stride=apply_stride,
        threshold=apply_threshold,
        bootstrap=config["evaluation"]["bootstrap"],
        confidence=config["evaluation"]["confidence"],
        seed=config["seed"],
    script:
        "../../scripts/apply_scan.py"


rule apply_slides:
    input:
        dataset=apply_dataset,
        models=apply_models,
        slides=apply_input("slides"),
        images=apply_slide_images,
    output:
        tiles=apply_report("tiles.tsv", "slide tiles"),
        slides=apply_report("slides.tsv", "slide scores"),
        metrics=apply_report("slide_metrics.tsv", "slide-level metrics"),
        maps=report(
            directory("results/apply/{target}/{model}/maps"),
            patterns=["{slide}.heatmap.png"],
            caption="../report/apply_maps.rst",
            category="Apply",
            subcategory="{target}",
            labels={
                "target": "{target}",
                "model": "{model}",
                "table": "heatmap {slide}",
            },
        ),
    log:
        "logs/apply/{target}/{model}.log",
    benchmark:
        "benchmarks/apply/{target}/{model}.tsv"
    wildcard_constraints:
        target=apply_pattern("slides"),
    conda:
        "../../envs/apply_slides.yaml"
    threads: input_threads
    resources:
        # One slide's thumbnail (at most 8192 px a side) and a chunk of tiles at a time.
        mem_mb=lambda wildcards, input, attempt: attempt * 4000,
        runtime=lambda wildcards, input, attempt: attempt
        * max(15, int(input.size_mb) // 20),
    params:
        aggregate=lambda wildcards: config["apply"][wildcards.target]["aggregate"],
        evaluation=config["evaluation"],
        seed=config["seed"],
    script:
        "../../scripts/apply_slides.py"


rule apply_table:
    input:
        dataset=apply_dataset,
        models=apply_models,
        preprocessing=lambda wildcards: (
            f"results/prepared/{apply_target(wildcards).dataset}/preprocessing.skops"
        ),
        table=apply_input("table"),
    output:
        scores=apply_report("table_scores.tsv", "table scores"),
    log:
        "logs/apply/{target}/{model}.log",
    benchmark:
        "benchmarks/apply/{target}/{model}.tsv"
    wildcard_constraints:
        target=apply_pattern("table"),
    conda:
        "../../envs/apply_table.yaml"
    threads: input_threads
    resources:
        mem_mb=lambda wildcards, input, attempt: attempt * max(3000, 20 * input.size_mb),
        runtime=lambda wildcards, input, attempt: attempt * max(15, int(input.size_mb)),
    params:
        spec=lambda wildcards: config["datasets"][apply_target(wildcards).dataset],
        dataset_name=lambda wildcards: apply_target(wildcards).dataset,
        seed=config["seed"],
    script:
        "../../scripts/apply_table.py"
