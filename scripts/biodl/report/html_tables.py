"""Tables for the HTML report: the leaderboard of all runs and one run's metrics (no TensorFlow).

Snakemake's report offers TSV files only as downloads but shows HTML files inline, so the tables
a reader should see are written as small standalone HTML pages (inline style and script, no
network access).

Contract:
- ``leaderboard_html(summary)``: the frame of ``biodl.evaluation.summary.summarize`` (or
  ``summary.tsv`` read back) → a table per task (binary, multiclass, multilabel, regression), a
  row per run (dataset, model, kind, test examples, parameters: the summary's total count,
  empty where not counted, as the page's note says) and a column per headline metric of the
  task, its heading stating the averaging (``F1 (macro)`` for multiclass and multilabel,
  ``accuracy (top-1)`` for multiclass), each cell ``value`` with its confidence interval
  beneath; ``NaN`` where it is undefined. Bold marks the best value of a metric within a
  dataset only where there is a comparison: at least two *comparable* runs (plain models,
  baselines, ensembles and searches: never an ensemble's members or a search's trials, which
  are parts of another run) with a value. Higher is better except for ``mse`` and ``mae``.
  Multiclass and multilabel tables add the micro averages (``auROC (micro)``, ``auPRC
  (micro)``, pooled over every labelled example and label as the page's note says; point
  estimates, never bold) after the headline columns.
  Baselines, ensembles, their members and searches carry a tag. Clicking a column heading
  sorts by it (by the number, not its text); the page works without its script. Text cells
  wrap (a dataset or model name only past 7 em, so short names stay whole beside many metric
  columns), so the page fits a 1400-pixel window beside the report's menu without sideways scrolling.
- ``metrics_html(metrics, title)``: a run's ``metrics.tsv`` frame (metric, target, value,
  ci_low, ci_high) → a table with the interval in one column.
- ``filters_html(influence)``: a DNA network's ``influence.tsv`` (``biodl.interpret``) → its
  first-layer filters ranked by influence, each with its sites, information content and best
  JASPAR match (ID, name, q-value, offset, strand); sortable.
- ``tsv_table_html(table, name, title)``: one of a run's TSVs (``TSV_TABLE_NOTES``: ``confusion``,
  ``attention``, ``importance``, ``tomtom``, ``trials``; apply's ``top_variants``) as a page, every row shown,
  sortable: numbers right-aligned (whole numbers as such, others to four significant digits),
  text left, missing values empty; headings show column names with spaces for underscores, so
  that they wrap in a narrow window.
  ``confusion`` (columns target, true, predicted, count) is shown as one matrix per target:
  a row per true class with its total, a column per predicted class.
- ``write_run_tables(outputs, dataset, model)``: of a step's output paths, every ``<name>.html``
  with ``<name>`` in ``TSV_TABLE_NOTES`` is written from the ``<name>.tsv`` beside it
  (``tsv_table_html``), and ``filter_table.html`` from the ``influence.tsv`` beside it
  (``filters_html``); other paths are left alone. The step that writes those TSVs calls it last,
  so the report's tables need no job (and no Python start) of their own.
- ``write_html(text, path)`` writes atomically.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path

import pandas as pd

from biodl.core.files import atomic_path
from biodl.evaluation.metrics import HEADLINE_METRICS
from biodl.evaluation.summary import MICRO_COLUMNS, MICRO_TASKS, SUMMARY_METRICS, ci_columns

LOWER_IS_BETTER = frozenset({"mse", "mae", "brier"})
COUNT_METRICS = frozenset({"n", "n_positive"})
# The leaderboard has one table per task, so each shows only its metrics, with its averaging.
TASK_TITLES = {
    "binary": "Binary classification",
    "multiclass": "Multiclass classification",
    "multilabel": "Multilabel classification",
    "regression": "Regression",
}
# Headings where a task's headline value is an average (biodl.evaluation.metrics: macro rows).
TASK_METRIC_LABELS = {
    "multiclass": {
        "auroc": "auROC (macro, one-vs-rest)",
        "auprc": "auPRC (macro)",
        "f1": "F1 (macro)",
        "accuracy": "accuracy (top-1)",
    },
    "multilabel": {
        "auroc": "auROC (macro)",
        "auprc": "auPRC (macro)",
        "f1": "F1 (macro)",
        "accuracy": "accuracy (macro)",
    },
}
# The micro-average columns of multi-class and multi-label runs (biodl.evaluation.summary).
MICRO_HEADINGS = {
    "auroc_micro": "auROC (micro)",
    "auprc_micro": "auPRC (micro)",
}
# Runs that are parts of another run: never a dataset's best (biodl.workflow.variants roles).
PART_ROLES = frozenset({"member", "trial"})
METRIC_LABELS = {
    "auroc": "auROC",
    "auprc": "auPRC",
    "f1": "F1",
    "f1_best": "F1 (validation threshold)",
    "threshold_best": "threshold chosen on validation",
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "brier": "Brier score",
    "mse": "MSE",
    "mae": "MAE",
    "pearson_r": "Pearson r",
    "spearman_r": "Spearman r",
    "r2": "R²",
    "n_positive": "positives",
    "n": "examples",
}

# A backslash at the end of a line continues it: the page gets one line per rule.
_STYLE = """
body { font-family: system-ui, sans-serif; font-size: 13px; color: #1e293b; margin: 1em; }
h1 { font-size: 18px; margin: 0 0 0.3em 0; }
h2 { font-size: 15px; margin: 1.2em 0 0.4em 0; }
p.note { color: #475569; margin: 0 0 1em 0; max-width: 60em; }
table { border-collapse: collapse; }
th, td { padding: 0.3em 0.5em; border-bottom: 1px solid #e2e8f0; text-align: right; white-space: nowrap; }
td.text, th { white-space: normal; }
td.text { max-width: 16em; overflow-wrap: anywhere; }
td.name { min-width: 7em; }
th { background: #f1f5f9; position: sticky; top: 0; }
th.sortable { cursor: pointer; }
th.sortable::after { content: " \\2195"; color: #94a3b8; }
td.text, th.text { text-align: left; }
tr.first-of-dataset td { border-top: 2px solid #94a3b8; }
td .ci { display: block; font-size: 11px; color: #64748b; }
td.best { font-weight: 700; }
span.tag { display: inline-block; font-size: 11px; color: #92400e; background: #fef3c7; \
border-radius: 3px; padding: 0 4px; margin-left: 4px; white-space: nowrap; }
"""

# Sorts the table by the clicked column, by each cell's data-sort value (numbers as numbers);
# a second click reverses the order. Rows keep their dataset grouping only in the initial order.
_SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th.sortable").forEach(function (heading, column) {
    heading.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.from(body.rows);
      var descending = heading.dataset.order !== "descending";
      heading.dataset.order = descending ? "descending" : "ascending";
      function key(row) {
        var value = row.cells[column].dataset.sort;
        var number = parseFloat(value);
        return isNaN(number) ? value : number;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === y) return 0;
        if (x === "") return 1;
        if (y === "") return -1;
        var order = (typeof x === typeof y) ? (x < y ? -1 : 1) : (typeof x === "number" ? -1 : 1);
        return descending ? -order : order;
      });
      rows.forEach(function (row) { row.classList.remove("first-of-dataset"); body.appendChild(row); });
    });
  });
});
"""


def format_number(value: float) -> str:
    """Three decimals for scores, one for large errors (an MSE in squared target units)."""
    if math.isnan(value):
        return "NaN"
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}"


def _interval(low: float, high: float) -> str:
    if math.isnan(low) or math.isnan(high):
        return ""
    return f"{format_number(low)} – {format_number(high)}"


def _metric_cell(value: float, low: float, high: float, best: bool) -> str:
    interval = _interval(low, high)
    ci = f'<span class="ci">{interval}</span>' if interval else ""
    css = ' class="best"' if best else ""
    sort = "" if math.isnan(value) else repr(float(value))
    return f'<td{css} data-sort="{sort}">{format_number(value)}{ci}</td>'


def _text_cell(text: object, sort: object | None = None, extra: str = "", css: str = "text") -> str:
    value = html.escape(str(text))
    key = html.escape(str(text if sort is None else sort))
    return f'<td class="{css}" data-sort="{key}">{value}{extra}</td>'


def _table(head: Sequence[tuple[str, bool]], rows: Iterable[str], sortable: bool) -> str:
    """One table; heading cells are (label, is_text)."""
    cells = "".join(
        f'<th class="{"text " if is_text else ""}{"sortable" if sortable else ""}">{html.escape(label)}</th>'
        for label, is_text in head
    )
    table_class, body = ("sortable" if sortable else ""), "".join(rows)
    return f'<table class="{table_class}"><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>'


def _page(title: str, note: str, body: str, sortable: bool) -> str:
    """A standalone page around ``body``."""
    script = f"<script>{_SORT_SCRIPT}</script>" if sortable else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="note">{note}</p>{body}{script}</body></html>\n'
    )


def run_tags(run: dict[str, object]) -> list[str]:
    """What kind of run a leaderboard row is, beyond a plain model (``biodl.workflow.variants`` roles)."""
    tags = ["baseline"] if run["kind"] == "baseline" else []
    role, ensemble = run.get("role"), run.get("member_of")
    if role == "ensemble":
        tags.append("ensemble")
    elif role == "search":
        tags.append("best trial of a search")
    elif role == "member" and isinstance(ensemble, str) and ensemble:
        tags.append(f"member of {ensemble}")
    return tags


def comparable(summary: pd.DataFrame) -> pd.Series:
    """The runs that compete for a dataset's best: not a member of an ensemble nor a search's trial."""
    if "role" not in summary.columns:
        return pd.Series(True, index=summary.index)
    return ~summary["role"].astype(object).isin(PART_ROLES)


def _best_per_dataset(summary: pd.DataFrame, metric: str) -> pd.Series:
    """Whether each run has its dataset's best value of ``metric`` (ties all count) among the
    comparable runs, where at least two of them have a value."""
    values = summary[metric].astype(float).where(comparable(summary))
    grouped = values.groupby(summary["dataset"])
    target = grouped.transform("min" if metric in LOWER_IS_BETTER else "max")
    compared = grouped.transform("count") >= 2
    return values.notna() & (values == target) & compared


def leaderboard_html(summary: pd.DataFrame) -> str:
    """The leaderboard page of the module contract."""
    sections = []
    for task, title in TASK_TITLES.items():
        runs = summary[summary["task"] == task]
        if len(runs):
            sections.append(f"<h2>{title}</h2>" + _leaderboard_table(runs.reset_index(drop=True), task))
    note = (
        "Every run's headline metrics on its test split, with the bootstrap confidence interval "
        "beneath each value. Bold: the best value among a dataset's runs (lowest for MSE and MAE), "
        "shown only where the dataset has two or more runs to compare; an ensemble's members and "
        "a search's trials are parts of another run and never marked. Several classes or labels: "
        "macro averages (the unweighted mean over classes or labels), and micro averages (pooled "
        "over every labelled example and label) in the columns that say so; several regression targets: "
        "the mean over targets. Parameters: every weight of a network (an ensemble: summed over its "
        "members), a linear baseline's coefficients and intercepts; empty for gradient boosting, "
        "which fits trees, not weights. Click a column heading to sort by it."
    )
    return _page("Leaderboard: all runs", note, "".join(sections), sortable=True)


def metric_heading(metric: str, task: str) -> str:
    """A leaderboard column's heading: the metric, with its averaging where the task averages."""
    return TASK_METRIC_LABELS.get(task, {}).get(metric, METRIC_LABELS[metric])


def _leaderboard_table(summary: pd.DataFrame, task: str) -> str:
    """The runs of one task: a column per headline metric of the task."""
    metrics = [m for m in SUMMARY_METRICS if m in HEADLINE_METRICS[task]]
    best = {metric: _best_per_dataset(summary, metric) for metric in metrics}
    head = [
        ("dataset", True),
        ("model", True),
        ("kind", True),
        ("test examples", False),
        ("parameters", False),
    ]
    micro = list(MICRO_COLUMNS) if task in MICRO_TASKS else []
    head += [(metric_heading(m, task), False) for m in metrics]
    head += [(MICRO_HEADINGS[c], False) for c in micro]
    rows, previous = [], None
    for i, run in enumerate(summary.to_dict("records")):
        tag = "".join(f' <span class="tag">{html.escape(text)}</span>' for text in run_tags(run))
        cells = [
            _text_cell(run["dataset"], css="text name"),
            _text_cell(run["model"], extra=tag, css="text name"),
            _text_cell(run["kind"]),
            f'<td data-sort="{int(run["n_test"])}">{int(run["n_test"])}</td>',
            _count_cell(run.get("parameters")),
        ]
        for metric in metrics:
            low, high = (float(run[c]) for c in ci_columns(metric))
            cells.append(_metric_cell(float(run[metric]), low, high, bool(best[metric].iloc[i])))
        cells += [_metric_cell(float(run[c]), math.nan, math.nan, False) for c in micro]
        css = ' class="first-of-dataset"' if previous is not None and run["dataset"] != previous else ""
        previous = run["dataset"]
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return _table(head, rows, sortable=True)


def _count_cell(count: object) -> str:
    """A whole number with thousands separators; empty where there is none (not counted)."""
    if count is None or pd.isna(count):
        return '<td data-sort=""></td>'
    number = int(count)  # type: ignore[call-overload]
    return f'<td data-sort="{number}">{number:,}</td>'


def metrics_html(metrics: pd.DataFrame, title: str) -> str:
    """One run's metrics page of the module contract."""
    rows = []
    for metric, target, value, low, high in metrics[
        ["metric", "target", "value", "ci_low", "ci_high"]
    ].itertuples(index=False):
        rows.append(
            "<tr>"
            + _text_cell(METRIC_LABELS.get(metric, metric))
            + _text_cell(target)
            + f"<td>{int(value) if metric in COUNT_METRICS else format_number(float(value))}</td>"
            + f"<td>{_interval(float(low), float(high))}</td>"
            + "</tr>"
        )
    note = "Test-split metrics; the interval is the bootstrap confidence interval where one was computed."
    head = [("metric", True), ("target", True), ("value", False), ("interval", False)]
    return _page(title, note, _table(head, rows, sortable=False), sortable=False)


# influence.tsv column → (heading, how its values are shown); the rest of the file is not shown.
FILTER_COLUMNS = {
    "rank": ("rank", "{:.0f}"),
    "filter": ("filter", "{:.0f}"),
    "influence": ("influence (drop in validation score)", "{:.4f}"),
    "n_sites": ("sites", "{:.0f}"),
    "site_class": ("sites mostly in", "{}"),
    "information_bits": ("information (bits)", "{:.1f}"),
    "core_bits": ("core (bits)", "{:.1f}"),
    "best_match": ("best match", "{}"),
    "best_match_name": ("name", "{}"),
    "null_q": ("q (null-calibrated)", "{:.2g}"),
    "tomtom_p": ("Tomtom p", "{:.2g}"),
    "match_offset": ("offset", "{:.0f}"),
    "match_orientation": ("strand", "{}"),
}


def filters_html(influence: pd.DataFrame) -> str:
    """The filter table of the module contract."""
    columns = [c for c in FILTER_COLUMNS if c in influence.columns]
    rows = []
    for record in influence[columns].to_dict("records"):
        cells = []
        for column in columns:
            value, shown = record[column], FILTER_COLUMNS[column][1]
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            text = "" if missing else shown.format(value)
            sort = (
                ""
                if missing
                else (repr(float(value)) if isinstance(value, (int, float)) else html.escape(str(value)))
            )
            css = ' class="text"' if shown == "{}" else ""
            cells.append(f'<td{css} data-sort="{sort}">{html.escape(text)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = [(FILTER_COLUMNS[c][0], FILTER_COLUMNS[c][1] == "{}") for c in columns]
    note = (
        "First-layer filters, most influential first (the drop in the validation score when the filter's "
        "output is replaced by its mean). Each filter is trimmed to its informative core; a core with too "
        "little information is not matched. A match is listed where the core's best Tomtom match beats "
        "decoys of equal information at the null-calibrated q cut-off (q: the expected share of such "
        "matches that are chance); an empty match means none did."
    )
    return _page("Filters and their best matches", note, _table(head, rows, sortable=True), sortable=True)


def write_html(text: str, path: str | PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


# The run TSVs shown as tables in the report, with the note above each (their captions say more).
TSV_TABLE_NOTES = {
    "confusion": "Test-split counts: a row per true class (with its total), a column per predicted class.",
    "attention": (
        "Attention MIL: the weight of each tile (level-0 x, y of its image) in its bag's "
        "prediction, validation and test bags; a bag's weights sum to 1."
    ),
    "importance": "Permutation importance of each input feature, most important first.",
    "tomtom": "Tomtom matches of the first-layer filters (one row per filter and database motif).",
    "trials": "The search's trials: sampled settings, validation score and the chosen trial.",
    "top_variants": (
        "The variants of largest effect, largest first: per task the REF and ALT scores, their "
        "difference and log-odds ratio; effect is the largest absolute difference."
    ),
}


def _value_cell(value: object) -> str:
    """A cell of a TSV table: numbers right-aligned and sortable by value, text left."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td data-sort=""></td>'
    if isinstance(value, (bool, str)):
        return _text_cell(value)
    number = float(value)  # type: ignore[arg-type]
    text = f"{int(number)}" if number.is_integer() and abs(number) < 1e15 else f"{number:.4g}"
    return f'<td data-sort="{number!r}">{text}</td>'


def _frame_table(table: pd.DataFrame) -> str:
    # Headings shown with spaces for underscores so that they can wrap: a dozen unbreakable
    # column names (Tomtom's) made the page wider than a 1400-pixel window.
    head = [
        (str(column).replace("_", " "), not pd.api.types.is_numeric_dtype(table[column]))
        for column in table.columns
    ]
    rows = [
        "<tr>" + "".join(_value_cell(value) for value in record) + "</tr>"
        for record in table.itertuples(index=False, name=None)
    ]
    return _table(head, rows, sortable=True)


def _confusion_tables(table: pd.DataFrame) -> str:
    """One matrix per target: true classes down, predicted across, row totals last."""
    sections = []
    for target, counts in table.groupby("target", sort=False):
        matrix = counts.pivot_table(
            index="true", columns="predicted", values="count", aggfunc="sum", sort=False
        )
        matrix = matrix.fillna(0).astype(int)
        matrix["total"] = matrix.sum(axis=1)
        matrix = matrix.reset_index().rename(columns={"true": "true \\ predicted"})
        sections.append(f"<h2>{html.escape(str(target))}</h2>" + _frame_table(matrix))
    return "".join(sections)


def tsv_table_html(table: pd.DataFrame, name: str, title: str) -> str:
    """A run's TSV as a page (module contract)."""
    body = _confusion_tables(table) if name == "confusion" else _frame_table(table)
    return _page(title, html.escape(TSV_TABLE_NOTES[name]), body, sortable=True)


def write_run_tables(outputs: Iterable[str | PathLike[str]], dataset: str, model: str) -> None:
    """The report's pages of a step's TSVs, beside them (module contract)."""
    for output in outputs:
        path = Path(output)
        if path.suffix != ".html":
            continue
        if path.stem == "filter_table":
            write_html(filters_html(pd.read_csv(path.with_name("influence.tsv"), sep="\t")), path)
        elif path.stem in TSV_TABLE_NOTES:
            table = pd.read_csv(path.with_suffix(".tsv"), sep="\t")
            write_html(tsv_table_html(table, path.stem, f"{path.stem}.tsv of {model} on {dataset}"), path)
