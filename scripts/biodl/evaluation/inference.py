"""Predicting with a trained network: the validation and test splits → ``predictions.tsv``.

Contract:
- ``load_model(path, dataset)`` loads a saved Keras model with ``safe_mode=True`` (no arbitrary
  code) and checks that its input shape, output width and output activation fit the dataset.
- ``predict_model(dataset_dir, model_path, predictions_path)`` predicts every example of the
  ``validation`` and ``test`` splits in stored order (validation first: thresholds are chosen
  on it, metrics reported on test) and writes them atomically in the predictions format of
  ``biodl.evaluation.predictions``. The saved model gives regression outputs in the target's units
  (``biodl.models.export``). With
  ``average_strands`` (DNA), each score is the mean of the predictions for the sequence and
  for its reverse complement.
"""

from __future__ import annotations

import logging
import zipfile
from os import PathLike

import keras
import numpy as np
import pandas as pd

from biodl.core.errors import InputError, require, require_file
from biodl.core.files import write_tsv
from biodl.data.dataset import PreparedDataset, load_labels, load_metadata, open_dataset
from biodl.evaluation.predictions import PREDICTED_SPLITS, Scores, predictions_frame
from biodl.models.networks import output_activation
from biodl.training.batches import ShardBatches

logger = logging.getLogger(__name__)

PREDICT_BATCH_SIZE = 256


def load_model(path: str | PathLike[str], dataset: PreparedDataset) -> keras.Model:
    """Load a saved model (no arbitrary code) and check it matches the dataset's inputs and task."""
    path = require_file(path, "model file")
    try:
        # Not compiled: predicting needs no loss, and custom losses stay out of the trust boundary.
        model = keras.models.load_model(path, safe_mode=True, compile=False)
    except (ValueError, TypeError, OSError, zipfile.BadZipFile) as error:
        raise InputError(path, None, f"not a loadable Keras model ({error})") from error
    expected_in, found_in = (None, *dataset.input_shape), tuple(model.input_shape)
    require(
        found_in == expected_in,
        path,
        "input",
        f"model takes inputs of shape {found_in}, the dataset {dataset.name} has {expected_in}",
    )
    expected_out, found_out = (None, len(dataset.targets)), tuple(model.output_shape)
    require(
        found_out == expected_out,
        path,
        "output",
        f"model gives outputs of shape {found_out}, the dataset {dataset.name} has {expected_out} "
        f"({', '.join(dataset.targets)})",
    )
    activation = getattr(model.layers[-1], "activation", None)
    expected_activation = output_activation(dataset.task)
    require(
        getattr(activation, "__name__", None) == expected_activation,
        path,
        "output",
        f"a {dataset.task} task needs a {expected_activation} output layer",
    )
    return model


def predict_model(
    dataset_dir: str | PathLike[str],
    model_path: str | PathLike[str],
    predictions_path: str | PathLike[str],
    average_strands: bool = False,
) -> pd.DataFrame:
    """Predict the validation and test splits and write ``predictions_path``."""
    dataset = open_dataset(dataset_dir)
    model = load_model(model_path, dataset)
    require(
        not average_strands or dataset.modality == "dna",
        dataset.manifest,
        "modality",
        f"averaging over both strands needs DNA sequences, {dataset.name} is a {dataset.modality} dataset",
    )
    frames = []
    for split in PREDICTED_SPLITS:
        require(
            dataset.n(split) > 0, dataset.manifest, f"splits.{split}", "evaluation needs at least one example"
        )
        batches = ShardBatches(dataset, split, PREDICT_BATCH_SIZE, labels=False)
        y_score = np.asarray(model.predict(batches, verbose=0), dtype=np.float64)
        if average_strands:
            y_score = (
                y_score + np.asarray(model.predict(ReverseComplements(batches), verbose=0), dtype=np.float64)
            ) / 2
        scores = Scores(dataset.task, dataset.targets, load_labels(dataset, split), y_score)
        frames.append(predictions_frame(load_metadata(dataset, split), scores))
        logger.info("predicted %d %s examples of %s with %s", len(y_score), split, dataset.name, model.name)
    predictions = pd.concat(frames, ignore_index=True)
    write_tsv(predictions, predictions_path)
    return predictions


class ReverseComplements(keras.utils.PyDataset):
    """The batches' sequences read from the other strand: positions and A, C, G, T channels reversed."""

    def __init__(self, batches: ShardBatches) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> tuple[np.ndarray]:
        return (np.ascontiguousarray(self.batches[index][0][:, ::-1, ::-1]),)
