"""biodl.config.applicable: dataset keys that cannot apply to the dataset's input are refused."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_bad_inputs import base_config, write_inputs

from biodl.config.applicable import _NO_DEFAULT, RULES, _default
from biodl.config.checks import validate_config
from biodl.core.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_inputs(tmp_path)
    return tmp_path


def _validate(base: str, **dataset: Any) -> dict[str, Any]:
    config = base_config(base)
    config["datasets"]["d"].update(dataset)
    return validate_config(config, base_dir=".", workflow_dir=ROOT)


def test_every_rule_names_a_key_of_the_schema() -> None:
    for rule in RULES:
        assert _default(rule) is not _NO_DEFAULT, f"{rule.modality} dataset has no key {rule.key}"


# (base dataset, what is written, the refused key)
REFUSED = [
    (
        "sequences",
        {"split": {"validation": ["chr2"], "test": ["chr3"], "test_fraction": 0.2}},
        "split.test_fraction",
    ),
    ("sequence table", {"split": {"validation": ["chr1"]}}, "split.validation"),
    (
        "genome",
        {"split": {"validation": ["chr2"], "test": ["chr3"], "validation_fraction": 0.2}},
        "split.validation_fraction",
    ),
    ("sequences", {"anchor": "centre"}, "anchor"),
    ("sequences", {"negatives": {"method": "gc_matched"}}, "negatives.method"),
    ("sequences", {"negatives": {"method": "none", "ratio": 2}}, "negatives.ratio"),
    ("sequences", {"negatives": {"method": "none", "label": "shuffled"}}, "negatives.label"),
    ("genome", {"negatives": {"method": "shuffle", "gc_bins": 10}}, "negatives.gc_bins"),
    ("genome", {"negatives": {"method": "shuffle", "stride": 10}}, "negatives.stride"),
    ("genome", {"negatives": {"method": "shuffle", "max_ambiguous": 0.5}}, "negatives.max_ambiguous"),
    ("image", {"labels": {"mask_downsample": 2}}, "labels.mask_downsample"),
    ("image", {"split": {"test_fraction": 0.3}}, "split.test_fraction"),
    ("image", {"nifti_axis": "coronal"}, "nifti_axis"),
]


@pytest.mark.parametrize(
    ("base", "written", "key"), REFUSED, ids=[case[2] + "/" + case[0] for case in REFUSED]
)
def test_a_written_key_that_cannot_apply_is_refused_with_its_reason(
    folder: Path, base: str, written: dict[str, Any], key: str
) -> None:
    with pytest.raises(InputError) as error:
        _validate(base, **written)
    assert error.value.source == "config" and error.value.where == f"datasets.d.{key}"
    assert error.value.problem.startswith("does not apply to this dataset: ")
    assert error.value.problem.endswith("; remove the key")


@pytest.mark.parametrize(
    ("base", "written"),
    [
        ("genome", {"negatives": {"method": "gc_matched", "gc_bins": 10, "blacklist": "peaks.bed"}}),
        ("genome", {"anchor": "centre", "negatives": {"method": "shuffle", "ratio": 2, "label": "bg"}}),
        ("sequences", {"split": {"validation_fraction": 0.2, "test_fraction": 0.2}}),
        ("sequences", {"split": {"validation": ["chr2"], "test": ["chr3"]}}),
        ("masks", {"labels": {"min_coverage": 0.8}}),
        # Written with the default value: it changes nothing, so it is not refused.
        ("sequences", {"split": {"validation": [], "test": []}, "anchor": "auto"}),
        ("genome", {"split": {"validation": ["chr2"], "test": ["chr3"], "test_fraction": 0.1}}),
    ],
)
def test_keys_that_apply_or_keep_their_default_pass(folder: Path, base: str, written: dict[str, Any]) -> None:
    _validate(base, **written)


def test_validating_a_validated_configuration_again_passes(folder: Path) -> None:
    for base in ("genome", "sequences", "sequence table", "table", "image", "masks"):
        once = _validate(base)
        assert validate_config(copy.deepcopy(once), base_dir=".", workflow_dir=ROOT) == once


def test_validating_the_demo_configuration_again_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    demo = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    once = validate_config(demo, base_dir=ROOT, workflow_dir=ROOT)
    assert validate_config(copy.deepcopy(once), base_dir=ROOT, workflow_dir=ROOT) == once
