"""The documentation keeps up with the code: every configuration key is in config/README.md, and
the README's configuration examples pass the schema."""

import re
from pathlib import Path

import pytest
import yaml

from biodl.config.schema import SCHEMA, apply_schema

ROOT = Path(__file__).resolve().parents[1]


def property_names(node):
    """Every key the schema lets a configuration use, at any depth (``properties`` of any object)."""
    if isinstance(node, dict):
        yield from node.get("properties", {})
        children = node.values()
    else:
        children = node if isinstance(node, list) else []
    for child in children:
        yield from property_names(child)


def test_every_configuration_key_is_documented():
    schema = yaml.safe_load((ROOT / "scripts/biodl/config/config.schema.yaml").read_text())
    docs = (ROOT / "config/README.md").read_text()
    documented = {
        word
        for code in re.findall(r"`([^`]+)`", docs)
        for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code)
    }
    missing = sorted(set(property_names(schema)) - documented)
    assert not missing, f"keys of the schema missing from config/README.md: {missing}"


README_CONFIGS = [
    block
    for block in re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    if "datasets:" in block
]


@pytest.mark.parametrize("block", README_CONFIGS, ids=lambda block: block.split("datasets:")[1].split()[0])
def test_configuration_examples_in_the_readme_are_valid(block):
    """A reader copies these: each must pass the schema (a placeholder model completes partial ones)."""
    config = yaml.safe_load(block)
    config.setdefault("models", {"placeholder": {"kind": "baseline", "estimator": "linear"}})
    apply_schema(config, yaml.safe_load(SCHEMA.read_text()))
