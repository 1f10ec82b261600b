"""Per-epoch training checkpoints, so a killed training job resumes where it stopped.

Contract:
- A checkpoint folder (the workflow uses ``results/checkpoints/{dataset}/{model}/``, outside the
  rule's declared outputs, which Snakemake deletes before rerunning a failed job) holds one file,
  ``checkpoint.npz``, replaced atomically at the end of every epoch: the model's variables
  (weights, batch-norm statistics, random-generator states), the optimiser's variables (step
  count, moments), the early-stopping best weights and a JSON ``state`` (epochs done, history
  rows, early-stopping and schedule state, fingerprint). No pickles: it loads with
  ``allow_pickle=False``.
- ``fingerprint(*parts)`` is a SHA-256 of the JSON of what decides a training run (model
  settings, seed, dataset manifest, fold, start weights). ``Checkpoint.load(fingerprint)``
  returns ``None`` when there is no checkpoint, and also, after logging why and deleting it, when
  the stored fingerprint differs (a checkpoint of another configuration is never resumed) or the
  file cannot be read.
- ``Checkpoint.clear()`` deletes the run's folder (``biodl.core.files.RunFolder``: that folder only)
  once the run's outputs are written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biodl.core.files import RunFolder, atomic_path

logger = logging.getLogger(__name__)

FILE = "checkpoint.npz"
GROUPS = ("model", "optimizer", "best")


def fingerprint(*parts: Any) -> str:
    """SHA-256 of the parts' canonical JSON."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Saved:
    """What a checkpoint holds: JSON ``state`` and the arrays of each group (``GROUPS``)."""

    state: dict[str, Any]
    arrays: dict[str, list[np.ndarray]] = field(default_factory=dict)


class Checkpoint:
    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder
        self.path = folder.path / FILE

    def save(self, saved: Saved) -> None:
        arrays = {
            f"{group}/{i:05d}": np.asarray(a)
            for group in GROUPS
            for i, a in enumerate(saved.arrays.get(group) or [])
        }
        with atomic_path(self.path) as tmp:
            with open(tmp, "wb") as handle:
                # No object arrays, so the file loads with allow_pickle=False (see the contract).
                np.savez(handle, allow_pickle=False, state=np.array(json.dumps(saved.state)), **arrays)

    def load(self, expected_fingerprint: str) -> Saved | None:
        if not self.path.exists():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as data:
                state = json.loads(str(data["state"]))
                arrays = {
                    group: [data[k] for k in sorted(data.files) if k.startswith(f"{group}/")]
                    for group in GROUPS
                }
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            logger.warning(
                "ignoring unreadable checkpoint %s (%s); training from the start", self.path, error
            )
            self.clear()
            return None
        if state.get("fingerprint") != expected_fingerprint:
            logger.warning(
                "ignoring checkpoint %s: it was written for another configuration, seed or dataset; "
                "training from the start",
                self.path,
            )
            self.clear()
            return None
        return Saved(state, arrays)

    def load_state(self) -> dict[str, Any]:
        """The JSON state alone, unchecked ({} when there is none): for watching a run's progress."""
        try:
            with np.load(self.path, allow_pickle=False) as data:
                return json.loads(str(data["state"]))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return {}

    def clear(self) -> None:
        self.folder.remove()
