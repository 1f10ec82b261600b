"""Bags of tiles for multiple-instance learning (``kind: attention_mil``, ``biodl.training.mil``).

Contract:
- A bag is every tile of one ``group`` of a prepared image dataset (the sample sheet's ``group``
  column; by default each image is its own group, so a bag is a slide's tissue tiles). Groups are
  what the preparation's splits keep whole, so a bag's tiles are never in two splits;
  ``split_bags`` checks it again (``InputError`` naming ``metadata.tsv`` and the group).
- The bag's label is its tiles' label, which must be the same for all of them (a label sheet: a
  label per image; a mask sheet gives tiles of one image different labels and is refused, naming
  the group and the labels found).
- ``split_bags(dataset, max_tiles, seed)`` returns ``{split: [Bag, ...]}`` for the dataset's
  splits, bags in order of their first tile; ``bags_of(metadata, labels, max_tiles, seed, source)``
  does it for one split's rows. A bag of more than ``max_tiles`` tiles keeps a random sample of
  ``max_tiles`` of them drawn from ``seed`` and the group's name (so the same bag gets the same
  sample whatever the other bags), in stored order.
- ``BagBatches(dataset, split, bags, batch_size, max_tiles)`` is a ``keras.utils.PyDataset`` of
  ``({"tiles": (b, max_tiles, *tile), "mask": (b, max_tiles)}, labels (b, T))``: tiles as float32
  in 0-255 units (the model normalises them). A bag with fewer tiles is padded with copies of its
  own tiles (cyclically, so batch normalisation sees only real tissue) whose mask is 0: the
  model gives them no attention. ``shuffle=True`` reorders the bags every epoch from
  ``seed`` and the epoch number; otherwise bags keep their order (predictions line up with them).
  ``tf_dataset(threads)`` streams the same batches through ``tf.data`` (what training reads:
  Keras feeds a ``PyDataset`` through a Python generator, slower on CPU; see
  ``benchmarks/mil_slides.py``).
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Any

import keras
import numpy as np
import pandas as pd

from biodl.core.errors import InputError
from biodl.core.vocabulary import SPLITS
from biodl.data.dataset import (
    PreparedDataset,
    ShardRows,
    load_labels,
    load_metadata,
    open_inputs,
    open_labels,
)

BAG_COLUMN = "group"
ONE_SPLIT = "a bag's tiles must stay in one split"


@dataclasses.dataclass(frozen=True)
class Bag:
    """One bag: its group's name, split, label row and the rows of its tiles in the split."""

    name: str
    split: str
    label: np.ndarray  # (T,) float32
    rows: np.ndarray  # row indices into the split, in stored order
    tiles: int  # tiles of the group before sampling


def split_bags(dataset: PreparedDataset, max_tiles: int, seed: int) -> dict[str, list[Bag]]:
    """The bags of every split of ``dataset`` (see the module contract)."""
    source = dataset.root / "metadata.tsv"
    bags: dict[str, list[Bag]] = {}
    seen: dict[str, str] = {}
    for split in SPLITS:
        if dataset.n(split) == 0:
            bags[split] = []
            continue
        bags[split] = bags_of(
            load_metadata(dataset, split), load_labels(dataset, split), max_tiles, seed, source
        )
        for bag in bags[split]:
            if bag.name in seen:
                raise InputError(
                    source,
                    f"group {bag.name}",
                    f"has tiles in the {seen[bag.name]} and {split} splits; {ONE_SPLIT}",
                )
            seen[bag.name] = split
    return bags


