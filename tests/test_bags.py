import numpy as np
import pandas as pd
import pytest
from mil_fixtures import prepare_bags

from biodl.core.errors import InputError
from biodl.data.dataset import load_metadata, open_dataset
from biodl.data.image.bags import BagBatches, bags_of, split_bags


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare_bags(tmp_path_factory.mktemp("bags"))


def test_bags_keep_each_slide_within_one_split(prepared):
    dataset = open_dataset(prepared)
    bags = split_bags(dataset, max_tiles=100, seed=0)
    names = [bag.name for split in bags.values() for bag in split]
    assert len(names) == len(set(names)) == 16  # every image is one bag, in one split only
    for split, split_bags_ in bags.items():
        metadata = load_metadata(dataset, split)
        for bag in split_bags_:
            assert bag.split == split
            assert set(metadata["group"].iloc[bag.rows]) == {bag.name}
            # all of the group's tiles of this split, and none in any other split
            assert len(bag.rows) == bag.tiles == (metadata["group"] == bag.name).sum() == 9
            others = pd.concat([load_metadata(dataset, s) for s in bags if s != split])
            assert bag.name not in set(others["group"])


def test_large_bags_are_a_seeded_sample(prepared):
    dataset = open_dataset(prepared)
    first, again = split_bags(dataset, 4, seed=1), split_bags(dataset, 4, seed=1)
    other = split_bags(dataset, 4, seed=2)
    for split in first:
        for a, b in zip(first[split], again[split], strict=True):
            assert len(a.rows) == 4 and a.tiles == 9
            assert np.array_equal(a.rows, b.rows) and np.all(np.diff(a.rows) > 0)
    assert any(
        not np.array_equal(a.rows, c.rows)
        for split in first
        for a, c in zip(first[split], other[split], strict=True)
    )


def metadata(groups, splits, labels):
    return pd.DataFrame({"group": groups, "split": splits, "label": labels, "image": groups})


def test_a_group_in_two_splits_is_refused():
    frame = metadata(["a", "a", "b"], ["train", "test", "train"], ["x", "x", "y"])
    with pytest.raises(InputError, match="group a.*test and train splits"):
        bags_of(frame, np.array([[0.0], [0.0], [1.0]]), 10, 0, "metadata.tsv")


def test_tiles_of_one_bag_with_different_labels_are_refused():
    frame = metadata(["a", "a"], ["train", "train"], ["x", "y"])
    with pytest.raises(InputError, match="group a.*one label per bag"):
        bags_of(frame, np.array([[0.0], [1.0]]), 10, 0, "metadata.tsv")


def test_batches_pad_small_bags_with_masked_copies_of_their_own_tiles(prepared):
    dataset = open_dataset(prepared)
    bags = split_bags(dataset, max_tiles=100, seed=0)["validation"]
    small = [bags[0].__class__(b.name, b.split, b.label, b.rows[:3], b.tiles) for b in bags]
    batches = BagBatches(dataset, "validation", small, batch_size=3, max_tiles=5)
    assert len(batches) == 2
    inputs, labels = batches[0]
    assert inputs["tiles"].shape == (3, 5, 32, 32, 3) and inputs["tiles"].dtype == np.float32
    assert np.array_equal(inputs["mask"], np.tile([1, 1, 1, 0, 0], (3, 1)))
    assert np.array_equal(inputs["tiles"][:, 3:], inputs["tiles"][:, :2])  # cyclic copies
    assert np.array_equal(labels, np.stack([b.label for b in small[:3]]))


def test_shuffled_batches_change_order_per_epoch_from_the_seed(prepared):
    dataset = open_dataset(prepared)
    bags = split_bags(dataset, max_tiles=9, seed=0)["train"]
    one = BagBatches(dataset, "train", bags, 8, 9, shuffle=True, seed=5)
    two = BagBatches(dataset, "train", bags, 8, 9, shuffle=True, seed=5)
    first = one.order.copy()
    assert np.array_equal(first, two.order)
    one.on_epoch_end()
    assert not np.array_equal(first, one.order)
    assert sorted(one.order) == list(range(len(bags)))


def test_the_tf_stream_gives_the_same_batches_epoch_after_epoch(prepared):
    dataset = open_dataset(prepared)
    bags = split_bags(dataset, max_tiles=9, seed=0)["train"]
    batches = BagBatches(dataset, "train", bags, 3, 9, shuffle=True, seed=5)
    streamed = list(batches.tf_dataset(threads=2).take(2 * len(batches)))
    for i, (inputs, labels) in enumerate(streamed):
        expected_inputs, expected_labels = batches.batch(*divmod(i, len(batches)))
        np.testing.assert_array_equal(inputs["tiles"], expected_inputs["tiles"])
        np.testing.assert_array_equal(inputs["mask"], expected_inputs["mask"])
        np.testing.assert_array_equal(labels, expected_labels)
    first, second = (
        np.concatenate([s[1] for s in streamed[k : k + len(batches)]]) for k in (0, len(batches))
    )
    assert sorted(first[:, 0]) == sorted(second[:, 0])  # each epoch holds every bag once
