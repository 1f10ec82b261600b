"""biodl.data.dna.overlap: multi-task labels by overlap against a brute-force reference."""

import numpy as np
import pandas as pd
import pytest

from biodl.core.errors import InputError
from biodl.data.dna import overlap
from biodl.data.dna.overlap import OverlapRule, TaskIntervals, label_windows, merge, read_tasks

SIZES = {"chrA": 5000, "chrB": 3000}


def brute_force(chrom, start, end, intervals: pd.DataFrame, rule: OverlapRule) -> float:
    """One window's label from a base-by-base mask and a loop over every interval."""
    on = intervals.loc[intervals["chrom"] == chrom]
    mask = np.zeros(end - start, bool)
    best = 0.0
    for s, e in on[["start", "end"]].itertuples(index=False):
        lo, hi = max(s, start), min(e, end)
        if lo < hi:
            mask[lo - start : hi - start] = True
            best = max(best, (hi - lo) / (e - s))
    covered = int(mask.sum())
    positive = (rule.measure in ("window", "either") and covered >= rule.min_fraction * (end - start)) or (
        rule.measure in ("peak", "either") and best >= rule.min_fraction
    )
    if positive and covered:
        return 1.0
    if covered and rule.ambiguous == "missing":
        return float("nan")
    return 0.0


def random_intervals(rng, n, longest):
    chroms = rng.choice(list(SIZES), n)
    starts = np.array([rng.integers(0, SIZES[c] - 1) for c in chroms])
    lengths = rng.integers(1, longest, n)
    ends = np.minimum(starts + lengths, [SIZES[c] for c in chroms])
    return pd.DataFrame({"chrom": chroms, "start": starts, "end": ends})


def random_windows(rng, n, length):
    chroms = rng.choice(list(SIZES), n)
    starts = np.array([rng.integers(0, SIZES[c] - length + 1) for c in chroms])
    # Windows at both ends of every chromosome too.
    chroms = np.concatenate([chroms, list(SIZES), list(SIZES)])
    starts = np.concatenate([starts, [0, 0], [SIZES[c] - length for c in SIZES]])
    return chroms.astype(object), starts, starts + length


@pytest.mark.parametrize("measure", ["window", "peak", "either"])
@pytest.mark.parametrize("ambiguous", ["missing", "negative"])
@pytest.mark.parametrize("min_fraction", [0.01, 0.3, 1.0])
def test_labels_match_brute_force_on_random_intervals(measure, ambiguous, min_fraction):
    rng = np.random.default_rng(hash((measure, ambiguous, min_fraction)) % 2**32)
    rule = OverlapRule(measure, min_fraction, ambiguous)
    # Tasks of short, long (nested, overlapping) and sparse intervals.
    frames = [random_intervals(rng, 60, 80), random_intervals(rng, 40, 900), random_intervals(rng, 3, 50)]
    tasks = [TaskIntervals.build(f"t{k}", frame) for k, frame in enumerate(frames)]
    # Windows of two lengths, as the peak measure is answered per window length.
    chroms, starts, ends = (
        np.concatenate(parts)
        for parts in zip(random_windows(rng, 200, 200), random_windows(rng, 100, 57), strict=True)
    )
    labels = label_windows(chroms, starts, ends, tasks, rule)
    expected = np.array(
        [
            [brute_force(c, s, e, frame, rule) for frame in frames]
            for c, s, e in zip(chroms, starts, ends, strict=True)
        ],
        np.float32,
    )
    np.testing.assert_array_equal(labels, expected)
    assert labels.shape == (len(chroms), 3)
    # The rule is exercised: positives, negatives and (when asked) missing labels all occur.
    assert (labels == 1).any() and (labels == 0).any()
    if ambiguous == "negative":
        assert not np.isnan(labels).any()
    elif min_fraction >= 0.3:
        assert np.isnan(labels).any()


def test_nested_peaks_count_each_base_once_for_the_window_fraction():
    frame = pd.DataFrame({"chrom": ["chrA"] * 3, "start": [100, 120, 150], "end": [200, 140, 160]})
    task = TaskIntervals.build("t", frame)
    labels = label_windows(
        np.array(["chrA"] * 2, object),
        np.array([100, 50]),
        np.array([200, 250]),
        [task],
        OverlapRule("window", 0.5, "missing"),
    )
    assert labels[:, 0].tolist() == [1.0, 1.0]  # 100 of 100 bases, then 100 of 200: not 130 of 200
    labels = label_windows(
        np.array(["chrA"]), np.array([50]), np.array([250]), [task], OverlapRule("window", 0.51, "missing")
    )
    assert np.isnan(labels[0, 0])


