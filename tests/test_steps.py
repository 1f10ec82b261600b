"""biodl.apply.steps: each apply step writes its files from a job's run and the user's inputs."""

from __future__ import annotations

import logging
import runpy
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from apply_fixtures import centre_model, hand_score

from biodl.apply.sequences import SequenceColumns
from biodl.apply.steps import ApplyJob, apply_regions, apply_scan_part, apply_sequences, apply_variants

LENGTH = 40
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def job(make_dataset: Callable[..., Path], tmp_path: Path) -> ApplyJob:
    return ApplyJob(make_dataset(length=LENGTH), (centre_model(LENGTH, tmp_path / "m.keras"),), False, 1, 1)


@pytest.fixture
def chromosome(tmp_path: Path) -> str:
    sequence = "".join(np.random.default_rng(2).choice(list("ACGT"), 150))
    (tmp_path / "g.fa").write_text(f">chr1\n{sequence}\n")
    return sequence


def test_a_job_is_read_from_the_rules_snakemake_object() -> None:
    rule = SimpleNamespace(
        input=SimpleNamespace(dataset="d/dataset.json", models=["m1.keras", "m2.keras"]),
        params=SimpleNamespace(average_strands=True, seed=7),
        threads=3,
    )
    assert ApplyJob.of_rule(rule) == ApplyJob(
        Path("d/dataset.json"), (Path("m1.keras"), Path("m2.keras")), True, 7, 3
    )


def test_sequences_step_writes_scores(job: ApplyJob, tmp_path: Path, chromosome: str) -> None:
    (tmp_path / "s.fa").write_text(f">a\n{chromosome[:LENGTH]}\n>b\n{chromosome[50 : 50 + LENGTH]}\n")
    apply_sequences(job, tmp_path / "s.fa", {"scores": tmp_path / "out.tsv"})
    scores = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    assert scores["id"].tolist() == ["a", "b"]
    expected = [hand_score(chromosome[:LENGTH], False), hand_score(chromosome[50 : 50 + LENGTH], False)]
    np.testing.assert_allclose(scores["bound"], expected, rtol=1e-5)
    assert not list(tmp_path.glob("*.fai"))  # indexes go to a temporary folder


def test_sequences_step_scores_a_table_of_sequences(job: ApplyJob, tmp_path: Path, chromosome: str) -> None:
    windows = [chromosome[:LENGTH], chromosome[50 : 50 + LENGTH]]
    pd.DataFrame({"id": ["p1", "p2"], "sequence": windows}).to_csv(tmp_path / "s.tsv", sep="\t", index=False)
    apply_sequences(
        job, tmp_path / "s.tsv", {"scores": tmp_path / "out.tsv"}, SequenceColumns("id", "sequence")
    )
    scores = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    assert scores["id"].tolist() == ["p1", "p2"]
    np.testing.assert_allclose(scores["bound"], [hand_score(w, False) for w in windows], rtol=1e-5)


class Named(dict):
    """A Snakemake named list as the script reads it: items and attributes."""

    __getattr__ = dict.__getitem__


def test_the_rules_script_passes_a_tables_columns(job: ApplyJob, tmp_path: Path, chromosome: str) -> None:
    windows = [chromosome[:LENGTH], chromosome[60 : 60 + LENGTH]]
    pd.DataFrame({"name": ["q1", "q2"], "dna": windows}).to_csv(tmp_path / "s.csv", index=False)
    rule = SimpleNamespace(
        input=Named(
            dataset=str(job.dataset), models=[str(m) for m in job.models], sequences=str(tmp_path / "s.csv")
        ),
        output=Named(scores=str(tmp_path / "out.tsv")),
        params=SimpleNamespace(average_strands=False, seed=1, columns={"id": "name", "sequence": "dna"}),
        log=[str(tmp_path / "apply.log")],
        threads=1,
    )
    try:
        runpy.run_path(str(ROOT / "scripts/apply_sequences.py"), init_globals={"snakemake": rule})
    finally:
        for handler in logging.getLogger().handlers[:]:  # run_step's log file
            handler.close()
            logging.getLogger().removeHandler(handler)
    scores = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    assert scores["id"].tolist() == ["q1", "q2"]
    np.testing.assert_allclose(scores["bound"], [hand_score(w, False) for w in windows], rtol=1e-5)


def test_regions_step_writes_tsv_and_bed(job: ApplyJob, tmp_path: Path, chromosome: str) -> None:
    (tmp_path / "r.bed").write_text("chr1\t60\t80\tpeak\n")
    outputs = {"scores": tmp_path / "r.tsv", "bed": tmp_path / "r.bed.out"}
    apply_regions(job, tmp_path / "r.bed", tmp_path / "g.fa", outputs)
    score = hand_score(chromosome[50:90], False)
    assert pd.read_csv(outputs["scores"], sep="\t")["bound"].tolist() == pytest.approx([score], rel=1e-5)
    fields = outputs["bed"].read_text().splitlines()[1].split("\t")
    assert fields[:6] == ["chr1", "60", "80", "peak", str(round(1000 * score)), "."]


def test_variants_step_writes_effects_and_unscored(job: ApplyJob, tmp_path: Path, chromosome: str) -> None:
    ref, wrong = chromosome[69], "ACGT".replace(chromosome[99], "")[0]
    alts = "ACGT".replace(ref, "")
    (tmp_path / "v.vcf").write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t70\tok\t{ref}\t{alts[0]},{alts[1]}\t.\t.\t.\n"
        f"chr1\t100\tbad\t{wrong}\tT\t.\t.\t.\n"
    )
    outputs = {
        "effects": tmp_path / "e.tsv",
        "unscored": tmp_path / "u.tsv",
        "top_variants": tmp_path / "top.html",
        "top_variant_logos": tmp_path / "top.png",
    }
    apply_variants(job, tmp_path / "v.vcf", tmp_path / "g.fa", outputs, top=1)
    effects = pd.read_csv(outputs["effects"], sep="\t")
    assert effects["id"].tolist() == ["ok", "ok"] and sorted(effects["alt"]) == [alts[0], alts[1]]
    unscored = pd.read_csv(outputs["unscored"], sep="\t")
    assert unscored[["id", "ref", "genome_ref"]].values.tolist() == [["bad", wrong, chromosome[99]]]
    page = outputs["top_variants"].read_text()
    assert page.count("<tr>") == 2 and ">ok<" in page  # the heading and the one top variant
    assert outputs["top_variant_logos"].stat().st_size > 0


def test_scan_part_step_scans_its_chromosomes(job: ApplyJob, tmp_path: Path, chromosome: str) -> None:
    (tmp_path / "g.fa").write_text(f">chr1\n{chromosome}\n>chr2\n{chromosome[::-1]}\n")
    (tmp_path / "s.bed").write_text("chr1\t0\t150\nchr2\t40\t100\n")
    apply_scan_part(job, tmp_path / "s.bed", tmp_path / "g.fa", 10, ["chr2"], {"part": tmp_path / "p.tsv"})
    part = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    assert part["centre"].tolist() == list(range(40, 100, 10)) and set(part["chrom"]) == {"chr2"}
    expected = [hand_score(chromosome[::-1][c - 20 : c + 20], False) for c in range(40, 100, 10)]
    np.testing.assert_allclose(part["bound"], expected, rtol=1e-5)
