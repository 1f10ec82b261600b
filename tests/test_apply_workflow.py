"""Workflow test of the apply rules: a tiny yeast model applied, through Snakemake, to sequences,
regions and variants; the default target gains the apply outputs only when apply: is configured."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyBigWig
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
GENOME = "resources/yeast/sacCer_chrI_chrII.fa"
LENGTH = 300

CONFIG: dict[str, Any] = {
    "seed": 3,
    "datasets": {
        "yeast": {
            "modality": "dna",
            "genome": GENOME,
            "regions": {"promoter": "resources/yeast/promoters.bed"},
            "length": LENGTH,
            "negatives": {"method": "gc_matched", "ratio": 1},
            "split": {"validation": ["chrII:1-200000"], "test": ["chrI"]},
        }
    },
    "models": {
        "tiny": {
            "kind": "cnn1d",
            "conv_layers": [{"filters": 4, "kernel_size": 11}],
            "global_pool": "max",
            "augmentation": {"average_strands": True},
            "training": {"epochs": 1, "batch_size": 64, "learning_rate": 0.01},
        },
        "pair": {
            "kind": "cnn1d",
            "conv_layers": [{"filters": 4, "kernel_size": 11}],
            "global_pool": "max",
            "training": {"epochs": 1, "batch_size": 64},
            "ensemble": {"members": 2},
        },
    },
    "runs": {"yeast": ["tiny", "pair"]},
    "interpretation": {"enabled": False},
    "apply": {
        "seqs": {"run": "yeast/tiny", "sequences": "new/sequences.fa"},
        "peaks": {"run": "yeast/tiny", "regions": "new/regions.bed", "genome": GENOME},
        "snps": {"run": "yeast/tiny", "vcf": "new/variants.vcf", "genome": GENOME},
        "pair_peaks": {"run": "yeast/pair", "regions": "new/regions.bed", "genome": GENOME},
        "chr1_scan": {
            "run": "yeast/tiny",
            "scan": "new/scan.bed",
            "genome": GENOME,
            "stride": 50,
            "threshold": 0.3,
            "known_sites": "new/sites.bed",
        },
    },
}
OUTPUTS = [
    "results/apply/seqs/tiny/scores.tsv",
    "results/apply/peaks/tiny/scores.tsv",
    "results/apply/peaks/tiny/scores.bed",
    "results/apply/snps/tiny/effects.tsv",
    "results/apply/snps/tiny/unscored.tsv",
    "results/apply/chr1_scan/tiny/scan_summary.tsv",
    "results/apply/chr1_scan/tiny/track_plot.png",
    "results/apply/snps/tiny/top_variants.html",
    "results/apply/snps/tiny/top_variant_logos.png",
]


def snakemake(workdir: Path, config: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    command = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--configfile", "config.yaml", *args]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=900)


def _chromosome(name: str) -> str:
    lines = (ROOT / GENOME).read_text().split(">")
    record = next(r for r in lines if r.startswith(name + "\n"))
    return "".join(record.split("\n")[1:]).upper()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The resources, and new inputs cut from the yeast genome: 3 sequences, 3 regions and a VCF
    of 3 SNVs, an insertion, a deletion, a multi-allelic record and a REF that is not the genome's."""
    workdir = tmp_path_factory.mktemp("apply")
    shutil.copytree(ROOT / "resources/yeast", workdir / "resources/yeast")
    chrom = _chromosome("chrI")
    new = workdir / "new"
    new.mkdir()
    starts = [50_000, 60_000, 70_000]
    (new / "sequences.fa").write_text("".join(f">s{s}\n{chrom[s : s + LENGTH]}\n" for s in starts))
    (new / "scan.bed").write_text("chrI\t50000\t52000\n")
    (new / "sites.bed").write_text("chrI\t50400\t50700\n")  # the windows centred on 50400 to 50650
    (new / "regions.bed").write_text("".join(f"chrI\t{s}\t{s + 100}\tr{s}\t0\t+\n" for s in starts))
    records = [
        (80_000 + 100 * k, chrom[80_000 + 100 * k - 1], "ACGT".replace(chrom[80_000 + 100 * k - 1], "")[:1])
        for k in range(3)
    ]
    records.append((81_000, chrom[80_999], chrom[80_999] + "GG"))  # insertion
    records.append((82_000, chrom[81_999:82_002], chrom[81_999]))  # deletion of 2 bases
    other = "ACGT".replace(chrom[82_999], "")
    records.append((83_000, chrom[82_999], f"{other[0]},{other[1]}"))  # multi-allelic
    records.append((84_000, "ACGT".replace(chrom[83_999], "")[0], "A"))  # REF differs
    header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    body = "".join(f"chrI\t{pos}\tv{pos}\t{ref}\t{alt}\t.\t.\t.\n" for pos, ref, alt in records)
    (new / "variants.vcf").write_text(header + body)
    return workdir


