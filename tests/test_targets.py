"""biodl.config.targets: the apply section, checked once, then typed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from biodl.apply.slide_sheet import read_slide_sheet
from biodl.config.checks import validate_config
from biodl.config.targets import ApplyTarget, targets_of
from biodl.core.errors import InputError
from biodl.data.image.sample_sheet import read_sample_sheet

ROOT = Path(__file__).resolve().parents[1]
DEMO = yaml.safe_load((ROOT / "config/config.yaml").read_text())
FASTA = "resources/ctcf/Gm12878.CTCF.top500.w200.fa"
GENOME = "resources/yeast/sacCer_chrI_chrII.fa"
BED = "resources/yeast/promoters.bed"


def check(apply: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(DEMO)
    config["apply"] = apply
    return validate_config(config, base_dir=ROOT)


def test_targets_of_each_kind_are_typed(tmp_path: Path) -> None:
    (tmp_path / "v.vcf").write_text("##fileformat=VCFv4.2\n")
    config = check(
        {
            "peaks": {"run": "ctcf/cnn_motif", "sequences": FASTA},
            "promoters": {"run": "yeast_promoters/cnn_deep", "regions": BED, "genome": GENOME},
            "snps": {"run": "yeast_promoters/cnn_motif", "vcf": str(tmp_path / "v.vcf"), "genome": GENOME},
            "tracks": {"run": "ctcf/cnn_motif", "scan": BED, "genome": GENOME, "stride": 50},
        }
    )
    assert targets_of(config, "sequences") == ["peaks"]
    assert targets_of(config, "vcf") == ["snps"]
    target = ApplyTarget.from_validated("promoters", config["apply"]["promoters"])
    assert target == ApplyTarget("promoters", "yeast_promoters", "cnn_deep", "regions", BED, GENOME)
    assert ApplyTarget.from_validated("peaks", config["apply"]["peaks"]).genome is None
    scan = ApplyTarget.from_validated("tracks", config["apply"]["tracks"])
    assert (scan.kind, scan.stride, targets_of(config, "scan")) == ("scan", 50, ["tracks"])
    assert scan.threshold == 0.5 and target.threshold is None  # the default, for scans only


def test_a_table_of_sequences_is_typed_with_its_columns(tmp_path: Path) -> None:
    (tmp_path / "s.tsv").write_text("id\tseq\na\tACGT\n")
    table = {"run": "ctcf/cnn_motif", "sequences": str(tmp_path / "s.tsv"), "sequence_column": "seq"}
    config = check({"t": {**table, "id_column": "id"}, "f": {"run": "ctcf/cnn_motif", "sequences": FASTA}})
    target = ApplyTarget.from_validated("t", config["apply"]["t"])
    assert (target.kind, target.sequence_column, target.id_column) == ("sequences", "seq", "id")
    fasta = ApplyTarget.from_validated("f", config["apply"]["f"])
    assert (fasta.sequence_column, fasta.id_column) == (None, None)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({}, r"apply\.t: a table of sequences .* needs sequence_column and id_column.*no columns"),
        ({"sequence_column": "seq"}, r"apply\.t: a table of sequences .*\['sequence_column'\]"),
        ({"fasta": True, "sequence_column": "seq", "id_column": "id"}, r"apply\.t: .*a FASTA neither"),
        ({"regions": True, "sequence_column": "seq"}, r"apply\.t\.sequence_column: cannot apply"),
    ],
)
def test_table_columns_go_with_a_table_of_sequences_only(
    tmp_path: Path, columns: dict[str, Any], message: str
) -> None:
    (tmp_path / "s.tsv").write_text("id\tseq\na\tACGT\n")
    target: dict[str, Any] = {"run": "ctcf/cnn_motif", "sequences": str(tmp_path / "s.tsv")}
    if columns.pop("fasta", False):
        target["sequences"] = FASTA
    if columns.pop("regions", False):
        target = {"run": "ctcf/cnn_motif", "regions": BED, "genome": GENOME}
    with pytest.raises(InputError, match=message):
        check({"t": {**target, **columns}})


def test_the_demo_applies_its_ctcf_model_to_real_chr20_variants() -> None:
    config = validate_config(copy.deepcopy(DEMO), base_dir=ROOT)
    target = ApplyTarget.from_validated("chr20_variants", config["apply"]["chr20_variants"])
    assert (target.kind, target.dataset, target.model) == ("vcf", "ctcf", "cnn_motif")
    scan = ApplyTarget.from_validated("chr20_scan", config["apply"]["chr20_scan"])
    assert (scan.kind, scan.stride, scan.threshold) == ("scan", 50, 0.5)
    assert scan.known_sites == "resources/chr20/ctcf_peaks.bed"
    assert (target.top_variants, scan.top_variants) == (5, None)


def test_the_demo_slide_metrics_use_labelled_squares_of_the_test_band_only() -> None:
    config = validate_config(copy.deepcopy(DEMO), base_dir=ROOT)
    target = ApplyTarget.from_validated("skin_regions", config["apply"]["skin_regions"])
    assert (target.kind, target.dataset, target.model) == ("slides", "skin_epithelium", "cnn_tiles")
    dataset = config["datasets"]["skin_epithelium"]
    sheet = read_slide_sheet(ROOT / config["apply"]["skin_regions"]["slides"], list(dataset["classes"]))
    bands = read_sample_sheet(ROOT / dataset["sample_sheet"])
    test = [row.region for row in bands.rows if row.split == "test"]
    seen = [row.region for row in bands.rows if row.split != "test"]
    for row in sheet.rows:
        r = row.region
        assert r is not None and not any(r.overlaps(band) for band in seen if band is not None)
        assert any(r.overlaps(band) for band in test if band is not None)
    labels = [row.label for row in sheet.rows]
    assert (labels.count("epithelium"), labels.count("stroma")) == (4, 8)


def test_no_apply_section_is_fine() -> None:
    config = validate_config({k: v for k, v in copy.deepcopy(DEMO).items() if k != "apply"}, base_dir=ROOT)
    assert targets_of(config, "regions") == [] and "apply" not in config


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"run": "ctcf/cnn_motif"}, r"apply\.t: give exactly one input.*found none"),
        (
            {"run": "ctcf/cnn_motif", "sequences": FASTA, "regions": BED, "genome": GENOME},
            r"apply\.t: give exactly one input.*\['sequences', 'regions'\]",
        ),
        (
            {"run": "ctcf/cnn_motif", "regions": BED},
            r"apply\.t: regions are positions on a genome: give genome",
        ),
        (
            {"run": "ctcf/cnn_motif", "sequences": FASTA, "genome": GENOME},
            r"apply\.t\.genome: cannot apply to sequences",
        ),
        (
            {"run": "ctcf/cnn_motif", "sequences": "missing.fa"},
            r"apply\.t\.sequences: file not found: missing\.fa",
        ),
        ({"run": "nope/cnn_motif", "sequences": FASTA}, r"apply\.t\.run: unknown dataset 'nope'"),
        ({"run": "ctcf/nope", "sequences": FASTA}, r"apply\.t\.run: unknown model 'nope'"),
        (
            {"run": "diabetes/mlp", "sequences": FASTA},
            r"apply\.t\.run: diabetes is a table dataset; apply scores DNA only",
        ),
        ({"run": "ctcf/linear", "sequences": FASTA}, r"apply\.t\.run: model 'linear' is a baseline"),
        ({"run": "yeast_promoters/linear", "sequences": FASTA}, r"model 'linear' is a baseline"),
        ({"run": "ctcf", "sequences": FASTA}, r"apply\.t\.run: 'ctcf' is not allowed"),
        ({"run": "ctcf/cnn_motif", "bed": BED}, r"apply\.t.*bed"),
        ({"run": "ctcf/cnn_motif", "scan": BED, "genome": GENOME}, r"apply\.t: a scan needs stride"),
        (
            {"run": "ctcf/cnn_motif", "regions": BED, "genome": GENOME, "stride": 10},
            r"apply\.t\.stride: cannot apply: only a scan steps windows",
        ),
        ({"run": "ctcf/cnn_motif", "scan": BED, "genome": GENOME, "stride": 0}, r"apply\.t\.stride"),
        (
            {"run": "ctcf/cnn_motif", "regions": BED, "genome": GENOME, "threshold": 0.9},
            r"apply\.t\.threshold: cannot apply: only a scan has it",
        ),
        (
            {"run": "ctcf/cnn_motif", "vcf": BED, "genome": GENOME, "known_sites": BED},
            r"apply\.t\.known_sites: cannot apply: only a scan has it",
        ),
        (
            {"run": "ctcf/cnn_motif", "scan": BED, "genome": GENOME, "stride": 5, "known_sites": "no.bed"},
            r"apply\.t\.known_sites: file not found: no\.bed",
        ),
        (
            {"run": "ctcf/cnn_motif", "scan": BED, "genome": GENOME, "stride": 5, "top_variants": 3},
            r"apply\.t\.top_variants: cannot apply: only variants \(vcf\) are ranked",
        ),
    ],
)
def test_bad_targets_name_their_key(target: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        check({"t": target})


def test_a_run_the_workflow_does_not_train_is_refused() -> None:
    config = copy.deepcopy(DEMO)
    config["runs"]["ctcf"] = ["cnn_deep"]
    config["apply"] = {"t": {"run": "ctcf/cnn_motif", "sequences": FASTA}}
    with pytest.raises(InputError, match=r"apply\.t\.run: the workflow does not train 'cnn_motif' on 'ctcf'"):
        validate_config(config, base_dir=ROOT)


def test_a_search_is_refused() -> None:
    config = copy.deepcopy(DEMO)
    config["models"]["cnn_motif"]["search"] = {
        "trials": 2,
        "space": {"training.learning_rate": {"choice": [0.01, 0.001]}},
    }
    config["apply"] = {"t": {"run": "ctcf/cnn_motif", "sequences": FASTA}}
    with pytest.raises(InputError, match=r"apply\.t\.run: model 'cnn_motif' is a search"):
        validate_config(config, base_dir=ROOT)


SLIDES = "resources/images/skin.tsv"  # any existing file: the sheet is read by the job


def test_a_slides_target_gets_the_aggregation_defaults() -> None:
    config = check({"skin": {"run": "skin_epithelium/cnn_tiles", "slides": SLIDES}})
    assert config["apply"]["skin"]["aggregate"] == {"method": "mean", "top_k": 10, "quantile": 0.9}
    target = ApplyTarget.from_validated("skin", config["apply"]["skin"])
    assert (target.kind, target.dataset, target.model, target.path) == (
        "slides",
        "skin_epithelium",
        "cnn_tiles",
        SLIDES,
    )
    chosen = check(
        {"skin": {"run": "skin_epithelium/cnn_tiles", "slides": SLIDES, "aggregate": {"top_k": 3}}}
    )
    assert chosen["apply"]["skin"]["aggregate"]["top_k"] == 3


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"run": "ctcf/cnn_motif", "slides": SLIDES},
            r"apply\.t\.run: ctcf is a dna dataset; this input is scored by image runs",
        ),
        (
            {"run": "skin_epithelium/cnn_tiles", "slides": SLIDES, "genome": GENOME},
            r"apply\.t\.genome: cannot apply: slides inputs are not positions on a genome",
        ),
        (
            {"run": "ctcf/cnn_motif", "sequences": FASTA, "aggregate": {"method": "mean"}},
            r"apply\.t\.aggregate: cannot apply: only slides aggregate",
        ),
        (
            {"run": "skin_epithelium/cnn_tiles", "slides": SLIDES, "aggregate": {"method": "median"}},
            r"apply\.t\.aggregate\.method",
        ),
        ({"run": "skin_epithelium/cnn_tiles", "slides": "missing.tsv"}, r"apply\.t\.slides: file not found"),
    ],
)
def test_bad_slides_targets_name_their_key(target: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        check({"t": target})


TABLE = "resources/tables/diabetes.csv"


def test_a_table_target_names_a_table_run() -> None:
    config = check({"new_patients": {"run": "diabetes/mlp", "table": TABLE}})
    target = ApplyTarget.from_validated("new_patients", config["apply"]["new_patients"])
    assert (target.kind, target.dataset, target.model, target.path) == ("table", "diabetes", "mlp", TABLE)
    assert "aggregate" not in config["apply"]["new_patients"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"run": "ctcf/cnn_motif", "table": TABLE},
            r"apply\.t\.run: ctcf is a dna dataset; this input is scored by table",
        ),
        (
            {"run": "diabetes/linear", "table": TABLE},
            r"apply\.t\.run: model 'linear' is a baseline; apply runs mlp",
        ),
        (
            {"run": "diabetes/mlp", "table": TABLE, "genome": GENOME},
            r"apply\.t\.genome: cannot apply: table inputs",
        ),
    ],
)
def test_bad_table_targets_name_their_key(target: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        check({"t": target})
