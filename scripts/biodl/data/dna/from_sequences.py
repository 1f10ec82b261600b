"""DNA examples from sequences given whole: FASTA files (one per class) or a table of sequences.

Contract:
- Every sequence is fitted to ``length``: a longer one is centre-cropped, a shorter one padded
  with N on both sides (``edge: pad``) or dropped (``edge: drop``, counted in the log).
- ``from_sequence_files(job, labels)``: every record of each class's FASTA file (an empty file
  or record raises ``InputError``); duplicate sequences are kept once (the first). Splits are
  stratified at random by class with the config's seed, or, with ``split.validation`` and
  ``split.test``, by the chromosomes (or regions) that record names give as ``chrom:start-end``
  (``parse_headers``: samtools' 1-based inclusive form, or bedtools' 0-based half-open form
  when the sequence is ``end - start`` long; a trailing ``(+)``/``(-)`` or ``_r``, a reverse
  complement, gives the strand): every record must name its location, records straddling a
  hold-out region are dropped, so no sequence is in two splits. ``negatives: shuffle`` adds
  ``ratio`` dinucleotide shuffles of each sequence, in its split; ``gc_matched`` needs a genome
  and is an error here.
- ``from_table(job)`` reads ``table.path`` (``biodl.data.tabular``): one column of class names
  (binary or multiclass, negatives allowed, duplicates dropped as for files), several 0/1
  columns (multilabel) or numbers (``task: regression``), split stratified by label set or
  target quintile. A single column of numbers that are not all 0/1 is refused unless the task
  is regression. It returns the dataset's ``Labelling``. A sequence's name is its table line.
  With ``table.location`` (one ``chrom:start-end`` column, read as record names are, or
  ``chrom``/``start``/``end`` columns, 0-based half-open as in BED) every row must give its
  location, and ``split.validation``/``split.test`` hold out chromosomes or regions exactly as
  for genome input (``biodl.data.splits.assign_by_location``: a row straddling a hold-out
  boundary is dropped, counted in the log). With ``table.group_column`` (no hold-outs) whole
  groups are drawn at random (``splits.grouped_random``, stratified by class for one class
  column), so no group is in two splits. A missing or malformed location or group cell raises
  ``InputError`` naming the file, line and column.
- Metadata: ``source`` the file, ``name`` the record (or table line), ``chrom`` ``.``,
  ``start``/``end`` -1, strand ``+`` (with hold-outs by record name, or a table's location
  columns: the location given).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from biodl.config.datasets import DnaDataset, SequenceTable, TableLocation
from biodl.core.errors import InputError
from biodl.data import splits, tabular
from biodl.data.dna import encode
from biodl.data.dna.examples import DnaJob, Labelling, chunks, input_files, labelling
from biodl.data.dna.fasta import open_fasta, record_codes
from biodl.data.dna.windows import drop_duplicates

log = logging.getLogger(__name__)

# A sequence as read: source file, record (or table line), label text, base codes.
Record = tuple[str, str, str, np.ndarray]

# A record name that gives its location: chrom:start-end, then an optional strand mark.
HEADER = r"^(?P<chrom>[^:\s]+):(?P<start>\d+)-(?P<end>\d+)(?P<strand>\([+-]\)|_r)?$"


def from_sequence_files(job: DnaJob, labels: Labelling) -> None:
    """Write the sequences of every class's FASTA file (see the module contract)."""
    spec = job.spec
    frame, codes = _fit_all(list(_records(job)), spec.length, spec.edge)
    frame, codes = _dedupe_sequences(frame, codes)
    if frame.empty:
        raise InputError(
            input_files(spec),
            None,
            f"every sequence was filtered out (shorter than length {spec.length} "
            f"with edge: {spec.edge}, or duplicates); expected at least one to remain "
            "(edge: pad keeps short sequences)",
        )
    if spec.negatives.method == "gc_matched":
        raise InputError(
            "config",
            f"{spec.key}.negatives.method",
            "gc_matched needs a genome; use shuffle for sequence files",
        )
    if spec.split.validation or spec.split.test:
        frame, codes = _held_out_by_header(job, frame, codes)
    else:
        frame = frame.assign(chrom=".", start=-1, end=-1, strand="+")
        frame["split"] = splits.stratified_random(
            frame["label"].to_numpy(),
            spec.split.validation_fraction,
            spec.split.test_fraction,
            job.seed,
            spec.key,
        )
    _emit_with_shuffles(job, labels, frame, codes)