def test_the_default_target_has_apply_outputs_only_when_configured(workdir: Path) -> None:
    with_apply = snakemake(workdir, CONFIG, "-n", "--quiet", "rules")
    assert with_apply.returncode == 0, with_apply.stderr[-3000:]
    counts = {
        line.split()[0]: line.split()[1] for line in with_apply.stdout.splitlines() if len(line.split()) == 2
    }
    assert counts["apply_sequences"] == "1"
    assert counts["apply_regions"] == "2"
    assert counts["apply_variants"] == "1"
    assert counts["apply_scan_part"] == "1"  # one chromosome: one part
    assert counts["apply_scan"] == "1"
    plain = snakemake(workdir, {k: v for k, v in CONFIG.items() if k != "apply"}, "-n", "--quiet", "rules")
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert "apply_" not in plain.stdout


def test_an_ensemble_target_reads_its_members_models(workdir: Path) -> None:
    run = snakemake(workdir, CONFIG, "-n", "--printshellcmds", "results/apply/pair_peaks/pair/scores.bed")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "results/models/yeast/pair.seed1/model.keras" in run.stdout
    assert "results/models/yeast/pair.seed2/model.keras" in run.stdout
    wrong = snakemake(workdir, CONFIG, "-n", "results/apply/pair_peaks/tiny/scores.bed")
    assert wrong.returncode != 0
    assert "holds the outputs of model pair" in wrong.stdout + wrong.stderr


def test_a_bad_target_is_refused_before_any_job(workdir: Path) -> None:
    config = copy.deepcopy(CONFIG)
    config["apply"]["seqs"]["genome"] = GENOME
    run = snakemake(workdir, config, "-n")
    assert run.returncode != 0
    assert "apply.seqs.genome: cannot apply to sequences" in run.stdout + run.stderr


@pytest.mark.workflow
def test_apply_rules_score_new_inputs(workdir: Path) -> None:
    run = snakemake(workdir, CONFIG, "--cores", "2", *OUTPUTS)
    assert run.returncode == 0, run.stderr[-3000:]
    sequences = pd.read_csv(workdir / OUTPUTS[0], sep="\t")
    regions = pd.read_csv(workdir / OUTPUTS[1], sep="\t")
    assert sequences["id"].tolist() == ["s50000", "s60000", "s70000"]
    assert sequences["promoter"].between(0, 1).all()
    # The region's window (centred, 300 bases) starts 100 bases before the sequences cut above.
    assert (regions["window_start"] == [49_900, 59_900, 69_900]).all()
    bed = pd.read_csv(workdir / OUTPUTS[2], sep="\t")
    assert bed.columns.tolist() == ["#chrom", "start", "end", "name", "score", "strand", "promoter"]
    assert (bed["score"] == (1000 * regions["promoter"]).round().astype(int)).all()
    effects = pd.read_csv(workdir / OUTPUTS[3], sep="\t")
    unscored = pd.read_csv(workdir / OUTPUTS[4], sep="\t")
    assert len(effects) == 7 and unscored["id"].tolist() == ["v84000"]
    assert effects["effect"].is_monotonic_decreasing
    diff = effects["promoter_alt"] - effects["promoter_ref"]
    assert effects["promoter_diff"].to_numpy() == pytest.approx(diff.to_numpy(), abs=1e-9)
    summary = pd.read_csv(workdir / OUTPUTS[5], sep="\t")
    assert summary["windows"].tolist() == [40]
    assert summary[["known_sites", "known_windows", "other_windows"]].values.tolist() == [[1, 6, 34]]
    assert 0 <= summary["auroc"].iat[0] <= 1
    tracks = pd.read_csv(workdir / "results/apply/chr1_scan/tiny/tracks/tracks.tsv", sep="\t")
    above = (workdir / "results/apply/chr1_scan/tiny/tracks/promoter.above.bed").read_text().splitlines()
    assert tracks["threshold"].tolist() == [0.3] and tracks["windows_above"].tolist() == [len(above)]
    assert '">v8' in (workdir / OUTPUTS[7]).read_text()  # the top variants' IDs
    assert not (workdir / "results/apply/chr1_scan/tiny/scan").exists() or not list(
        (workdir / "results/apply/chr1_scan/tiny/scan").iterdir()
    )  # the parts are temporary
    track = pyBigWig.open(str(workdir / "results/apply/chr1_scan/tiny/tracks/promoter.bw"))
    try:
        assert track.chroms() == {"chrI": len(_chromosome("chrI")), "chrII": len(_chromosome("chrII"))}
        values = np.array(track.values("chrI", 49_975, 51_975))
        assert np.isfinite(values).all()  # the 50-base bins around the 40 centres, 50000 to 51950
        centre = int(summary["max_centre"].iat[0])
        assert values.max() == pytest.approx(summary["max"].iat[0], rel=1e-5)
        assert track.values("chrI", centre, centre + 1)[0] == pytest.approx(summary["max"].iat[0], rel=1e-5)
    finally:
        track.close()
    log = (workdir / "logs/apply/snps/tiny.log").read_text()
    assert "1 variant(s) not scored: 1 REF differs from the genome" in log
