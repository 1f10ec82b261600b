"""The prepared-dataset format shared by the step that writes it (``biodl.data.shards``) and
those that read it (``biodl.data.dataset``).

Contract: ``METADATA_COLUMNS`` / ``INTEGER_COLUMNS`` name the columns of ``metadata.tsv`` per
modality; ``read_manifest(path)`` reads a ``dataset.json`` (the file or its folder), checks that it
is a JSON object with a known task and returns its path and content.
"""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path
from typing import Any

from biodl.core.errors import InputError, require_file
from biodl.core.vocabulary import TASKS

# Every example's provenance, per modality: where it sits in the shards (split, shard, offset),
# where it came from, and its label. ``group`` is what splits must keep together (patient, slide).
METADATA_COLUMNS = {
    "dna": ("split", "shard", "offset", "source", "name", "chrom", "start", "end", "strand", "label"),
    "image": ("split", "shard", "offset", "image", "group", "level", "x", "y", "tissue_fraction", "label"),
    "table": ("split", "shard", "offset", "source", "row", "id", "group", "label"),
}


INTEGER_COLUMNS = {
    "dna": ("offset", "start", "end"),
    "image": ("offset", "level", "x", "y"),
    "table": ("offset", "row"),
}


def read_manifest(path: str | PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """Read a prepared dataset's ``dataset.json`` (the file or its folder); check its task.

    Returns the manifest's path and its content.
    """
    path = Path(path)
    manifest = require_file(
        path / "dataset.json" if path.is_dir() else path, "dataset manifest (dataset.json)"
    )
    try:
        raw = json.loads(manifest.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(manifest, None, f"not valid JSON ({error})") from error
    if not isinstance(raw, dict):
        raise InputError(manifest, None, "expected a JSON object")
    if raw.get("task") not in TASKS:
        raise InputError(manifest, "task", f"expected one of {', '.join(TASKS)}, found {raw.get('task')!r}")
    return manifest, raw