def parse_headers(frame: pd.DataFrame) -> pd.DataFrame:
    """``chrom``, ``start``, ``end`` (0-based, half-open) and ``strand`` of every record from its
    ``chrom:start-end`` name (see the module contract); the first name that does not parse
    raises ``InputError`` naming its file and record."""
    located, bad, problem = locate(frame["name"], frame["length"].to_numpy())
    if bad is not None:
        row = frame.iloc[bad]
        raise InputError(row["source"], f"record {row['name']!r}", f"the name {problem}")
    return located


LOCATION_EXPECTED = (
    "does not give a location; expected chrom:start-end (e.g. chr2L:1001-3000, optionally "
    "followed by (+), (-) or _r) in every {what} to hold out chromosomes (split.validation, "
    "split.test), or no hold-outs for a random split"
)


def locate(
    texts: pd.Series, lengths: np.ndarray, what: str = "record"
) -> tuple[pd.DataFrame, int | None, str]:
    """Each ``chrom:start-end`` text as ``chrom``, ``start``, ``end`` (0-based, half-open: a
    1-based inclusive text unless ``end - start`` is the sequence's length) and ``strand``; and
    the position of the first text that does not give a location (``None`` when all do) with
    what is wrong with it, worded to follow "the name" or a cell's value."""
    parsed = texts.astype(str).str.extract(HEADER)
    bad = np.flatnonzero(parsed["chrom"].isna().to_numpy())
    if len(bad):
        return parsed, int(bad[0]), LOCATION_EXPECTED.format(what=what)
    start, end = parsed["start"].astype(np.int64), parsed["end"].astype(np.int64)
    half_open = (end - start).to_numpy() == lengths
    start = start.where(half_open, start - 1)  # 1-based inclusive unless the length says otherwise
    bad = np.flatnonzero((start < 0).to_numpy() | (end <= start).to_numpy())
    if len(bad):
        return parsed, int(bad[0]), "gives an empty range; expected start <= end in chrom:start-end"
    strand = np.where(parsed["strand"].isin(["(-)", "_r"]), "-", "+")
    located = pd.DataFrame({"chrom": parsed["chrom"], "start": start, "end": end, "strand": strand})
    return located.reset_index(drop=True), None, ""


