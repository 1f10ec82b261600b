"""The configuration's JSON schema (``config.schema.yaml`` beside this module): its defaults and
its messages.

Contract:
- ``apply_schema(instance, schema, prefix)`` validates ``instance`` in place against a JSON schema
  (YAML), filling in every default, and raises ``InputError`` with one message naming the
  offending key, e.g. ``config, datasets.ctcf.length: expected an integer, found 'long'``.
- ``validate_model(name, settings)`` does the same for one model's settings against the
  schema's model definition, so library code called outside the workflow (training, tests,
  notebooks) fills the same defaults and gives the same messages as the workflow.
- ``SCHEMA`` is the schema's path; defaults live there and nowhere else.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.protocols import Validator

from biodl.core.errors import InputError

# Shipped inside the package, so the workflow (any working directory) and an installed library find it.
SCHEMA = Path(__file__).with_name("config.schema.yaml")


JSON_TYPES = {
    "integer": "an integer",
    "number": "a (finite) number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def _with_defaults(validator_class: type[Validator]) -> type[Validator]:
    """A validator class that writes schema defaults into the instance while validating."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: dict, instance: Any, schema: dict) -> Iterator[Any]:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy_value(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    # JSON Schema counts 2.0 as an integer; Python code downstream would then get a float where it
    # counts, slices or sizes arrays. Integers must be written as integers.
    types = validator_class.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)
    ).redefine(
        # YAML's .nan passes every bound (no comparison with NaN is true) and .inf most: neither
        # is a setting.
        "number",
        lambda checker, value: (
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        ),
    )
    return jsonschema.validators.extend(validator_class, {"properties": set_defaults}, type_checker=types)


def copy_value(value: Any) -> Any:
    return yaml.safe_load(yaml.safe_dump(value))


def _key(path: Any) -> str:
    return (
        ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")
        or "(top level)"
    )


def _message(error: jsonschema.ValidationError, prefix: tuple[str, ...]) -> tuple[str, str]:
    """Turn a schema error into (key, what was expected)."""
    key = _key((*prefix, *error.absolute_path))
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hints = [
            f"{e!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(e, allowed, 1)) else repr(e)
            for e in extra
        ]
        return key, f"unknown key {', '.join(hints)}; allowed keys: {', '.join(allowed)}"
    if error.validator == "type":
        expected = (
            error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        )
        return key, f"expected {' or '.join(JSON_TYPES[t] for t in expected)}, found {error.instance!r}"
    if error.validator == "enum":
        return key, f"expected one of {', '.join(map(str, error.validator_value))}, found {error.instance!r}"
    if error.validator == "required":
        return key, error.message.replace("is a required property", "is required but missing")
    if error.validator == "pattern" and "description" in error.schema:
        return key, f"{error.instance!r} is not allowed: {' '.join(error.schema['description'].split())}"
    return key, f"{error.message}"


def apply_schema(instance: Any, schema: dict[str, Any], prefix: tuple[str, ...] = ()) -> None:
    """Validate ``instance`` in place (defaults filled); raise InputError naming the key."""
    validator = _with_defaults(jsonschema.validators.validator_for(schema))(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        key, problem = _message(error, prefix)
        raise InputError("config", key, problem)


def validate_model(model_name: str, model_config: dict[str, Any]) -> dict[str, Any]:
    """A checked copy of one model's settings, defaults filled, as under ``models.<name>``."""
    return validate_part("$defs/model", model_config, ("models", model_name))


def validate_part(pointer: str, raw: Any, prefix: tuple[str, ...]) -> Any:
    """A checked copy of ``raw``, defaults filled, against the schema part at ``pointer``
    (``$defs/model``, ``properties/evaluation``); messages name keys under ``prefix``."""
    root = load_schema()
    part = root
    for key in pointer.split("/"):
        part = part[key]
    resolved = copy_value(raw)
    apply_schema(resolved, {"$defs": root["$defs"], **part}, prefix)
    return resolved


@functools.cache
def load_schema() -> dict[str, Any]:
    """The schema, parsed once per process: a search checks every trial's settings."""
    return yaml.safe_load(SCHEMA.read_text())