def bags_of(metadata: pd.DataFrame, labels: np.ndarray, max_tiles: int, seed: int, source: Any) -> list[Bag]:
    """One split's bags from its metadata rows and labels (see the module contract)."""
    groups = metadata[BAG_COLUMN].astype(str).to_numpy()
    splits = metadata["split"].astype(str).to_numpy()
    names = list(dict.fromkeys(groups))
    bags = []
    for name in names:
        rows = np.flatnonzero(groups == name)
        if len(set(splits[rows])) > 1:
            raise InputError(
                source,
                f"group {name}",
                f"has tiles in the {' and '.join(sorted(set(splits[rows])))} splits; {ONE_SPLIT}",
            )
        tile_labels = metadata["label"].iloc[rows].astype(str)
        if tile_labels.nunique() > 1 or not np.all(labels[rows] == labels[rows[0]]):
            raise InputError(
                source,
                f"group {name}",
                f"its tiles carry the labels {', '.join(sorted(set(tile_labels)))}; attention_mil needs "
                "one label per bag (a sample sheet with a label column, not masks)",
            )
        kept = rows
        if len(rows) > max_tiles:
            rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
            kept = np.sort(rng.choice(rows, size=max_tiles, replace=False))
        bags.append(Bag(name, str(splits[rows[0]]), labels[rows[0]].astype(np.float32), kept, len(rows)))
    return bags


class BagBatches(keras.utils.PyDataset):
    """Padded, masked batches of bags for Keras (see the module contract)."""

    def __init__(
        self,
        dataset: PreparedDataset,
        split: str,
        bags: list[Bag],
        batch_size: int,
        max_tiles: int,
        shuffle: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.rows = ShardRows(open_inputs(dataset, split, open_labels(dataset, split)))
        self.bags, self.batch_size, self.max_tiles = bags, batch_size, max_tiles
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0
        self.order = self.order_of(0)

    def __len__(self) -> int:
        return -(-len(self.bags) // self.batch_size)

    def __getitem__(self, index: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        return self.batch(self.epoch, index)

    def batch(self, epoch: int, index: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Batch ``index`` of epoch ``epoch``'s order."""
        order = self.order if epoch == self.epoch else self.order_of(epoch)
        chosen = [self.bags[i] for i in order[index * self.batch_size : (index + 1) * self.batch_size]]
        tiles = np.empty((len(chosen), self.max_tiles, *self.rows.row_shape), dtype=np.float32)
        mask = np.zeros((len(chosen), self.max_tiles), dtype=np.float32)
        for i, bag in enumerate(chosen):
            rows = bag.rows[: self.max_tiles]
            tiles[i] = self.rows.read(np.resize(rows, self.max_tiles))  # cyclic copies pad the bag
            mask[i, : len(rows)] = 1
        return {"tiles": tiles, "mask": mask}, np.stack([bag.label for bag in chosen])

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self.order_of(self.epoch)

    def order_of(self, epoch: int) -> np.ndarray:
        """The bags' order in ``epoch``: stored, or a permutation drawn from (seed, epoch)."""
        if not self.shuffle:
            return np.arange(len(self.bags))
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.bags))

    def tf_dataset(self, threads: int = 1) -> Any:
        """The same batches as a ``tf.data.Dataset`` for ``Model.fit``: batch ``i`` of the stream is
        batch ``i % len(self)`` of epoch ``i // len(self)`` (endless when shuffled, one pass
        otherwise), up to ``threads`` read at once and delivered in order."""
        import tensorflow as tf

        n, tile_shape, targets = len(self), self.rows.row_shape, len(self.bags[0].label)

        def read(index: np.int64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            inputs, labels = self.batch(*divmod(int(index), n))
            return inputs["tiles"], inputs["mask"], labels.astype(np.float32)

        def call(index: Any) -> tuple[dict[str, Any], Any]:
            tiles, mask, labels = tf.numpy_function(read, [index], [tf.float32] * 3, stateful=False)
            return {
                "tiles": tf.ensure_shape(tiles, (None, self.max_tiles, *tile_shape)),
                "mask": tf.ensure_shape(mask, (None, self.max_tiles)),
            }, tf.ensure_shape(labels, (None, targets))

        end = np.iinfo(np.int64).max if self.shuffle else n
        stream = tf.data.Dataset.range(end).map(call, num_parallel_calls=threads, deterministic=True)
        if not self.shuffle:
            stream = stream.apply(tf.data.experimental.assert_cardinality(n))
        return stream.prefetch(2)
