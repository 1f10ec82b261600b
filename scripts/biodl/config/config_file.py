"""Reading a configuration file strictly: a key written twice is an error, not a silent override.

Contract:
- ``check_unique_keys(path)`` reads a YAML (or JSON) configuration file through
  ``biodl.core.text_input`` and raises ``InputError(path, "line N", ...)`` at the first mapping
  that has a key twice, naming the key, where it sits (``datasets.ctcf``) and both lines. YAML
  loaders, PyYAML's included (and so Snakemake's ``configfile``), keep the last value and drop
  the first without a word. Keys pulled in by a merge (``<<: *defaults``) may be overridden, as
  YAML means them to be. A file that is not YAML is refused with the line of the error.
- ``check_config_files(paths)`` checks each file, named relative to the working directory when
  inside it: the workflow calls it on ``workflow.configfiles`` before validating the config.
- ``load_config(path)``: the checked file as a mapping (for code outside the workflow).
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import Any

import yaml

from biodl.core.errors import InputError
from biodl.core.text_input import open_text

WHAT = "configuration file"
MERGE_TAG = "tag:yaml.org,2002:merge"


def check_config_files(paths: Iterable[str | PathLike[str]]) -> None:
    """``check_unique_keys`` for each file, named relative to the working directory when inside
    it (Snakemake keeps the absolute paths of the files it was given)."""
    for path in map(Path, paths):
        inside = path.is_absolute() and path.is_relative_to(Path.cwd())
        check_unique_keys(path.relative_to(Path.cwd()) if inside else path)


def check_unique_keys(path: str | PathLike[str]) -> None:
    """Raise InputError at the first key written twice in one mapping (see the contract)."""
    _compose(Path(path))


def load_config(path: str | PathLike[str]) -> dict[str, Any]:
    """The configuration in ``path``, every key checked to be written once."""
    path = Path(path)
    text = _text(path)
    _compose(path, text)
    config = yaml.safe_load(text)
    if not isinstance(config, dict):
        raise InputError(path, None, "expected a mapping of settings (key: value) at the top level")
    return config


def _text(path: Path) -> str:
    with open_text(path, WHAT) as text:
        return text.read()


def _compose(path: Path, text: str | None = None) -> None:
    try:
        node = yaml.compose(_text(path) if text is None else text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark, context = error.problem_mark, error.context_mark
        where = f"line {mark.line + 1}" if mark is not None else None
        started = f" ({error.context} on line {context.line + 1})" if error.context and context else ""
        raise InputError(
            path, where, f"not valid YAML: {error.problem}{started}; expected a YAML mapping of settings"
        ) from None
    _check(path, node)


def _check(
    path: Path, node: yaml.Node | None, keys: tuple[str, ...] = (), seen: set[int] | None = None
) -> None:
    """Walk the composed document; aliases are visited once (they may point back at a parent)."""
    seen = set() if seen is None else seen
    if node is None or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            line = key_node.start_mark.line + 1
            if (key_node.tag, key) in first:
                under = f" under {'.'.join(keys)}" if keys else " at the top level"
                raise InputError(
                    path,
                    f"line {line}",
                    f"duplicate key {key!r}{under} (first on line {first[(key_node.tag, key)]}); YAML keeps "
                    "only the last one and drops the first without a word: expected each key once "
                    "(rename one, or merge the two)",
                )
            first[(key_node.tag, key)] = line
            _check(path, value_node, (*keys, key), seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check(path, item, (*keys[:-1], f"{keys[-1]}[{index}]") if keys else (f"[{index}]",), seen)
