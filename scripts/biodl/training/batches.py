"""Streaming a prepared dataset to Keras in batches (the only reader that needs TensorFlow).

Contract:
- ``ShardBatches(dataset, split, batch_size, shuffle=False, seed=0, labels=True)`` is a
  ``keras.utils.PyDataset`` streaming ``(x, y)`` batches (or ``(x,)``) of one split of a
  ``biodl.data.dataset.PreparedDataset`` (or of its cross-validation fold view) from the shards,
  read with ``biodl.data.dataset.ShardRows``: only the batches being read are in the process's
  memory (for ``tf_dataset``, a few reads of about ``READ_BYTES`` of inputs), plus the epoch's
  index permutation, whatever the size of the dataset. With
  ``shuffle=True`` the stream is endless and the example order of epoch ``e`` is a permutation
  of the whole split (across all shards) drawn from a numpy Generator seeded with
  ``(seed, e)``: every example appears exactly once per epoch, the order changes between
  epochs and is the same for the same seed. Without shuffling it is one pass in stored order.
- ``ShardBatches.tf_dataset(first_epoch, threads)`` is the same stream as a ``tf.data.Dataset`` for
  ``Model.fit``, from the first batch of ``first_epoch`` on: batch ``i`` holds the examples of
  ``stream[first_epoch * len(stream) + i]``. It reads several batches per Python call, with up
  to ``threads`` reads in flight, delivered in order whatever the timing, then cuts them into
  the stream's batches in TensorFlow. Training reads it rather than the ``PyDataset``: Keras
  feeds a ``PyDataset`` through ``tf.data.Dataset.from_generator``, and on CPU that ran at 0.5
  to 0.8 times the samples/s of ``fit`` on in-memory arrays (``benchmarks/train_pipeline.py``;
  this stream is at about 1.0).
- Inputs are float32 (``biodl.data.dataset.to_inputs``); regression labels are streamed
  standardised with the training split's statistics (``PreparedDataset.scale_targets``).
"""

from __future__ import annotations

import functools
import math

import keras
import numpy as np
import tensorflow as tf

from biodl.core.errors import require
from biodl.data.dataset import PreparedDataset, ShardRows, open_inputs, open_labels, to_inputs

READ_BYTES = 4 * 2**20  # network input read per call of a tf.data stream: few calls, little memory


class ShardBatches(keras.utils.PyDataset):
    """Batches of one split streamed from the shards (see the module contract).

    ``len(self)`` is the number of batches per epoch. Without shuffling the stream is those
    batches in stored order. With shuffling it is endless: batch ``i`` is batch
    ``i % len(self)`` of epoch ``i // len(self)``, so ``fit`` needs
    ``steps_per_epoch=len(stream)``. The order then follows from the batch index alone, not
    from when Keras calls its epoch hooks (it calls them before the first epoch too, and
    prefetches across epoch boundaries).
    """

    def __init__(
        self,
        dataset: PreparedDataset,
        split: str,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        labels: bool = True,
    ) -> None:
        # One worker, no multiprocessing: the batch sequence must not depend on thread timing.
        super().__init__(workers=1, use_multiprocessing=False)
        require(batch_size >= 1, dataset.manifest, None, f"batch size must be >= 1, found {batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.with_labels = labels
        stored, self._rows = dataset.stored(split)
        labels_mapped = open_labels(dataset, stored)
        self._inputs = ShardRows(open_inputs(dataset, stored, labels_mapped))
        self._labels = ShardRows(labels_mapped)
        self.n = dataset.n(split)
        # Reads of a tf.data stream may run in parallel: the cache is thread-safe.
        self._cached_order = functools.lru_cache(maxsize=2)(self.order)

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
        return self.examples(epoch, batch * self.batch_size, (batch + 1) * self.batch_size)

    def examples(self, epoch: int, start: int, stop: int) -> tuple[np.ndarray, ...]:
        """Inputs (and labels) of positions ``start:stop`` of ``epoch``'s order."""
        wanted = self._cached_order(epoch)[start:stop]
        if self._rows is not None:  # a fold view: positions in the view → stored rows
            wanted = self._rows[wanted]
        inputs = to_inputs(self._inputs.read(wanted), self.dataset.ambiguous)
        if not self.with_labels:
            return (inputs,)
        labels = self._labels.read(wanted).astype(np.float32)
        if self.dataset.task == "regression":
            labels = self.dataset.scale_targets(labels)
        return inputs, labels

    def tf_dataset(
        self, first_epoch: int = 0, threads: int = 1, batches_per_read: int | None = None
    ) -> tf.data.Dataset:
        """The stream from ``first_epoch`` on as a ``tf.data.Dataset`` (see the module contract);
        ``batches_per_read`` defaults to about ``READ_BYTES`` of inputs per read."""
        require(self.n > 0, self.dataset.manifest, None, "cannot stream a split without examples")
        require(
            first_epoch == 0 or self.shuffle,
            self.dataset.manifest,
            None,
            "a stream in stored order has one epoch",
        )
        per_read = batches_per_read or max(
            1, READ_BYTES // (4 * self.batch_size * math.prod(self.dataset.input_shape))
        )
        reads_per_epoch = math.ceil(len(self) / per_read)
        rows_per_read = per_read * self.batch_size

        def read(index: np.int64) -> tuple[np.ndarray, ...]:
            epoch, k = divmod(int(index), reads_per_epoch)
            return self.examples(epoch, k * rows_per_read, (k + 1) * rows_per_read)

        specs = [tf.TensorSpec((None, *self.dataset.input_shape), tf.float32)]
        if self.with_labels:
            specs.append(tf.TensorSpec((None, len(self.dataset.targets)), tf.float32))

        def call(index: tf.Tensor) -> tuple[tf.Tensor, ...]:
            parts = tf.numpy_function(read, [index], [spec.dtype for spec in specs], stateful=False)
            return tuple(tf.ensure_shape(part, spec.shape) for part, spec in zip(parts, specs, strict=True))

        first = first_epoch * reads_per_epoch
        indices = tf.data.Dataset.range(first, np.iinfo(np.int64).max if self.shuffle else reads_per_epoch)
        # An epoch's last batch may be short: the batch sizes cycle with the epochs.
        sizes = [self.batch_size] * (len(self) - 1) + [self.n - self.batch_size * (len(self) - 1)]
        stream = indices.map(call, num_parallel_calls=threads, deterministic=True).rebatch(sizes)
        if not self.shuffle:  # rebatching loses the length, which Keras needs to end a pass quietly
            stream = stream.apply(tf.data.experimental.assert_cardinality(len(self)))
        return stream.prefetch(2)
