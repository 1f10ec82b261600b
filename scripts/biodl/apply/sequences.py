"""Scoring sequences (a FASTA or a table) and genome regions with a trained DNA model.

Contract:
- ``score_fasta(model, path, index_dir)``: every record of a FASTA of sequences (read as
  preparation reads sequence files: ``biodl.data.dna.fasta``), each of exactly the model's input
  length (else ``InputError`` naming the record and both lengths; an empty file or record is
  refused), → a frame ``id`` + one column per task, in file order.
- ``score_table(model, path, columns)``: every row of a CSV/TSV of sequences (read and checked
  as preparation reads a DNA table: ``biodl.data.tabular.read_table`` and
  ``biodl.data.dna.from_sequences.table_sequences``), ``columns`` naming its id and sequence
  columns; every id given once, every sequence of exactly the model's input length (else
  ``InputError`` naming the line and column) → a frame ``id`` + one column per task, in file
  order.
- ``score_regions(model, path, genome, index_dir)``: every record of a BED or narrowPeak file
  (``biodl.data.dna.bed.read_bed``: the same checks and messages as preparation) → the window of
  the model's input length centred on the region (base ``length // 2`` of the window is the
  region's centre base ``(start + end) // 2``, whatever the region's length; a narrowPeak summit
  is not used), read on the region's strand (``.`` as ``+``). A chromosome the genome lacks
  (with a ``chr``-prefix hint), a region ending past its chromosome, or a window running past
  either chromosome end raise ``InputError`` naming the file and line. Result: ``chrom``,
  ``start``, ``end``, ``name``, ``strand`` (the region as given), ``window_start``,
  ``window_end``, then one column per task, in file order.
- ``write_scores_bed(scores, targets, probabilities, path)`` writes the regions' scores as BED6+:
  a ``#`` header line naming the columns, then chrom, start, end, name, score, strand and one
  column per task. The BED score (0-1000, what browsers shade by) is ``round(1000 × the largest
  task probability)`` for classification; regression values have no fixed range, so it is 0
  there and the values are in the task columns.
Scores are ``TrainedModel.predict``'s (strand averaging and ensembles as configured).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from biodl.apply.genome import GenomeCodes, centred_start, require_chromosome, require_window
from biodl.apply.trained import TrainedModel, require_length
from biodl.core.errors import InputError
from biodl.core.files import atomic_path
from biodl.data import tabular
from biodl.data.dna import encode
from biodl.data.dna.bed import read_bed
from biodl.data.dna.fasta import open_fasta, record_codes
from biodl.data.dna.from_genome import Genome
from biodl.data.dna.from_sequences import table_sequences

logger = logging.getLogger(__name__)

BED_COLUMNS = ["chrom", "start", "end", "name", "score", "strand"]


def score_fasta(
    model: TrainedModel, path: str | PathLike[str], index_dir: str | PathLike[str]
) -> pd.DataFrame:
    """Scores of every sequence of a FASTA file (see the module contract)."""
    fasta = open_fasta(path, index_dir)
    names = list(fasta.keys())
    if not names:
        raise InputError(
            path, None, "no FASTA records found; expected '>name' lines, each followed by a sequence"
        )
    codes = np.empty((len(names), model.length), np.uint8)
    for row, name in enumerate(names):
        record = record_codes(fasta, path, name)
        require_length(record, model, path, f"record {name!r}")
        codes[row] = record
    frame = pd.DataFrame({"id": names})
    logger.info("scoring %d sequences of %s", len(names), path)
    return _with_scores(frame, model, model.predict(codes))


@dataclass(frozen=True)
class SequenceColumns:
    """The columns of a table of sequences to score (``apply.<target>.id_column`` and
    ``sequence_column``)."""

    id: str
    sequence: str


def score_table(model: TrainedModel, path: str | PathLike[str], columns: SequenceColumns) -> pd.DataFrame:
    """Scores of every row of a table of sequences (see the module contract)."""
    path = Path(path)
    table = tabular.read_table(path, "sequence table")
    tabular.require_columns(table, [columns.id, columns.sequence], path)
    ids = _table_ids(table, columns.id, path)
    codes = np.empty((len(table), model.length), np.uint8)
    for row, sequence in enumerate(table_sequences(table, columns.sequence, path)):
        where = f"{tabular.line_of(table, row)}, column {columns.sequence!r}"
        require_length(sequence, model, path, where)
        codes[row] = sequence
    logger.info("scoring %d sequences of %s", len(table), path)
    return _with_scores(pd.DataFrame({"id": ids}), model, model.predict(codes))


def _table_ids(table: pd.DataFrame, column: str, path: Path) -> list[str]:
    """The id of every row: none missing, none given twice (the scores would not say which)."""
    cells = tabular.required_cells(table, column, path, "an id")
    repeated = np.flatnonzero(cells.duplicated().to_numpy())
    if len(repeated):
        first = int(repeated[0])
        earlier = int(np.flatnonzero((cells == cells.iloc[first]).to_numpy())[0])
        raise InputError(
            path,
            f"{tabular.line_of(cells, first)}, column {column!r}",
            f"id {cells.iloc[first]!r} is given already on {tabular.line_of(cells, earlier)}; "
            "expected each id once",
        )
    return [str(cell) for cell in cells]


def score_regions(
    model: TrainedModel,
    path: str | PathLike[str],
    genome_path: str | PathLike[str],
    index_dir: str | PathLike[str],
) -> pd.DataFrame:
    """Scores of the windows centred on every region of a BED/narrowPeak file (see the contract)."""
    genome = Genome.open(genome_path, index_dir)
    regions = read_bed(path)
    starts = centred_start((regions["start"].to_numpy() + regions["end"].to_numpy()) // 2, model.length)
    for row in regions.itertuples():
        where = f"line {row.line}"
        require_chromosome(genome.sizes, row.chrom, path, where)
        size = genome.sizes[row.chrom]
        if row.end > size:
            raise InputError(path, where, f"end {row.end} is past the end of {row.chrom} (length {size})")
        require_window(genome.sizes, row.chrom, int(starts[row.Index]), model.length, path, where)
    codes = np.empty((len(regions), model.length), np.uint8)
    chromosomes = GenomeCodes(genome)
    for chrom, rows in regions.groupby("chrom", sort=False).groups.items():
        index = np.asarray(rows)
        sequence = chromosomes.codes(str(chrom))
        windows = np.lib.stride_tricks.sliding_window_view(sequence, model.length)[starts[index]]
        minus = (regions["strand"].to_numpy()[index] == "-")[:, None]
        codes[index] = np.where(minus, encode.reverse_complement_codes(windows), windows)
    frame = regions[["chrom", "start", "end", "name", "strand"]].assign(
        window_start=starts, window_end=starts + model.length
    )
    logger.info("scoring %d regions of %s over %s", len(regions), path, genome_path)
    return _with_scores(frame, model, model.predict(codes))


def _with_scores(frame: pd.DataFrame, model: TrainedModel, scores: np.ndarray) -> pd.DataFrame:
    return pd.concat(
        [frame.reset_index(drop=True), pd.DataFrame(scores, columns=list(model.targets))], axis=1
    )


def write_scores_bed(
    scores: pd.DataFrame, targets: tuple[str, ...], probabilities: bool, path: str | PathLike[str]
) -> None:
    """Regions' scores as BED6+ (see the module contract), written atomically."""
    values = scores[list(targets)].to_numpy(dtype=np.float64)
    bed = scores[["chrom", "start", "end", "name"]].copy()
    bed["score"] = np.rint(1000 * values.max(axis=1)).astype(np.int64) if probabilities else 0
    bed["strand"] = scores["strand"]
    bed = pd.concat([bed, scores[list(targets)]], axis=1)
    with atomic_path(Path(path)) as temporary:
        with open(temporary, "w") as handle:
            handle.write("#" + "\t".join(BED_COLUMNS + list(targets)) + "\n")
            bed.to_csv(handle, sep="\t", header=False, index=False, lineterminator="\n")
