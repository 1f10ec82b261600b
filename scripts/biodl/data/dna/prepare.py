"""The DNA preparation step: inputs → one-hot shards + metadata.

Contract (``prepare_dna``): from one dataset's config (defaults filled by the schema) write
- ``shards/{split}-{k:05d}.x.npy``: ``uint8`` (n, length, 4) one-hot, A C G T, written shard by
  shard so memory stays bounded by one shard and one chromosome;
- ``shards/{split}-{k:05d}.y.npy``: ``float32`` (n, T) labels (binary: 1 = positive class;
  multiclass: one-hot over ``classes``; multilabel: one column per label column);
- ``metadata.tsv``: split, shard, offset, source, name, chrom, start, end, strand, label — in
  shard order, so predictions can be traced back to their interval or record;
- ``dataset.json``: task, classes, targets, input shape, ambiguous mode, per-split shards and
  counts (written last: its presence means the dataset is complete).

Inputs (exactly one): ``genome`` + ``regions`` (class → BED/narrowPeak), ``sequences`` (class →
FASTA of sequences), or ``table`` (CSV/TSV with a sequence column and label columns).
Classes: the negative label first when negatives are generated, then the configured classes in
config order; with two classes the task is binary and the second class is the positive one.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from biodl.core.errors import InputError
from biodl.core.files import atomic_dir, write_json
from biodl.core.vocabulary import SPLITS
from biodl.data import splits, tabular
from biodl.data.dna import encode
from biodl.data.dna.background import candidate_starts, dinucleotide_shuffle, match_gc
from biodl.data.dna.bed import read_bed
from biodl.data.dna.fasta import open_fasta
from biodl.data.dna.windows import drop_duplicates, gather, make_windows, one_hot_windows
from biodl.data.shards import ShardWriter, close_dataset, writer_for

log = logging.getLogger(__name__)


def prepare_dna(
    name: str, spec: dict[str, Any], seed: int, dataset_json: Path, metadata_tsv: Path, shards_dir: Path
) -> dict[str, Any]:
    """Prepare one DNA dataset; see the module docstring. Returns the dataset description."""
    rng = np.random.default_rng(seed)
    key = f"datasets.{name}"
    with atomic_dir(shards_dir) as tmp_shards, tempfile.TemporaryDirectory() as index_dir:
        writer = writer_for("dna", tmp_shards, spec["shard_size"])
        if "genome" in spec:
            classes, task = _classes(spec, list(spec["regions"]))
            _from_genome(spec, key, classes, rng, writer, Path(index_dir))
        elif "sequences" in spec:
            classes, task = _classes(spec, list(spec["sequences"]))
            _from_sequence_files(spec, key, classes, seed, rng, writer, Path(index_dir))
        else:
            classes, task = _from_table(spec, seed, rng, writer)
        targets = (
            spec["table"]["label_columns"]
            if task == "regression"
            else [classes[1]]
            if task == "binary"
            else classes
        )
        description = close_dataset(
            writer,
            {
                "name": name,
                "modality": "dna",
                "task": task,
                "classes": classes,
                "targets": targets,
                "input_shape": [spec["length"], 4],
                "ambiguous": spec["ambiguous"],
                "seed": seed,
            },
            _inputs(spec),
            metadata_tsv,
        )
    write_json(description, dataset_json)
    return description


def _inputs(spec: dict[str, Any]) -> str:
    """The user's files the examples come from, as written in the config (for messages)."""
    if "genome" in spec:
        return ", ".join(map(str, spec["regions"].values()))
    if "sequences" in spec:
        return ", ".join(map(str, spec["sequences"].values()))
    return str(spec["table"]["path"])


def _classes(spec: dict[str, Any], configured: list[str]) -> tuple[list[str], str]:
    negative = spec["negatives"]
    classes = ([negative["label"]] if negative["method"] != "none" else []) + configured
    if len(set(classes)) != len(classes):
        raise InputError(
            "config", "negatives.label", f"negative label {negative['label']!r} is also a configured class"
        )
    if len(classes) < 2:
        raise InputError(
            "config", "negatives", "a single class needs negatives (method: shuffle or gc_matched)"
        )
    return classes, _task(classes)


