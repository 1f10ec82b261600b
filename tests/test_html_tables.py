"""biodl.report.html_tables: the leaderboard and per-run metrics pages of the report."""

import math
import re

import pandas as pd
import pytest

from biodl.evaluation.summary import SUMMARY_COLUMNS
from biodl.report.html_tables import (
    filters_html,
    format_number,
    leaderboard_html,
    metrics_html,
    tsv_table_html,
    write_html,
    write_run_tables,
)

NAN = math.nan


def summary_frame(rows):
    frame = pd.DataFrame(
        [
            dict(zip(("dataset", "model", "kind", "task", "n_test"), row[:5], strict=True)) | row[5]
            for row in rows
        ],
        columns=SUMMARY_COLUMNS,
    )
    return frame


def body_rows(page):
    """The rows of every table on the page, in order."""
    bodies = re.findall(r"<tbody>(.*?)</tbody>", page, re.S)
    return [row for body in bodies for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def cells(row):
    return re.findall(r"<td([^>]*)>(.*?)</td>", row, re.S)


SUMMARY = summary_frame(
    [
        (
            "ctcf",
            "cnn",
            "cnn1d",
            "binary",
            100,
            {
                "auroc": 0.976,
                "auroc_ci_low": 0.948,
                "auroc_ci_high": 0.994,
                "auprc": 0.97,
                "f1": 0.9,
                "accuracy": 0.9,
                "parameters": 3553,
            },
        ),
        (
            "ctcf",
            "linear",
            "baseline",
            "binary",
            100,
            {
                "auroc": 0.834,
                "auroc_ci_low": 0.75,
                "auroc_ci_high": 0.91,
                "auprc": 0.98,
                "f1": NAN,
                "accuracy": 0.8,
                "parameters": 1025,
            },
        ),
        (
            "diabetes",
            "mlp",
            "mlp",
            "regression",
            89,
            {
                "mse": 3230.46,
                "mae": 47.2,
                "pearson_r": 0.70,
                "r2": 0.464,
                "r2_ci_low": 0.32,
                "r2_ci_high": 0.567,
                "parameters": 881,
            },
        ),
        (
            "diabetes",
            "ridge",
            "baseline",
            "regression",
            89,
            {"mse": 2697.9, "mae": 41.9, "pearson_r": 0.74, "r2": 0.552},
        ),
    ]
)


def test_leaderboard_has_a_row_per_run_with_values_and_intervals():
    page = leaderboard_html(SUMMARY)
    rows = body_rows(page)
    assert len(rows) == 4
    first = cells(rows[0])
    assert [re.sub(r"<.*?>", "", text) for _, text in first[:5]] == ["ctcf", "cnn", "cnn1d", "100", "3,553"]
    assert "0.976" in first[5][1] and "0.948 – 0.994" in first[5][1]
    # One table per task, each with its own metrics.
    assert headings(page) == [
        ("Binary classification", RUN_COLUMNS + ["auROC", "auPRC", "F1", "accuracy"]),
        ("Regression", RUN_COLUMNS + ["MSE", "MAE", "Pearson r", "R²"]),
    ]


def headings(page):
    """(table title, column headings) of every table on the page."""
    tables = re.findall(r"<h2>(.*?)</h2><table.*?<thead>(.*?)</thead>", page, re.S)
    return [(title, re.findall(r"<th[^>]*>(.*?)</th>", head)) for title, head in tables]


RUN_COLUMNS = ["dataset", "model", "kind", "test examples", "parameters"]


def bold(row):
    """The indices of a row's bold cells."""
    return [i for i, (attributes, _) in enumerate(cells(row)) if 'class="best"' in attributes]


def test_leaderboard_marks_the_best_run_per_dataset_lowest_error_for_mse():
    rows = [cells(row) for row in body_rows(leaderboard_html(SUMMARY))]
    auroc, auprc, mse, r2 = 5, 6, 5, 8
    assert 'class="best"' in rows[0][auroc][0] and 'class="best"' not in rows[1][auroc][0]
    assert 'class="best"' in rows[1][auprc][0]  # the baseline wins this one
    assert 'class="best"' in rows[3][mse][0] and 'class="best"' not in rows[2][mse][0]
    assert 'class="best"' in rows[3][r2][0]


def test_leaderboard_shows_undefined_values_as_nan_and_tags_baselines():
    rows = [cells(row) for row in body_rows(leaderboard_html(SUMMARY))]
    f1, mse = 7, 5
    assert rows[1][f1][1].startswith("NaN") and 'data-sort=""' in rows[1][f1][0]
    assert rows[1][1][1] == 'linear <span class="tag">baseline</span>' and "tag" not in rows[0][1][1]
    # Sorting keys are the raw numbers, not the formatted text.
    assert 'data-sort="3230.46"' in rows[2][mse][0]


def test_parameter_counts_are_grouped_sortable_and_empty_where_not_counted():
    rows = [cells(row) for row in body_rows(leaderboard_html(SUMMARY))]
    parameters = 4
    assert rows[0][parameters] == (' data-sort="3553"', "3,553")
    assert rows[2][parameters] == (' data-sort="881"', "881")
    # The ridge row has no count (as gradient boosting): an empty cell, sorted last.
    assert rows[3][parameters] == (' data-sort=""', "")


def test_leaderboard_reads_back_from_summary_tsv(tmp_path):
    from biodl.evaluation.summary import write_summary

    write_summary(SUMMARY, tmp_path / "summary.tsv")
    again = pd.read_csv(tmp_path / "summary.tsv", sep="\t")
    assert leaderboard_html(again) == leaderboard_html(SUMMARY)


def test_metrics_page_lists_every_metric_with_its_interval(tmp_path):
    metrics = pd.DataFrame(
        {
            "metric": ["auroc", "brier", "n"],
            "target": ["CTCF", "CTCF", "all"],
            "value": [0.976, 0.0707, 100.0],
            "ci_low": [0.948, NAN, NAN],
            "ci_high": [0.994, NAN, NAN],
        }
    )
    page = metrics_html(metrics, "Metrics: cnn on ctcf (test set)")
    rows = [[re.sub(r"<.*?>", "", text) for _, text in cells(row)] for row in body_rows(page)]
    assert rows == [
        ["auROC", "CTCF", "0.976", "0.948 – 0.994"],
        ["Brier score", "CTCF", "0.071", ""],
        ["examples", "all", "100", ""],
    ]
    write_html(page, tmp_path / "metrics.html")
    assert (tmp_path / "metrics.html").read_text(encoding="utf-8") == page
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.html"]


@pytest.mark.parametrize(
    "value, text", [(0.97612, "0.976"), (3230.46, "3230.5"), (-0.25, "-0.250"), (NAN, "NaN")]
)
def test_numbers_are_formatted_for_reading(value, text):
    assert format_number(value) == text


def test_ensembles_their_members_and_searches_are_tagged():
    frame = summary_frame(
        [
            ("cancer", "mlp_folds", "mlp", "binary", 9, {"role": "ensemble", "auroc": 0.9}),
            (
                "cancer",
                "mlp_folds.fold1",
                "mlp",
                "binary",
                9,
                {"role": "member", "member_of": "mlp_folds", "auroc": 0.8},
            ),
            ("cancer", "mlp_search", "mlp", "binary", 9, {"role": "search", "auroc": 0.85}),
            ("cancer", "mlp", "mlp", "binary", 9, {"role": "model", "auroc": 0.7}),
        ]
    )
    models = [cells(row)[1][1] for row in body_rows(leaderboard_html(frame))]
    assert models == [
        'mlp_folds <span class="tag">ensemble</span>',
        'mlp_folds.fold1 <span class="tag">member of mlp_folds</span>',
        'mlp_search <span class="tag">best trial of a search</span>',
        "mlp",
    ]


def test_names_are_escaped():
    frame = summary_frame([("a<b", "m&m", "mlp", "binary", 3, {"auroc": 0.5})])
    page = leaderboard_html(frame)
    assert "a&lt;b" in page and "m&amp;m" in page and "a<b" not in page


def test_filter_table_ranks_filters_with_their_matches_and_leaves_missing_matches_empty():
    influence = pd.DataFrame(
        {
            "rank": [1, 2],
            "filter": [25, 7],
            "mean_activation": [0.02, 0.1],
            "performance": [0.95, 0.97],
            "influence": [0.016, -0.0008],
            "n_sites": [48, 12],
            "threshold": [1.2, 0.3],
            "max_activation": [2.4, 0.6],
            "information_bits": [13.08, 2.1],
            "best_match": ["MA0139.2", NAN],
            "best_match_name": ["CTCF", NAN],
            "null_q": [1.2467e-16, NAN],
            "match_offset": [-4.0, NAN],
            "match_orientation": ["-", NAN],
        }
    )
    page = filters_html(influence)
    headings = re.findall(r"<th[^>]*>(.*?)</th>", re.search(r"<thead>(.*?)</thead>", page, re.S).group(1))
    assert headings == [
        "rank",
        "filter",
        "influence (drop in validation score)",
        "sites",
        "information (bits)",
        "best match",
        "name",
        "q (null-calibrated)",
        "offset",
        "strand",
    ]
    rows = [[text for _, text in cells(row)] for row in body_rows(page)]
    assert rows == [
        ["1", "25", "0.0160", "48", "13.1", "MA0139.2", "CTCF", "1.2e-16", "-4", "-"],
        ["2", "7", "-0.0008", "12", "2.1", "", "", "", "", ""],
    ]
    assert 'data-sort="1.2467e-16"' in page and "<script>" in page


def test_a_dataset_with_one_run_has_nothing_bold():
    frame = summary_frame(
        [
            ("alone", "cnn", "cnn1d", "binary", 9, {"auroc": 0.9, "f1": 0.8}),
            ("pair", "cnn", "cnn1d", "binary", 9, {"auroc": 0.9, "f1": NAN}),
            ("pair", "linear", "baseline", "binary", 9, {"auroc": 0.7, "f1": 0.6}),
        ]
    )
    rows = body_rows(leaderboard_html(frame))
    auroc = 5
    # The lone run is compared with nothing; in the pair, F1 has one defined value: no comparison.
    assert bold(rows[0]) == [] and bold(rows[1]) == [auroc] and bold(rows[2]) == []


def test_members_and_trials_are_never_marked_best():
    frame = summary_frame(
        [
            ("cancer", "mlp_folds", "mlp", "binary", 9, {"role": "ensemble", "auroc": 0.8}),
            (
                "cancer",
                "mlp_folds.fold1",
                "mlp",
                "binary",
                9,
                {"role": "member", "member_of": "mlp_folds", "auroc": 0.95},
            ),
            ("cancer", "mlp_search.trial01", "mlp", "binary", 9, {"role": "trial", "auroc": 0.99}),
            ("cancer", "linear", "baseline", "binary", 9, {"role": "model", "auroc": 0.7}),
            ("tiny", "cnn", "cnn1d", "binary", 9, {"role": "model", "auroc": 0.6}),
            ("tiny", "cnn.fold1", "cnn1d", "binary", 9, {"role": "member", "member_of": "cnn", "auroc": 0.9}),
        ]
    )
    rows = body_rows(leaderboard_html(frame))
    auroc = 5
    # The ensemble beats the baseline; its better member and the trial are parts, not rivals.
    assert [bold(row) for row in rows[:4]] == [[auroc], [], [], []]
    # A run and one of its own members are no comparison.
    assert bold(rows[4]) == [] and bold(rows[5]) == []


def test_headings_state_the_averaging_of_multiclass_and_multilabel_tasks():
    frame = summary_frame(
        [
            ("brain", "cnn", "cnn2d", "multiclass", 9, {"auroc": 0.9, "f1": 0.5, "accuracy": 0.7}),
            ("tasks", "cnn", "cnn1d", "multilabel", 9, {"auroc": 0.8, "f1": 0.4, "accuracy": 0.8}),
            ("ctcf", "cnn", "cnn1d", "binary", 9, {"auroc": 0.8, "f1": 0.4, "accuracy": 0.8}),
        ]
    )
    page = leaderboard_html(frame)
    assert headings(page) == [
        ("Binary classification", RUN_COLUMNS + ["auROC", "auPRC", "F1", "accuracy"]),
        (
            "Multiclass classification",
            RUN_COLUMNS
            + ["auROC (macro, one-vs-rest)", "auPRC (macro)", "F1 (macro)", "accuracy (top-1)"]
            + ["auROC (micro)", "auPRC (micro)"],
        ),
        (
            "Multilabel classification",
            RUN_COLUMNS
            + ["auROC (macro)", "auPRC (macro)", "F1 (macro)", "accuracy (macro)"]
            + ["auROC (micro)", "auPRC (micro)"],
        ),
    ]


def test_confusion_table_is_a_matrix_per_target_with_row_totals():
    counts = pd.DataFrame(
        {
            "target": ["all"] * 4 + ["b"] * 4,
            "true": ["x", "x", "y", "y"] * 2,
            "predicted": ["x", "y", "x", "y"] * 2,
            "count": [5, 1, 2, 7, 1, 2, 3, 4],
        }
    )
    page = tsv_table_html(counts, "confusion", "confusion of m on d")
    assert re.findall(r"<h2>(.*?)</h2>", page) == ["all", "b"]
    rows = [[re.sub(r"<.*?>", "", text) for _, text in cells(row)] for row in body_rows(page)]
    assert rows == [["x", "5", "1", "6"], ["y", "2", "7", "9"], ["x", "1", "2", "3"], ["y", "3", "4", "7"]]
    assert "true \\ predicted" in page


def test_tsv_table_shows_every_row_sortable_numbers_by_value(tmp_path):
    trials = pd.DataFrame(
        {
            "trial": ["m.trial01", "m.trial02"],
            "training.learning_rate": [0.000123456, 0.01],
            "validation_score": [0.81, NAN],
            "chosen": [True, False],
        }
    )
    trials.to_csv(tmp_path / "trials.tsv", sep="\t", index=False)
    page = tsv_table_html(pd.read_csv(tmp_path / "trials.tsv", sep="\t"), "trials", "trials")
    rows = [cells(row) for row in body_rows(page)]
    assert [[re.sub(r"<.*?>", "", text) for _, text in row] for row in rows] == [
        ["m.trial01", "0.0001235", "0.81", "True"],
        ["m.trial02", "0.01", "", "False"],
    ]
    assert 'data-sort="0.000123456"' in rows[0][1][0] and 'data-sort=""' in rows[1][2][0]
    assert '<table class="sortable">' in page and "<script>" in page


def test_tsv_table_headings_can_wrap_at_underscores():
    tomtom = pd.DataFrame({"filter": ["filter3"], "target_name": ["CTCF"], "p_value": [1e-5]})
    page = tsv_table_html(tomtom, "tomtom", "Tomtom")
    headings = re.findall(r"<th [^>]*>(.*?)</th>", page)
    assert headings == ["filter", "target name", "p value"]


def test_a_steps_tables_are_written_from_the_tsvs_beside_them_and_other_pages_left_alone(tmp_path):
    trials = pd.DataFrame({"trial": ["m.trial01"], "validation_score": [0.8], "chosen": [True]})
    trials.to_csv(tmp_path / "trials.tsv", sep="\t", index=False)
    influence = pd.DataFrame({"rank": [1], "filter": [3], "influence": [0.01], "best_match": ["MA0139.2"]})
    influence.to_csv(tmp_path / "influence.tsv", sep="\t", index=False)
    (tmp_path / "metrics.html").write_text("written by its own step")
    pages = [tmp_path / name for name in ("trials.html", "filter_table.html", "metrics.html")]
    write_run_tables([*pages, tmp_path / "trials.tsv"], "cancer", "mlp_search")
    trials_page = (tmp_path / "trials.html").read_text()
    assert trials_page == tsv_table_html(trials, "trials", "trials.tsv of mlp_search on cancer")
    assert (tmp_path / "filter_table.html").read_text() == filters_html(influence)
    assert (tmp_path / "metrics.html").read_text() == "written by its own step"
    with pytest.raises(FileNotFoundError, match="confusion.tsv"):  # the step must write its TSV first
        write_run_tables([tmp_path / "confusion.html"], "cancer", "mlp")
