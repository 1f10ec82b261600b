"""biodl.config.datasets: typed dataset settings from the validated config (and build's None rule)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from biodl.config.checks import validate_config
from biodl.config.datasets import (
    DnaDataset,
    HoldoutSplit,
    ImageDataset,
    Negatives,
    RandomSplit,
    TableDataset,
    TileSettings,
    check_dataset,
    dataset_settings,
)
from biodl.config.settings import build
from biodl.core.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo() -> tuple[dict[str, Any], dict[str, Any]]:
    """The demo config as written, and as the workflow validates it (defaults filled)."""
    raw = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    return raw, validate_config(copy.deepcopy(raw), base_dir=ROOT)


def test_every_demo_dataset_types(demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    raw, validated = demo
    kinds = {"dna": DnaDataset, "image": ImageDataset, "table": TableDataset}
    assert set(validated["datasets"]) == {
        "ctcf",
        "yeast_promoters",
        "breast_cancer",
        "diabetes",
        "skin_epithelium",
        "brain_lobes",
    }
    for name, mapping in validated["datasets"].items():
        settings = dataset_settings(name, mapping)
        assert type(settings) is kinds[mapping["modality"]]
        assert settings.name == name and settings.key == f"datasets.{name}"
        assert settings.description == mapping["description"]
        # Outside the workflow, the raw entry validates and types to the same settings.
        assert check_dataset(name, raw["datasets"][name]) == settings


def test_demo_values_arrive_typed(demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    datasets = {name: dataset_settings(name, m) for name, m in demo[1]["datasets"].items()}
    yeast = datasets["yeast_promoters"]
    assert isinstance(yeast, DnaDataset)
    assert yeast.genome == "resources/yeast/sacCer_chrI_chrII.fa"
    assert yeast.regions == {"promoter": "resources/yeast/promoters.bed"} and yeast.length == 500
    assert yeast.negatives == Negatives("gc_matched", 1, "background", None, 20, None, 0.1)
    assert yeast.split == HoldoutSplit(("chrII:1-200000",), ("chrI",), 0.1, 0.1)
    skin, brain = datasets["skin_epithelium"], datasets["brain_lobes"]
    assert isinstance(skin, ImageDataset) and isinstance(brain, ImageDataset)
    assert skin.classes == {"stroma": 1, "epithelium": 2}
    assert skin.tile == TileSettings(size=64, stride=16, level=None, mpp=1.0, edge="drop")
    assert isinstance(brain.classes, dict) and brain.classes["occipital"] == tuple(range(43, 57))
    assert brain.nifti_axis == "sagittal" and brain.intensity_percentiles == (0.5, 99.5)
    cancer = datasets["breast_cancer"]
    assert isinstance(cancer, TableDataset)
    assert cancer.classes == ("benign", "malignant") and cancer.label_columns == ("diagnosis",)
    assert cancer.split == RandomSplit(0.15, 0.2) and cancer.shard_size == 8192


def test_optional_keys_without_default_are_none_when_absent(
    demo: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    datasets = {name: dataset_settings(name, m) for name, m in demo[1]["datasets"].items()}
    ctcf, diabetes = datasets["ctcf"], datasets["diabetes"]
    assert isinstance(ctcf, DnaDataset) and isinstance(diabetes, TableDataset)
    assert ctcf.genome is None and ctcf.regions is None and ctcf.table is None
    assert ctcf.sequences == {"CTCF": "resources/ctcf/Gm12878.CTCF.top500.w200.fa"}
    assert diabetes.classes is None and diabetes.feature_columns is None
    assert diabetes.categorical_columns is None and diabetes.group_column is None
    assert diabetes.id_column == "patient"


def test_a_missing_required_key_raises_key_error(demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    mapping = copy.deepcopy(demo[1]["datasets"]["ctcf"])
    del mapping["length"]  # required by the schema: its absence here is a bug, not a None
    with pytest.raises(KeyError, match="length"):
        dataset_settings("ctcf", mapping)
    mapping = copy.deepcopy(demo[1]["datasets"]["diabetes"])
    del mapping["split"]  # has a schema default, so the validated mapping always holds it
    with pytest.raises(KeyError, match="split"):
        dataset_settings("diabetes", mapping)


def test_build_fills_none_only_for_fields_that_admit_it() -> None:
    @dataclasses.dataclass(frozen=True)
    class Section:
        required: int
        optional: str | None

    assert build(Section, {"required": 3}) == Section(3, None)
    assert build(Section, {"required": 3, "optional": "x"}) == Section(3, "x")
    with pytest.raises(KeyError, match="required"):
        build(Section, {"optional": "x"})


def test_settings_are_frozen(demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    settings = dataset_settings("ctcf", demo[1]["datasets"]["ctcf"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.length = 100  # type: ignore[misc]


def test_check_dataset_fills_defaults_and_refuses_what_the_workflow_refuses() -> None:
    table = check_dataset(
        "t", {"modality": "table", "path": "t.csv", "label_columns": ["y"], "task": "binary"}
    )
    assert isinstance(table, TableDataset)
    assert table.missing == "impute" and table.split == RandomSplit(0.15, 0.2) and table.id_column is None
    with pytest.raises(InputError) as caught:
        check_dataset("d", {"modality": "dna", "sequences": {"a": "a.fa"}})
    assert caught.value.where == "datasets.d" and "'length' is required but missing" in caught.value.problem
    with pytest.raises(InputError, match="genome and regions go together"):
        check_dataset("d", {"modality": "dna", "genome": "g.fa", "length": 10})
    with pytest.raises(InputError, match="expected an integer, found 2.0"):
        check_dataset("d", {"modality": "dna", "sequences": {"a": "a.fa"}, "length": 2.0})
    with pytest.raises(InputError) as caught:
        check_dataset("a/b", {"modality": "dna", "sequences": {"a": "a.fa"}, "length": 10})
    assert caught.value.where == "datasets.a/b" and "is not allowed" in caught.value.problem
