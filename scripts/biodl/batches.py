"""Streaming a prepared dataset to Keras in batches (the only reader that needs TensorFlow).

Contract:
- ``ShardBatches(dataset, split, batch_size, shuffle=False, seed=0, labels=True)`` is a
  ``keras.utils.PyDataset`` streaming ``(x, y)`` batches (or ``(x,)``) of one split of a
  ``biodl.dataset.PreparedDataset`` (or of its cross-validation fold view) from the
  memory-mapped shards: one batch is read into RAM at a time (plus the OS page cache and the
  epoch's index permutation). With ``shuffle=True`` the stream is endless and the example order
  of epoch ``e`` is a permutation drawn from a numpy Generator seeded with ``(seed, e)``: every
  example appears exactly once per epoch, the order changes between epochs and is the same for
  the same seed. Without shuffling it is one pass in stored order.
- Inputs are float32 (``biodl.dataset.to_inputs``); regression labels are streamed
  standardised with the training split's statistics (``PreparedDataset.scale_targets``).
"""

from __future__ import annotations

import math

import keras
import numpy as np

from biodl.dataset import PreparedDataset, gather_rows, open_inputs, open_labels, to_inputs
from biodl.validate import require


class ShardBatches(keras.utils.PyDataset):
    """Batches of one split streamed from memory-mapped shards (see the module contract).

    ``len(self)`` is the number of batches per epoch. Without shuffling the stream is those
    batches in stored order. With shuffling it is endless: batch ``i`` is batch
    ``i % len(self)`` of epoch ``i // len(self)``, so ``fit`` needs
    ``steps_per_epoch=len(stream)``. The order then follows from the batch index alone, not
    from when Keras calls its epoch hooks (it calls them before the first epoch too, and
    prefetches across epoch boundaries).
    """

    def __init__(self, dataset: PreparedDataset, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0, labels: bool = True) -> None:
        # One worker, no multiprocessing: the batch sequence must not depend on thread timing.
        super().__init__(workers=1, use_multiprocessing=False)
        require(batch_size >= 1, dataset.manifest, None, f"batch size must be >= 1, found {batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.with_labels = labels
        stored, self._rows = dataset.stored(split)
        self._labels = open_labels(dataset, stored)
        self._inputs = open_inputs(dataset, stored, self._labels)
        self.n = dataset.n(split)
        self._epoch_order = (0, self.order(0))

    def order(self, epoch: int) -> np.ndarray:
        """Example indices (into the stored order) visited during ``epoch``."""
        if not self.shuffle:
            return np.arange(self.n)
        return np.random.default_rng([self.seed, epoch]).permutation(self.n)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    @property
    def num_batches(self) -> int | None:
        return None if self.shuffle else len(self)

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        epoch, batch = divmod(index, max(len(self), 1))
        if index < 0 or (epoch > 0 and not self.shuffle) or self.n == 0:
            raise IndexError(f"batch {index} out of range (0..{len(self) - 1})")
        if self._epoch_order[0] != epoch:
            self._epoch_order = (epoch, self.order(epoch))
        wanted = self._epoch_order[1][batch * self.batch_size : (batch + 1) * self.batch_size]
        if self._rows is not None:  # a fold view: positions in the view → stored rows
            wanted = self._rows[wanted]
        inputs = to_inputs(gather_rows(self._inputs, wanted), self.dataset.ambiguous)
        if not self.with_labels:
            return (inputs,)
        labels = gather_rows(self._labels, wanted).astype(np.float32)
        if self.dataset.task == "regression":
            labels = self.dataset.scale_targets(labels)
        return inputs, labels