def _task(classes: list[str]) -> str:
    return "binary" if len(classes) == 2 else "multiclass"


def _labels_to_y(labels: np.ndarray, classes: list[str], task: str) -> np.ndarray:
    if task == "binary":
        return (labels == classes[1]).astype(np.float32)[:, None]
    index = {c: i for i, c in enumerate(classes)}
    return np.eye(len(classes), dtype=np.float32)[[index[label] for label in labels]]


def _emit(
    writer: ShardWriter,
    rows: pd.DataFrame,
    x: np.ndarray,
    classes: list[str],
    task: str,
    y: np.ndarray | None = None,
) -> None:
    """Hand one-hot sequences ``x`` (n, L, 4) and their labels, split by split, to the writer."""
    if y is None:
        y = _labels_to_y(rows["label"].to_numpy(), classes, task)
    splits_of_rows = rows["split"].to_numpy()  # compared as a NumPy array: pandas adds overhead per call
    for split in SPLITS:
        mask = splits_of_rows == split
        if mask.all():  # the usual case (rows come sorted by position): no copy
            writer.add(split, x, y, rows)
        elif mask.any():
            writer.add(split, x[mask], y[mask], rows.loc[mask])


def _shuffled(
    rows: pd.DataFrame, codes: np.ndarray, ratio: int, label: str, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """``ratio`` dinucleotide shuffles of every row, which inherit the row's split."""
    repeated = rows.loc[rows.index.repeat(ratio)].reset_index(drop=True)
    copy = np.tile(np.arange(ratio), len(rows))
    shuffled = (
        np.stack([dinucleotide_shuffle(codes[i // ratio], rng) for i in range(len(repeated))])
        if len(repeated)
        else codes[:0]
    )
    repeated = repeated.assign(
        source="dinucleotide_shuffle",
        label=label,
        name=repeated["name"].astype(str) + "_shuffle" + copy.astype(str),
    )
    return repeated, shuffled


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _writer_parts(split_of_rows: np.ndarray, writer: ShardWriter) -> Iterator[slice]:
    """Consecutive parts of rows of one split each, none more than the writer has room for in
    that split's shard when the part is reached (read lazily: the caller adds each part first)."""
    bounds = [0, *(np.flatnonzero(split_of_rows[1:] != split_of_rows[:-1]) + 1), len(split_of_rows)]
    for start, stop in zip(bounds[:-1], bounds[1:]):
        while start < stop:
            end = min(stop, start + writer.room(split_of_rows[start]))
            yield slice(start, end)
            start = end


# --- genome FASTA + BED / narrowPeak -------------------------------------------------------


def _from_genome(
    spec: dict[str, Any],
    key: str,
    classes: list[str],
    rng: np.random.Generator,
    writer: ShardWriter,
    index_dir: Path,
) -> None:
    genome_path = spec["genome"]
    fasta = open_fasta(genome_path, index_dir)
    chrom_sizes = {chrom: len(fasta[chrom]) for chrom in fasta.keys()}
    length = spec["length"]
    regions = pd.concat(
        [
            read_bed(path, chrom_sizes).assign(label=cls, source=str(path))
            for cls, path in spec["regions"].items()
        ],
        ignore_index=True,
    )
    if regions.empty:
        raise InputError(
            _inputs(spec),
            None,
            "no regions found (only comments, header or blank lines); expected "
            "one region per line: chrom, start, end (tab-separated)",
        )
    windows = make_windows(regions, length, chrom_sizes, spec["anchor"], spec["edge"])
    n_regions = len(regions)
    del regions  # the windows carry on what is needed: hold one table of rows, not two
    past_end = n_regions - len(windows)
    windows["strand"] = windows["strand"].replace(".", "+")
    windows = drop_duplicates(windows, ["chrom", "win_start", "strand"])
    duplicates = n_regions - past_end - len(windows)
    holdouts = splits.parse_holdouts(
        spec["split"]["validation"], spec["split"]["test"], chrom_sizes, f"{key}.split"
    )
    windows["split"] = splits.assign_by_location(
        windows["chrom"].to_numpy(), windows["win_start"].to_numpy(), windows["win_end"].to_numpy(), holdouts
    )
    straddling = int((windows["split"] == "").sum())
    windows = windows.loc[windows["split"] != ""].reset_index(drop=True)
    if windows.empty:
        raise InputError(
            _inputs(spec),
            None,
            f"every region was filtered out: of {n_regions}, {past_end} have a "
            f"{length} bp window running past a chromosome end (edge: {spec['edge']}), "
            f"{duplicates} are duplicates or listed under two classes, {straddling} "
            f"straddle a hold-out boundary; expected at least one window to remain "
            f"(a shorter length or edge: pad keeps windows at chromosome ends)",
        )
    unnamed = windows["name"] == "."
    windows.loc[unnamed, "name"] = (
        windows.loc[unnamed, "chrom"] + ":" + windows.loc[unnamed, "win_start"].astype(str)
    )
    windows = windows.assign(start=windows["win_start"], end=windows["win_end"])
    method = spec["negatives"]["method"]
    if method == "gc_matched":
        windows = pd.concat(
            [windows, _gc_matched(spec, fasta, chrom_sizes, windows, holdouts, rng)], ignore_index=True
        )
    # Sorted, so each chromosome is one block of rows; only the columns the metadata keeps stay.
    windows = windows.sort_values(["chrom", "start", "strand", "label"], kind="stable", ignore_index=True)
    windows = windows[[*writer.row_columns, "split"]]
    chroms = windows["chrom"].to_numpy()
    split_of_rows = windows["split"].to_numpy()
    for chrom in tqdm(list(chrom_sizes), desc="chromosomes", unit="chrom", mininterval=5):
        first, last = (
            np.searchsorted(chroms, chrom, side="left"),
            np.searchsorted(chroms, chrom, side="right"),
        )
        if first == last:
            continue
        chrom_codes = encode.to_codes(fasta[chrom][:], str(genome_path), chrom)
        # Shuffles follow their chunk's rows in the shards, so that order keeps fixed chunks;
        # otherwise each part fills what its split's shard has room for, encoded in place.
        parts = (
            _chunks(last - first, writer.shard_size)
            if method == "shuffle"
            else _writer_parts(split_of_rows[first:last], writer)
        )
        for part in parts:
            rows = windows.iloc[first + part.start : first + part.stop].reset_index(drop=True)
            starts = rows["start"].to_numpy()
            minus = rows["strand"].to_numpy() == "-"
            slot = (
                None
                if method == "shuffle"
                else writer.slot(rows["split"].iat[0], len(rows), (length, 4), np.uint8)
            )
            x = one_hot_windows(chrom_codes, starts, length, spec["ambiguous"], out=slot)
            x[minus] = encode.reverse_complement(x[minus])
            _emit(writer, rows, x, classes, _task(classes))
            if method == "shuffle":
                codes = gather(chrom_codes, starts, length, encode.N_CODE)
                codes[minus] = encode.reverse_complement_codes(codes[minus])
                shuffled_rows, shuffled = _shuffled(rows, codes, spec["negatives"]["ratio"], classes[0], rng)
                _emit(
                    writer,
                    shuffled_rows,
                    encode.one_hot(shuffled, spec["ambiguous"]),
                    classes,
                    _task(classes),
                )


def _gc_matched(
    spec: dict[str, Any],
    fasta: Any,
    chrom_sizes: dict[str, int],
    positives: pd.DataFrame,
    holdouts: dict[str, list[splits.Region]],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Background windows GC-matched to the positives, split by split, away from positives."""
    settings = spec["negatives"]
    length = spec["length"]
    stride = settings["stride"] or max(1, length // 4)
    blacklist = read_bed(settings["blacklist"]) if settings["blacklist"] else None
    positive_gc = np.empty(len(positives))
    candidates = []
    for chrom in chrom_sizes:
        codes = encode.to_codes(fasta[chrom][:], str(spec["genome"]), chrom)
        excluded = np.zeros(len(codes), dtype=bool)
        on_chrom = (positives["chrom"] == chrom).to_numpy()
        for start, end in positives.loc[on_chrom, ["start", "end"]].itertuples(index=False):
            excluded[max(start, 0) : end] = True
        if blacklist is not None:
            for start, end in blacklist.loc[blacklist["chrom"] == chrom, ["start", "end"]].itertuples(
                index=False
            ):
                excluded[start:end] = True
        if on_chrom.any():
            windows = gather(codes, positives.loc[on_chrom, "start"].to_numpy(), length, encode.N_CODE)
            positive_gc[on_chrom] = encode.gc_fraction(windows)
        starts, gc = candidate_starts(codes, excluded, length, stride, settings["max_ambiguous"])
        split = splits.assign_by_location(
            np.full(len(starts), chrom, dtype=object), starts, starts + length, holdouts
        )
        candidates.append(pd.DataFrame({"chrom": chrom, "start": starts, "gc": gc, "split": split}))
    pool = pd.concat(candidates, ignore_index=True)
    pool = pool.loc[pool["split"] != ""]
    chosen = []
    for split in SPLITS:
        in_split = (positives["split"] == split).to_numpy()
        split_pool = pool.loc[pool["split"] == split].reset_index(drop=True)
        picked = match_gc(
            positive_gc[in_split], split_pool["gc"].to_numpy(), settings["ratio"], settings["gc_bins"], rng
        )
        chosen.append(split_pool.iloc[picked])
        log.info(
            "%s: GC of positives %.3f ± %.3f, of %d background windows %.3f ± %.3f",
            split,
            positive_gc[in_split].mean(),
            positive_gc[in_split].std(),
            len(picked),
            split_pool["gc"].to_numpy()[picked].mean() if len(picked) else float("nan"),
            split_pool["gc"].to_numpy()[picked].std() if len(picked) else float("nan"),
        )
    background = pd.concat(chosen, ignore_index=True)
    return pd.DataFrame(
        {
            "chrom": background["chrom"],
            "start": background["start"],
            "end": background["start"] + length,
            "strand": "+",
            "label": settings["label"],
            "source": "gc_matched",
            "split": background["split"],
            "name": background["chrom"] + ":" + background["start"].astype(str),
        }
    )


# --- FASTA files of sequences, one per class -----------------------------------------------


def _fit_length(codes: np.ndarray, length: int) -> np.ndarray:
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


def _records(spec: dict[str, Any], index_dir: Path) -> Iterator[tuple[str, str, str, np.ndarray]]:
    for label, path in spec["sequences"].items():
        fasta = open_fasta(path, index_dir / label)
        if not len(fasta.keys()):
            raise InputError(path, None, "no FASTA records found")
        for record in fasta.keys():
            sequence = fasta[record][:]
            if not len(sequence):
                raise InputError(
                    path,
                    f"record {record!r}",
                    "has no sequence; expected lines of sequence after its '>' line",
                )
            yield str(path), record, label, encode.to_codes(sequence, str(path), record)


def _fit_all(
    records: list[tuple[str, str, str, np.ndarray]], length: int, edge: str
) -> tuple[pd.DataFrame, np.ndarray]:
    rows, codes, short = [], [], 0
    for source, record, label, seq in records:
        if len(seq) < length and edge == "drop":
            short += 1
            continue
        rows.append((source, record, label))
        codes.append(_fit_length(seq, length))
    if short:
        log.info("dropped %d sequence(s) shorter than %d bp (edge: drop)", short, length)
    frame = pd.DataFrame(rows, columns=["source", "name", "label"])
    return frame, np.stack(codes) if codes else np.empty((0, length), np.uint8)


def _from_sequence_files(
    spec: dict[str, Any],
    key: str,
    classes: list[str],
    seed: int,
    rng: np.random.Generator,
    writer: ShardWriter,
    index_dir: Path,
) -> None:
    frame, codes = _fit_all(list(_records(spec, index_dir)), spec["length"], spec["edge"])
    frame, codes = _dedupe_sequences(frame, codes)
    if frame.empty:
        raise InputError(
            _inputs(spec),
            None,
            f"every sequence was filtered out (shorter than length {spec['length']} "
            f"with edge: {spec['edge']}, or duplicates); expected at least one to remain "
            "(edge: pad keeps short sequences)",
        )
    if spec["negatives"]["method"] == "gc_matched":
        raise InputError(
            "config", f"{key}.negatives.method", "gc_matched needs a genome; use shuffle for sequence files"
        )
    frame = frame.assign(chrom=".", start=-1, end=-1, strand="+")
    frame["split"] = splits.stratified_random(
        frame["label"].to_numpy(),
        spec["split"]["validation_fraction"],
        spec["split"]["test_fraction"],
        seed,
        key,
    )
    _emit_with_shuffles(spec, frame, codes, classes, rng, writer)


def _emit_with_shuffles(
    spec: dict[str, Any],
    frame: pd.DataFrame,
    codes: np.ndarray,
    classes: list[str],
    rng: np.random.Generator,
    writer: ShardWriter,
) -> None:
    task = _task(classes)
    for part in _chunks(len(frame), writer.shard_size):
        rows = frame.iloc[part].reset_index(drop=True)
        _emit(writer, rows, encode.one_hot(codes[part], spec["ambiguous"]), classes, task)
        if spec["negatives"]["method"] == "shuffle":
            shuffled_rows, shuffled = _shuffled(
                rows, codes[part], spec["negatives"]["ratio"], classes[0], rng
            )
            _emit(writer, shuffled_rows, encode.one_hot(shuffled, spec["ambiguous"]), classes, task)


def _dedupe_sequences(frame: pd.DataFrame, codes: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    frame = frame.assign(sequence_key=[row.tobytes() for row in codes], row=np.arange(len(frame)))
    kept = drop_duplicates(frame, ["sequence_key"])
    return kept.drop(columns=["sequence_key", "row"]), codes[kept["row"].to_numpy()]


# --- table with a sequence column and label columns ----------------------------------------


def _from_table(
    spec: dict[str, Any], seed: int, rng: np.random.Generator, writer: ShardWriter
) -> tuple[list[str], str]:
    """Sequences from a table: one column of class names, several 0/1 columns, or numbers (regression)."""
    settings = spec["table"]
    path = Path(settings["path"])
    table = tabular.read_table(path, "sequence table")
    label_columns = settings["label_columns"]
    tabular.require_columns(table, [settings["sequence_column"], *label_columns], path)
    lines = [tabular.line_of(table, i) for i in range(len(table))]
    sequences = [
        encode.to_codes(seq, str(path), line) for line, seq in zip(lines, table[settings["sequence_column"]])
    ]
    if settings["task"] == "regression" or len(label_columns) > 1:
        task = "regression" if settings["task"] == "regression" else "multilabel"
        if spec["negatives"]["method"] != "none":
            raise InputError("config", "negatives.method", f"negatives cannot be generated for {task} tables")
        y, classes, _, labels = tabular.parse_labels(table, label_columns, task, None, path)
    else:
        column = table[label_columns[0]]
        numbers = pd.to_numeric(column, errors="coerce")
        if numbers.notna().all() and not numbers.isin([0, 1]).all():
            raise InputError(
                path,
                f"column {label_columns[0]!r}",
                f"holds continuous values ({numbers.nunique()} distinct); expected class names or 0/1, "
                "or set table.task: regression to predict the numbers",
            )
        _, found, _, labels = tabular.parse_labels(
            table, label_columns, "multiclass" if column.nunique() > 2 else "binary", None, path
        )
        classes, task = _classes(spec, found)
    records = [(str(path), line, label, seq) for line, label, seq in zip(lines, labels, sequences)]
    frame, codes = _fit_all(records, spec["length"], spec["edge"])
    frame = frame.assign(chrom=".", start=-1, end=-1, strand="+")
    if task in ("multilabel", "regression"):
        kept = frame["name"].map({line: i for i, line in enumerate(lines)}).to_numpy()
        strata = splits.label_strata(task, y[kept], frame["label"].to_numpy())
        frame["split"] = splits.stratified_random(
            strata, spec["split"]["validation_fraction"], spec["split"]["test_fraction"], seed, str(path)
        )
        _emit(writer, frame, encode.one_hot(codes, spec["ambiguous"]), classes, task, y=y[kept])
        return classes, task
    frame, codes = _dedupe_sequences(frame, codes)
    frame["split"] = splits.stratified_random(
        frame["label"].to_numpy(),
        spec["split"]["validation_fraction"],
        spec["split"]["test_fraction"],
        seed,
        str(path),
    )
    _emit_with_shuffles(spec, frame, codes, classes, rng, writer)
    return classes, task
