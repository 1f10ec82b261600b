"""biodl.config.config_file: a key written twice in a configuration file is an error naming both lines."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from biodl.config.config_file import check_config_files, check_unique_keys, load_config
from biodl.core.errors import InputError

CONFIG = """\
seed: 3
datasets:
  ctcf:
    modality: dna
    length: 100
  tumour:
    modality: table
models:
  small: {kind: mlp}
"""


def _file(tmp_path: Path, text: str | bytes, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_config_with_each_key_once_loads_as_yaml_does(tmp_path: Path) -> None:
    path = _file(tmp_path, CONFIG)
    check_unique_keys(path)
    assert load_config(path) == yaml.safe_load(CONFIG)


@pytest.mark.parametrize(
    ("text", "where", "fragments"),
    [
        (
            CONFIG.replace("models:", "  ctcf:\n    modality: image\nmodels:"),
            "line 8",
            ["'ctcf' under datasets", "first on line 3"],
        ),
        # The case that silently replaced a dataset: a second datasets: section.
        (
            CONFIG + "datasets:\n  other: {modality: dna}\n",
            "line 10",
            ["'datasets' at the top level", "line 2"],
        ),
        ("seed: 1\nseed: 2\n", "line 2", ["'seed' at the top level", "first on line 1"]),
        (
            "models:\n  m:\n    conv_layers:\n      - {filters: 4, filters: 8}\n",
            "line 4",
            ["'filters' under models.m.conv_layers[0]", "first on line 4"],
        ),
        ('{"seed": 1, "datasets": {}, "seed": 2}\n', "line 1", ["'seed' at the top level"]),  # JSON too
    ],
)
def test_a_key_written_twice_is_refused_naming_key_place_and_both_lines(
    tmp_path: Path, text: str, where: str, fragments: list[str]
) -> None:
    path = _file(tmp_path, text)
    for read in (check_unique_keys, load_config):
        with pytest.raises(InputError) as error:
            read(path)
        assert error.value.source == str(path) and error.value.where == where
        assert "duplicate key" in error.value.problem and "expected each key once" in error.value.problem
        for fragment in fragments:
            assert fragment in error.value.problem


def test_merge_keys_may_be_overridden_and_aliases_are_not_duplicates(tmp_path: Path) -> None:
    text = (
        "defaults: &base {length: 100, modality: dna}\n"
        "datasets:\n  a:\n    <<: *base\n    length: 200\n  b: *base\n"
    )
    path = _file(tmp_path, text)
    check_unique_keys(path)
    assert load_config(path)["datasets"]["a"]["length"] == 200


def test_the_same_text_under_different_types_is_two_keys(tmp_path: Path) -> None:
    check_unique_keys(_file(tmp_path, "classes:\n  1: [1]\n  '1': [2]\n"))


def test_broken_yaml_and_a_list_at_the_top_are_refused_with_their_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"config.yaml, line 4: not valid YAML.*flow sequence on line 3"):
        check_unique_keys(_file(tmp_path, "seed: 1\ndatasets:\n  a: [1, 2\n"))
    with pytest.raises(InputError, match="expected a mapping of settings"):
        load_config(_file(tmp_path, "- 1\n- 2\n"))


def test_the_file_is_read_like_every_other_text_file(tmp_path: Path) -> None:
    windows = _file(tmp_path, b"\xef\xbb\xbf" + CONFIG.replace("\n", "\r\n").encode())
    assert load_config(windows) == yaml.safe_load(CONFIG)
    with pytest.raises(InputError, match=r"line 2: binary data"):
        check_unique_keys(_file(tmp_path, b"seed: 1\ndata\x00sets: {}\n"))


def test_files_are_named_as_the_user_gave_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = _file(tmp_path, "seed: 1\nseed: 2\n", "mine.yaml")
    with pytest.raises(InputError) as error:
        check_config_files([str(path.resolve())])  # as Snakemake keeps it
    assert error.value.source == "mine.yaml"
    check_config_files([_file(tmp_path, CONFIG, "good.yaml")])
