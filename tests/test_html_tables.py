"""biodl.report.html_tables: the leaderboard and per-run metrics pages of the report."""

import math
import re

import pandas as pd
import pytest

from biodl.evaluation.summary import SUMMARY_COLUMNS
from biodl.report.html_tables import filters_html, format_number, leaderboard_html, metrics_html, write_html

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
    assert [re.sub(r"<.*?>", "", text) for _, text in first[:5]] == ["ctcf", "cnn", "cnn1d", "binary", "100"]
    assert "0.976" in first[5][1] and "0.948 – 0.994" in first[5][1]
    # One table per task family, each with its own metrics.
    tables = re.findall(r"<h2>(.*?)</h2><table.*?<thead>(.*?)</thead>", page, re.S)
    run_columns = ["dataset", "model", "kind", "task", "test examples"]
    assert [(family, re.findall(r"<th[^>]*>(.*?)</th>", head)) for family, head in tables] == [
        ("Classification", run_columns + ["auROC", "auPRC", "F1", "accuracy"]),
        ("Regression", run_columns + ["MSE", "MAE", "Pearson r", "R²"]),
    ]


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
