"""A trained DNA run, loaded to score new sequences.

Contract: ``load_trained(dataset_dir, model_paths, average_strands)`` opens the run's prepared
dataset (``dataset.json``: input length, tasks, how ambiguous bases are encoded) and loads each
saved model with ``biodl.evaluation.inference.load_model`` (no arbitrary code; input and output
shapes checked against the dataset). Several paths are the members of an ensemble, whose scores
are averaged. Only DNA datasets apply (``InputError`` otherwise). The opening and loading is
``open_run(dataset_dir, model_paths, modality, use)``, which slide and table scoring share.

``TrainedModel.predict(codes)`` takes windows as base codes (``biodl.data.dna.encode``), an
``(n, length)`` ``uint8`` array of exactly the model's input length (readers check each input
first with ``require_length``, whose ``InputError`` names the record and both lengths; a wrong
shape here is a bug and raises ``ValueError``), one-hot encodes
them as preparation stored them and the readers hand them to the network
(``biodl.data.dataset.to_inputs``), and returns ``(n, tasks)`` float64 scores: probabilities for
classification, the target's units for regression. With ``average_strands`` each score is the
mean of the predictions for the window and for its reverse complement, as at evaluation. Windows
are predicted ``PREDICT_CHUNK`` at a time, so memory is bounded by the chunk, not the input.
``TrainedModel.predict_chunks(chunks)`` is the same over an iterable of such arrays (a scan's
windows, gathered lazily), yielding each chunk's scores in order. The next chunk is taken from the
iterable and encoded on a second thread while the networks score the current one (NumPy and
TensorFlow release the GIL), so gathering and encoding overlap prediction; at most two chunks'
inputs are in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import cast

import keras
import numpy as np

from biodl.core.errors import InputError, require
from biodl.data.dataset import PreparedDataset, open_dataset, to_inputs
from biodl.data.dna import encode
from biodl.evaluation.inference import PREDICT_BATCH_SIZE, load_model

logger = logging.getLogger(__name__)

PREDICT_CHUNK = 8192  # windows encoded and predicted at a time


@dataclass(frozen=True)
class TrainedModel:
    """A run's network(s) and the dataset they were trained on."""

    networks: tuple[keras.Model, ...]
    dataset: PreparedDataset
    average_strands: bool

    @property
    def length(self) -> int:
        return int(self.dataset.input_shape[0])

    @property
    def targets(self) -> tuple[str, ...]:
        return self.dataset.targets

    @property
    def probabilities(self) -> bool:
        """Whether the scores are probabilities (classification) rather than target values."""
        return self.dataset.task != "regression"

    def predict(self, codes: np.ndarray) -> np.ndarray:
        """Scores ``(n, tasks)`` of windows given as base codes ``(n, length)``."""
        codes = self._windows(codes)
        chunks = (codes[first : first + PREDICT_CHUNK] for first in range(0, len(codes), PREDICT_CHUNK))
        scores = list(self.predict_chunks(chunks))
        return np.concatenate(scores) if scores else np.empty((0, len(self.targets)), dtype=np.float64)

    def predict_chunks(self, chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Scores ``(n, tasks)`` of each chunk of windows (base codes), in order; see the contract."""
        pending_chunks = iter(chunks)

        def next_inputs() -> tuple[int, np.ndarray] | None:
            codes = next(pending_chunks, None)
            return None if codes is None else (len(codes), self._inputs(codes))

        with ThreadPoolExecutor(1) as encoder:
            pending = encoder.submit(next_inputs)
            while (ready := pending.result()) is not None:
                pending = encoder.submit(next_inputs)
                yield self._scores(*ready)

    def _windows(self, codes: np.ndarray) -> np.ndarray:
        """``codes`` as uint8, checked to be windows of the model's input length."""
        codes = np.asarray(codes, dtype=np.uint8)
        if codes.ndim != 2 or codes.shape[1] != self.length:
            raise ValueError(f"expected windows of shape (n, {self.length}), got {codes.shape}")
        return codes

    def _inputs(self, codes: np.ndarray) -> np.ndarray:
        """Network input of windows given as codes: both strands one after the other when averaged."""
        codes = self._windows(codes)
        ambiguous = self.dataset.ambiguous
        assert ambiguous in encode.AMBIGUOUS_MODES, "checked when dataset.json is read"
        x = to_inputs(encode.one_hot(codes, cast(encode.AmbiguousMode, ambiguous)), ambiguous)
        # Both strands in one call: Keras's per-call cost is paid once.
        return np.concatenate([x, encode.reverse_complement(x)]) if self.average_strands else x

    def _scores(self, windows: int, x: np.ndarray) -> np.ndarray:
        """Scores of ``windows`` windows from their network input (the members' mean)."""
        total = np.zeros((len(x), len(self.targets)), dtype=np.float64)
        if not windows:  # a chunk of N-only windows, all skipped: nothing to predict
            return total
        # One predict_on_batch per batch: Keras's predict builds an input pipeline on every call,
        # which cost small networks two to three times the network itself (benchmarks/genome_scan.py).
        for network in self.networks:
            for first in range(0, len(x), PREDICT_BATCH_SIZE):
                batch = slice(first, first + PREDICT_BATCH_SIZE)
                total[batch] += np.asarray(network.predict_on_batch(x[batch]), np.float64)
        total /= len(self.networks)
        return (total[:windows] + total[windows:]) / 2 if self.average_strands else total


# How a message names a dataset of each modality.
DATASET_OF = {"dna": "a DNA", "image": "an image", "table": "a table"}


def open_run(
    dataset_dir: str | PathLike[str], model_paths: Sequence[str | PathLike[str]], modality: str, use: str
) -> tuple[PreparedDataset, tuple[keras.Model, ...]]:
    """A run's prepared dataset, refused unless of ``modality`` (``use`` says what needs it in
    the message), and its network(s), one per model path (ensemble members)."""
    dataset = open_dataset(dataset_dir)
    require(
        dataset.modality == modality,
        dataset.manifest,
        "modality",
        f"{use} needs {DATASET_OF[modality]} dataset, {dataset.name} is a {dataset.modality} dataset",
    )
    if not model_paths:
        raise ValueError("open_run needs at least one model path")
    return dataset, tuple(load_model(Path(path), dataset) for path in model_paths)


def load_trained(
    dataset_dir: str | PathLike[str], model_paths: Sequence[str | PathLike[str]], average_strands: bool
) -> TrainedModel:
    """The run's model(s) on its dataset (see the module contract)."""
    dataset, networks = open_run(dataset_dir, model_paths, "dna", "applying a model to sequences")
    logger.info(
        "loaded %d network(s) of %s: input length %d, tasks %s%s",
        len(networks),
        dataset.name,
        dataset.input_shape[0],
        ", ".join(dataset.targets),
        ", both strands averaged" if average_strands else "",
    )
    return TrainedModel(networks, dataset, average_strands)


def require_length(codes: np.ndarray, model: TrainedModel, source: str | PathLike[str], where: str) -> None:
    """Refuse a sequence whose length is not the model's input length, saying both."""
    if len(codes) != model.length:
        raise InputError(
            source,
            where,
            f"sequence is {len(codes)} bases long, the model takes {model.length} "
            f"(the input length of dataset {model.dataset.name}); give sequences of {model.length} bases "
            "or regions over a genome (windows of that length centred on them)",
        )
