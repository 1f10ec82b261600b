import numpy as np
import pandas as pd
import pytest

from biodl.core.errors import InputError
from biodl.core.vocabulary import SPLITS
from biodl.data import splits

SIZES = {"chr1": 1000, "chr2": 1000, "chr3": 1000}


def test_whole_chromosomes_and_regions_are_held_out():
    holdouts = splits.parse_holdouts(["chr2"], ["chr3:101-200"], SIZES, "datasets.d.split")
    chroms = np.array(["chr1", "chr2", "chr3", "chr3", "chr3"], dtype=object)
    starts = np.array([0, 500, 190, 195, 300])
    ends = starts + 10
    result = splits.assign_by_location(chroms, starts, ends, holdouts)
    assert result.tolist() == [
        "train",
        "validation",
        "test",
        "",
        "train",
    ]  # chr3 195-205 straddles the region end


def test_overlapping_or_unknown_holdouts_are_config_errors():
    with pytest.raises(InputError, match="overlap"):
        splits.parse_holdouts(["chr1:1-500"], ["chr1:400-600"], SIZES, "k")
    with pytest.raises(InputError, match="'chrX' is not in the genome"):
        splits.parse_holdouts(["chrX"], ["chr1"], SIZES, "k")
    with pytest.raises(InputError, match="chrom:start-end"):
        splits.parse_region("chr1:5", "k")


def test_stratified_random_split_is_seeded_disjoint_and_stratified():
    labels = np.array(["a"] * 800 + ["b"] * 200, dtype=object)
    first = splits.stratified_random(labels, 0.1, 0.2, 3, "t")
    again = splits.stratified_random(labels, 0.1, 0.2, 3, "t")
    other = splits.stratified_random(labels, 0.1, 0.2, 4, "t")
    assert first.tolist() == again.tolist() and first.tolist() != other.tolist()
    counts = {s: (first == s).sum() for s in SPLITS}
    assert counts == {"train": 700, "validation": 100, "test": 200}
    assert ((first == "test") & (labels == "b")).sum() == 40


def test_too_few_examples_per_class_is_a_clear_error():
    with pytest.raises(InputError, match="cannot split 4 examples"):
        splits.stratified_random(np.array(["a", "a", "a", "b"], dtype=object), 0.1, 0.1, 0, "seqs.fa")


def test_grouped_random_keeps_groups_whole_stratified_and_seeded():
    groups = [f"patient{i // 3}" for i in range(60)]  # 20 patients with 3 images each
    labels = ["tumour" if (i // 3) % 2 else "normal" for i in range(60)]
    split = splits.grouped_random(groups, labels, 0.2, 0.2, seed=5, source="sheet.tsv")
    frame = pd.DataFrame({"group": groups, "label": labels, "split": split})
    assert (frame.groupby("group")["split"].nunique() == 1).all()
    per_split = frame.groupby(["split", "label"])["group"].nunique().unstack()
    assert per_split.loc["test"].tolist() == [2, 2] and per_split.loc["validation"].tolist() == [2, 2]
    assert list(splits.grouped_random(groups, labels, 0.2, 0.2, seed=5, source="s")) == list(split)
    assert list(splits.grouped_random(groups, labels, 0.2, 0.2, seed=6, source="s")) != list(split)


def test_grouped_random_needs_three_groups():
    with pytest.raises(InputError) as caught:
        splits.grouped_random(["a", "a", "b"], None, 0.2, 0.2, seed=1, source="sheet.tsv")
    assert (
        caught.value.source == "sheet.tsv" and "give more groups, or a split column" in caught.value.problem
    )
