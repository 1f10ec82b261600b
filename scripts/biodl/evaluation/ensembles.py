"""An ensemble's predictions: the average of its members' (see biodl.workflow.variants for the members).

Contract: ``average_predictions(dataset_dir, member_paths)`` reads every member's
``predictions.tsv`` (``biodl.evaluation.predictions.read_predictions``) and returns the ensemble's in the
same format, validation rows then test rows, with the prepared dataset's metadata: per
example the mean over members of the outputs (probabilities for classification, so
multi-class rows still sum to one and ``y_pred`` is the argmax of the averaged
probabilities; values in the label's units for regression). Every member must predict the
same examples in the same order (its ``shard`` and ``offset`` columns match the dataset's)
with the same labels; otherwise ``InputError`` names the member's file.
``write_average(dataset_dir, member_paths, path)`` writes that frame atomically.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from os import PathLike

import numpy as np
import pandas as pd

from biodl.core.errors import InputError, require, require_file
from biodl.core.files import write_tsv
from biodl.data.dataset import load_metadata, open_dataset
from biodl.evaluation.predictions import PREDICTED_SPLITS, Scores, predictions_frame, read_predictions

logger = logging.getLogger(__name__)


def average_predictions(
    dataset_dir: str | PathLike[str], member_paths: Sequence[str | PathLike[str]]
) -> pd.DataFrame:
    """The members' mean predictions (see the module contract)."""
    require(
        len(member_paths) >= 1, "ensemble", "members", "an ensemble needs at least one member's predictions"
    )
    dataset = open_dataset(dataset_dir)
    metadata = {split: load_metadata(dataset, split) for split in PREDICTED_SPLITS}
    members = []
    for path in member_paths:
        _check_rows(path, metadata)
        members.append(read_predictions(path, dataset))
    frames = []
    for split in PREDICTED_SPLITS:
        first = members[0][split]
        for path, member in zip(member_paths[1:], members[1:], strict=True):
            same = np.array_equal(member[split].y_true, first.y_true, equal_nan=True)
            require(
                same,
                path,
                f"split {split}",
                f"labels differ from those of {member_paths[0]}: members must predict the same dataset",
            )
        mean = np.mean([member[split].y_score for member in members], axis=0)
        frames.append(
            predictions_frame(metadata[split], Scores(first.task, first.targets, first.y_true, mean))
        )
    logger.info("averaged the predictions of %d members on %s", len(members), dataset.name)
    return pd.concat(frames, ignore_index=True)


def _check_rows(path: str | PathLike[str], metadata: dict[str, pd.DataFrame]) -> None:
    """The member predicts the dataset's examples in stored order (shard and offset per row)."""
    path = require_file(path, "member predictions")
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in ("split", "shard", "offset") if c not in frame.columns]
    require(not missing, path, "header", f"missing column(s) {', '.join(missing)}")
    for split, rows in metadata.items():
        found = frame[frame["split"] == split]
        require(
            len(found) == len(rows),
            path,
            f"split {split}",
            f"expected {len(rows)} rows (the dataset's {split} examples), found {len(found)}",
        )
        expected = (rows["shard"].astype(str) + " offset " + rows["offset"].astype(str)).to_numpy()
        given = (found["shard"] + " offset " + found["offset"]).to_numpy()
        wrong = np.flatnonzero(given != expected)
        if len(wrong):
            i = wrong[0]
            raise InputError(
                path,
                f"line {found.index[i] + 2}",
                f"expected {split} example {expected[i]} (stored order), found {given[i]}",
            )


def write_average(
    dataset_dir: str | PathLike[str], member_paths: Sequence[str | PathLike[str]], path: str | PathLike[str]
) -> pd.DataFrame:
    """Average the members' predictions and write them to ``path`` (atomically)."""
    frame = average_predictions(dataset_dir, member_paths)
    write_tsv(frame, path)
    return frame