def _held_out_by_header(
    job: DnaJob, frame: pd.DataFrame, codes: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """Split the records by the chromosomes or regions their headers name (no record in two
    splits; a record straddling a hold-out boundary is dropped)."""
    located = parse_headers(frame)
    frame = frame.drop(columns="length").assign(**{c: located[c].to_numpy() for c in located})
    frame["split"] = _split_by_location(job, frame, "record names")
    kept = (frame["split"] != "").to_numpy()
    return frame.loc[kept].reset_index(drop=True), codes[kept]


def _split_by_location(job: DnaJob, frame: pd.DataFrame, what: str) -> np.ndarray:
    """Each row's split by its ``chrom``/``start``/``end`` and the hold-outs, ``""`` for a row
    straddling a hold-out boundary (``splits.assign_by_location``); the chromosomes known are
    those the rows name. Every row straddling is an error."""
    spec = job.spec
    sizes = frame.groupby("chrom")["end"].max().to_dict()
    holdouts = splits.parse_holdouts(
        list(spec.split.validation), list(spec.split.test), sizes, f"{spec.key}.split"
    )
    split = splits.assign_by_location(
        frame["chrom"].to_numpy(), frame["start"].to_numpy(), frame["end"].to_numpy(), holdouts
    )
    kept = split != ""
    if not kept.any():
        raise InputError(input_files(spec), None, "every sequence straddles a hold-out boundary")
    log.info(
        "split by the chromosomes of the %s: %s (%d straddling a hold-out boundary dropped)",
        what,
        pd.Series(split[kept]).value_counts().to_dict(),
        int((~kept).sum()),
    )
    return split


def from_table(job: DnaJob) -> Labelling:
    """Sequences from a table: one column of class names, several 0/1 columns, or numbers
    (regression); split by location, by group or stratified at random (see the module contract)."""
    spec = job.spec
    assert spec.table is not None, "from_table reads a table"
    settings = spec.table
    path = Path(settings.path)
    table = tabular.read_table(path, "sequence table")
    label_columns = list(settings.label_columns)
    tabular.require_columns(table, [settings.sequence_column, *label_columns, *_role_columns(settings)], path)
    lines = [tabular.line_of(table, i) for i in range(len(table))]
    sequences = table_sequences(table, settings.sequence_column, path)
    y: np.ndarray | None = None
    if settings.task == "regression" or len(label_columns) > 1:
        task = "regression" if settings.task == "regression" else "multilabel"
        if spec.negatives.method != "none":
            raise InputError("config", "negatives.method", f"negatives cannot be generated for {task} tables")
        y, classes, _, label_texts = tabular.parse_labels(table, label_columns, task, None, path)
        labels = Labelling(classes, task)
    else:
        labels, label_texts = _class_labels(spec, table, label_columns[0], path)
    # One label text and one sequence per table row.
    records = [
        (str(path), line, label, seq) for line, label, seq in zip(lines, label_texts, sequences, strict=True)
    ]
    frame, codes = _fit_all(records, spec.length, spec.edge)
    row = frame["name"].map({line: i for i, line in enumerate(lines)}).to_numpy()
    frame = pd.concat([frame, _row_places(table.iloc[row], settings, frame["length"].to_numpy())], axis=1)
    frame = frame.drop(columns="length")
    if labels.task in ("multilabel", "regression"):
        assert y is not None
        frame["split"] = _table_split(
            job, frame, splits.label_strata(labels.task, y[row], frame["label"].to_numpy())
        )
        kept = (frame["split"] != "").to_numpy()
        rows = frame.loc[kept].drop(columns="group").reset_index(drop=True)
        job.emit(rows, encode.one_hot(codes[kept], spec.ambiguous), labels, y=y[row][kept])
        return labels
    frame, codes = _dedupe_sequences(frame, codes)
    frame["split"] = _table_split(job, frame, frame["label"].to_numpy())
    kept = (frame["split"] != "").to_numpy()
    _emit_with_shuffles(
        job, labels, frame.loc[kept].drop(columns="group").reset_index(drop=True), codes[kept]
    )
    return labels


def _class_labels(
    spec: DnaDataset, table: pd.DataFrame, column_name: str, path: Path
) -> tuple[Labelling, list[str]]:
    """The labelling of one column of class names (0/1 allowed, other numbers refused) and each
    row's class."""
    column = table[column_name]
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.notna().all() and not numbers.isin([0, 1]).all():
        raise InputError(
            path,
            f"column {column_name!r}",
            f"holds continuous values ({numbers.nunique()} distinct); expected class names or 0/1, "
            "or set table.task: regression to predict the numbers",
        )
    # The configured classes, when they name every label, so that a class named like a
    # missing value (NA) is read as that class; labelling() checks them against the labels.
    values, configured = set(column), list(spec.classes or [])
    named = [c for c in configured if c in values] if values <= set(configured) else None
    _, found, _, label_texts = tabular.parse_labels(
        table, [column_name], "multiclass" if column.nunique() > 2 else "binary", named, path
    )
    return labelling(spec, found), list(label_texts)


def _role_columns(settings: SequenceTable) -> list[str]:
    """The location and group columns a table must have."""
    location = settings.location.columns if settings.location else ()
    return [*location, *([settings.group_column] if settings.group_column else [])]


def _row_places(rows: pd.DataFrame, settings: SequenceTable, lengths: np.ndarray) -> pd.DataFrame:
    """Per row: ``chrom``, ``start``, ``end``, ``strand`` (from ``table.location``; else ``.``,
    -1, -1, ``+``) and ``group`` (``table.group_column``; else ``""``). A missing or malformed
    cell raises ``InputError`` naming the file, line and column."""
    path, n = settings.path, len(rows)
    if settings.location is None:
        places = pd.DataFrame({"chrom": ["."] * n, "start": -1, "end": -1, "strand": "+"})
    elif settings.location.column:
        places = _located_by_column(rows, settings.location.column, lengths, path)
    else:
        places = _located_by_columns(rows, settings.location, path)
    group = settings.group_column
    places["group"] = tabular.required_cells(rows, group, path, "a group name").to_numpy() if group else ""
    return places.reset_index(drop=True)


def _located_by_column(rows: pd.DataFrame, column: str, lengths: np.ndarray, path: str) -> pd.DataFrame:
    cells = tabular.required_cells(rows, column, path, "chrom:start-end")
    located, bad, problem = locate(cells, lengths, "row")
    if bad is not None:
        raise InputError(
            path, f"{tabular.line_of(cells, bad)}, column {column!r}", f"{cells.iloc[bad]!r} {problem}"
        )
    return located


def _located_by_columns(rows: pd.DataFrame, location: TableLocation, path: str) -> pd.DataFrame:
    """chrom, start and end columns (0-based, half-open, as in BED); strand ``+``."""
    assert location.chrom and location.start and location.end, "checked by biodl.config.checks"
    chrom = tabular.required_cells(rows, location.chrom, path, "a chromosome name")
    bounds = []
    for name in (location.start, location.end):
        cells = tabular.required_cells(rows, name, path, "a whole number")
        values = tabular.numbers(cells, name, path, "a whole number >= 0")
        bad = np.flatnonzero((values < 0) | (values != np.round(values)))
        if len(bad):
            raise InputError(
                path,
                f"{tabular.line_of(cells, int(bad[0]))}, column {name!r}",
                f"expected a whole number >= 0, found {cells.iloc[int(bad[0])]!r}",
            )
        bounds.append(values.astype(np.int64))
    start, end = bounds
    bad = np.flatnonzero(end <= start)
    if len(bad):
        raise InputError(
            path,
            f"{tabular.line_of(rows, int(bad[0]))}, columns {location.start!r} and {location.end!r}",
            f"expected start < end (0-based, half-open, as in BED), found {start[bad[0]]} and {end[bad[0]]}",
        )
    return pd.DataFrame({"chrom": chrom.to_numpy(), "start": start, "end": end, "strand": "+"})


def _table_split(job: DnaJob, frame: pd.DataFrame, strata: np.ndarray) -> np.ndarray:
    """Each row's split: by location with hold-outs (``""``: straddling, dropped), by whole
    groups with ``table.group_column``, else stratified at random by ``strata``."""
    spec = job.spec
    assert spec.table is not None
    if spec.split.validation or spec.split.test:
        return _split_by_location(job, frame, "table's locations")
    fractions = spec.split.validation_fraction, spec.split.test_fraction
    if spec.table.group_column:
        single_label = spec.table.task == "classification" and len(spec.table.label_columns) == 1
        split = splits.grouped_random(
            [str(g) for g in frame["group"]],
            [str(s) for s in strata] if single_label else None,
            *fractions,
            job.seed,
            spec.table.path,
        )
        log.info(
            "split by %d groups: %s", frame["group"].nunique(), pd.Series(split).value_counts().to_dict()
        )
        return split
    return splits.stratified_random(strata, *fractions, job.seed, spec.table.path)


def table_sequences(table: pd.DataFrame, column: str, path: Path) -> list[np.ndarray]:
    """Every row's sequence as base codes (``table`` as ``biodl.data.tabular.read_table`` reads
    it); an empty or missing cell (``NA``), a character that is no IUPAC base or a sequence
    without A, C, G or T is refused, naming the line and column."""
    cells = table[column]
    missing = np.flatnonzero(tabular.is_missing(cells))
    if len(missing):
        raise InputError(
            path,
            f"{tabular.line_of(cells, int(missing[0]))}, column {column!r}",
            f"no sequence ({cells.iloc[int(missing[0])]!r} is an empty or missing value); expected a DNA "
            "sequence in every row (delete the rows without one)",
        )
    lines = [tabular.line_of(cells, i) for i in range(len(cells))]
    return [
        _informative(encode.to_codes(seq, str(path), line), path, f"{line}, column {column!r}")
        for line, seq in zip(lines, cells, strict=True)
    ]


def _informative(codes: np.ndarray, source: str | Path, where: str) -> np.ndarray:
    """``codes``, unless no base is A, C, G or T: an all-N sequence is no example of its class."""
    if not (codes < len(encode.BASES)).any():
        raise InputError(
            source,
            where,
            f"the sequence has no A, C, G or T (only {', '.join(sorted(set(encode.decode(codes))))}); "
            "expected a DNA sequence with at least one base",
        )
    return codes


def fit_length(codes: np.ndarray, length: int) -> np.ndarray:
    """Centre-crop a longer sequence or N-pad a shorter one to ``length``."""
    if len(codes) >= length:
        start = (len(codes) - length) // 2
        return codes[start : start + length]
    left = (length - len(codes)) // 2
    return np.concatenate(
        [
            np.full(left, encode.N_CODE, np.uint8),
            codes,
            np.full(length - len(codes) - left, encode.N_CODE, np.uint8),
        ]
    )


def _records(job: DnaJob) -> Iterator[Record]:
    assert job.spec.sequences is not None, "from_sequence_files reads sequence files"
    for label, path in job.spec.sequences.items():
        fasta = open_fasta(path, job.index_dir / label)
        if not len(fasta.keys()):
            raise InputError(path, None, "no FASTA records found")
        for record in fasta.keys():
            if not len(fasta[record]):
                raise InputError(
                    path,
                    f"record {record!r}",
                    "has no sequence; expected lines of sequence after its '>' line",
                )
            codes = record_codes(fasta, path, record)
            yield str(path), record, label, _informative(codes, path, f"record {record!r}")


def _fit_all(records: list[Record], length: int, edge: str) -> tuple[pd.DataFrame, np.ndarray]:
    rows, codes, short = [], [], 0
    for source, record, label, seq in records:
        if len(seq) < length and edge == "drop":
            short += 1
            continue
        rows.append((source, record, label, len(seq)))
        codes.append(fit_length(seq, length))
    if short:
        log.info("dropped %d sequence(s) shorter than %d bp (edge: drop)", short, length)
    frame = pd.DataFrame(rows, columns=["source", "name", "label", "length"])
    return frame, np.stack(codes) if codes else np.empty((0, length), np.uint8)


def _emit_with_shuffles(job: DnaJob, labels: Labelling, frame: pd.DataFrame, codes: np.ndarray) -> None:
    """Write the sequences chunk by chunk, each chunk followed by its shuffles (``negatives: shuffle``)."""
    ambiguous = job.spec.ambiguous
    for part in chunks(len(frame), job.writer.shard_size):
        rows = frame.iloc[part].reset_index(drop=True)
        job.emit(rows, encode.one_hot(codes[part], ambiguous), labels)
        if job.spec.negatives.method == "shuffle":
            shuffled_rows, shuffled = job.shuffled(rows, codes[part], job.spec.negatives.label)
            job.emit(shuffled_rows, encode.one_hot(shuffled, ambiguous), labels)


def _dedupe_sequences(frame: pd.DataFrame, codes: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    frame = frame.assign(sequence_key=[row.tobytes() for row in codes], row=np.arange(len(frame)))
    kept = drop_duplicates(frame, ["sequence_key"])
    return kept.drop(columns=["sequence_key", "row"]), codes[kept["row"].to_numpy()]