def test_peak_fraction_takes_the_best_single_peak():
    frame = pd.DataFrame({"chrom": ["chrA", "chrA"], "start": [0, 90], "end": [1000, 110]})
    task = TaskIntervals.build("t", frame)
    window = (np.array(["chrA"], object), np.array([95]), np.array([195]))
    assert label_windows(*window, [task], OverlapRule("peak", 0.75, "negative"))[0, 0] == 1.0  # 15/20
    assert label_windows(*window, [task], OverlapRule("peak", 0.8, "negative"))[0, 0] == 0.0


def test_windows_on_a_chromosome_a_task_lacks_are_negative():
    task = TaskIntervals.build("t", pd.DataFrame({"chrom": ["chrA"], "start": [10], "end": [20]}))
    labels = label_windows(
        np.array(["chrB"], object), [0], [100], [task], OverlapRule("either", 0.5, "missing")
    )
    assert labels.tolist() == [[0.0]]


def test_blocks_do_not_change_the_labels(monkeypatch):
    rng = np.random.default_rng(3)
    frame = random_intervals(rng, 200, 300)
    tasks = [TaskIntervals.build("t", frame)]
    windows = random_windows(rng, 500, 150)
    rule = OverlapRule("either", 0.4, "missing")
    whole = label_windows(*windows, tasks, rule)
    monkeypatch.setattr(overlap, "BLOCK", 7)
    np.testing.assert_array_equal(label_windows(*windows, tasks, rule), whole)


def test_merge_joins_overlapping_and_close_intervals():
    starts, ends = np.array([0, 5, 30, 42, 100]), np.array([10, 8, 40, 50, 101])
    assert [a.tolist() for a in merge(starts, ends)] == [[0, 30, 42, 100], [10, 40, 50, 101]]
    assert [a.tolist() for a in merge(starts, ends, distance=2)] == [[0, 30, 100], [10, 50, 101]]


def test_rule_refuses_a_fraction_outside_0_1():
    with pytest.raises(ValueError, match="min_fraction"):
        OverlapRule("window", 0.0, "missing")


def test_read_tasks_indexes_every_file(tmp_path):
    (tmp_path / "a.bed").write_text("chrA\t10\t20\nchrB\t0\t5\n")
    (tmp_path / "b.bed").write_text("chrA\t100\t120\n")
    tasks = read_tasks([("a", tmp_path / "a.bed"), ("b", tmp_path / "b.bed")], SIZES, "g.fa")
    assert [t.name for t in tasks] == ["a", "b"]
    labels = label_windows(
        np.array(["chrA", "chrB"], object), [0, 0], [30, 30], tasks, OverlapRule("peak", 1, "negative")
    )
    assert labels.tolist() == [[1.0, 0.0], [1.0, 0.0]]


def test_duplicate_task_names_are_refused(tmp_path):
    (tmp_path / "a.bed").write_text("chrA\t10\t20\n")
    with pytest.raises(InputError, match="task 'a' is given twice"):
        read_tasks([("a", tmp_path / "a.bed"), ("a", tmp_path / "a.bed")], SIZES, "g.fa")


def test_chromosome_missing_from_the_genome_names_file_line_and_prefix(tmp_path):
    path = tmp_path / "a.bed"
    path.write_text("chrA\t10\t20\nB\t0\t5\nC\t0\t5\n")
    with pytest.raises(InputError) as error:
        read_tasks([("a", path)], SIZES, "g.fa")
    message = str(error.value)
    assert str(path) in message and "line 2" in message and "'B' is not in the genome g.fa" in message
    assert "calls it 'chrB'" in message and "'chr' prefix" in message


def test_interval_past_the_chromosome_end_suggests_another_assembly(tmp_path):
    path = tmp_path / "a.bed"
    path.write_text("chrA\t10\t20\nchrB\t2990\t3010\n")
    with pytest.raises(InputError, match=r"line 2: end 3010 is past the end of chrB .*another assembly"):
        read_tasks([("a", path)], SIZES, "g.fa")


def test_intervals_too_long_for_the_window_never_make_it_a_positive_by_the_peak_measure():
    task = TaskIntervals.build("t", pd.DataFrame({"chrom": ["chrA"], "start": [0], "end": [1000]}))
    labels = label_windows(
        np.array(["chrA"], object), [100], [300], [task], OverlapRule("peak", 0.5, "negative")
    )
    assert labels.tolist() == [[0.0]]  # 200 of 1000 bases inside: 0.2
