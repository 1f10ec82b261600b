"""biodl.apply.sequences: a FASTA or a table of sequences and BED regions over a genome, scored by hand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from apply_fixtures import centre_model, hand_score

from biodl.apply.sequences import SequenceColumns, score_fasta, score_regions, score_table, write_scores_bed
from biodl.apply.trained import TrainedModel, load_trained
from biodl.core.errors import InputError
from biodl.data.dna import encode

LENGTH = 40
COMPLEMENT = str.maketrans("ACGT", "TGCA")


@pytest.fixture
def model(make_dataset: Callable[..., Path], tmp_path: Path) -> TrainedModel:
    return load_trained(make_dataset(length=LENGTH), [centre_model(LENGTH, tmp_path / "m.keras")], True)


@pytest.fixture
def genome(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    rng = np.random.default_rng(3)
    chroms = {"chr1": "".join(rng.choice(list("ACGT"), 300)), "chr2": "".join(rng.choice(list("ACGT"), 120))}
    text = "".join(
        f">{name}\n" + "\n".join(s[i : i + 60] for i in range(0, len(s), 60)) + "\n"
        for name, s in chroms.items()
    )
    (tmp_path / "genome.fa").write_text(text)
    return tmp_path / "genome.fa", chroms


def test_fasta_sequences_are_scored_in_file_order(model: TrainedModel, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    sequences = {f"s{k}": "".join(rng.choice(list("ACGT"), LENGTH)) for k in range(12)}
    (tmp_path / "s.fa").write_text("".join(f">{n}\n{s}\n" for n, s in sequences.items()))
    scores = score_fasta(model, tmp_path / "s.fa", tmp_path / "index")
    assert scores.columns.tolist() == ["id", "bound"]
    assert scores["id"].tolist() == list(sequences)
    np.testing.assert_allclose(scores["bound"], [hand_score(s, True) for s in sequences.values()], rtol=1e-5)


def test_a_sequence_of_another_length_is_refused_with_both_lengths(
    model: TrainedModel, tmp_path: Path
) -> None:
    (tmp_path / "s.fa").write_text(">ok\n" + "A" * LENGTH + "\n>short\n" + "C" * 30 + "\n")
    with pytest.raises(
        InputError, match=r"s\.fa, record 'short': sequence is 30 bases long, the model takes 40"
    ):
        score_fasta(model, tmp_path / "s.fa", tmp_path / "index")


def test_a_table_of_sequences_is_scored_as_direct_predictions_keeping_its_ids(
    model: TrainedModel, tmp_path: Path
) -> None:
    rng = np.random.default_rng(6)
    sequences = {f"enh{k}": "".join(rng.choice(list("ACGTN"), LENGTH)) for k in range(9)}
    table = pd.DataFrame({"note": "x", "seq": list(sequences.values()), "name": list(sequences)})
    table.to_csv(tmp_path / "s.csv", index=False)
    scores = score_table(model, tmp_path / "s.csv", SequenceColumns(id="name", sequence="seq"))
    assert scores.columns.tolist() == ["id", "bound"] and scores["id"].tolist() == list(sequences)
    codes = np.stack([encode.to_codes(s, "s", "") for s in sequences.values()])
    np.testing.assert_allclose(scores["bound"], model.predict(codes)[:, 0], rtol=1e-6)
    (tmp_path / "s.fa").write_text("".join(f">{n}\n{s}\n" for n, s in sequences.items()))
    pd.testing.assert_frame_equal(scores, score_fasta(model, tmp_path / "s.fa", tmp_path / "index"))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            "a\t{ok}\nb\t{short}\n",
            r"s\.tsv, line 3, column 'seq': sequence is 30 bases long, the model takes 40",
        ),
        ("a\t{ok}\nb\t{bad}\n", r"s\.tsv, record 'line 3', position 40: invalid character 'Z'"),
        ("a\t{ok}\nNA\t{ok}\n", r"s\.tsv, line 3, column 'name': expected an id in every row, found 'NA'"),
        ("a\t{ok}\na\t{ok}\n", r"line 3, column 'name': id 'a' is given already on line 2"),
        ("a\t{ok}\nb\t\n", r"line 3, column 'seq': no sequence"),
    ],
)
def test_a_bad_row_of_a_table_of_sequences_is_named(
    model: TrainedModel, tmp_path: Path, rows: str, message: str
) -> None:
    text = rows.format(ok="A" * LENGTH, short="C" * 30, bad="A" * 39 + "Z")
    (tmp_path / "s.tsv").write_text("name\tseq\n" + text)
    with pytest.raises(InputError, match=message):
        score_table(model, tmp_path / "s.tsv", SequenceColumns(id="name", sequence="seq"))


def test_regions_are_scored_on_windows_centred_on_them_and_on_their_strand(
    model: TrainedModel, genome: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    path, chroms = genome
    # A 10-base region, a 1-base one, a 101-base one on the minus strand, a narrowPeak-like line.
    lines = ["chr1\t100\t110\ta\t0\t+", "chr2\t60\t61\tb", "chr1\t150\t251\tc\t0\t-", "chr1\t30\t70\td\t5\t."]
    lines.append("chr2\t100\t101\tedge")  # a window that fits chr2 (120 bases) exactly
    (tmp_path / "r.bed").write_text("track name=x\n" + "\n".join(lines) + "\n")
    scores = score_regions(model, tmp_path / "r.bed", path, tmp_path / "index")
    assert scores.columns.tolist() == [
        "chrom", "start", "end", "name", "strand", "window_start", "window_end", "bound",
    ]  # fmt: skip
    assert scores["window_start"].tolist() == [105 - 20, 60 - 20, 200 - 20, 50 - 20, 80]
    expected = []
    for row in scores.itertuples():
        window = chroms[row.chrom][row.window_start : row.window_end]
        expected.append(hand_score(window.translate(COMPLEMENT)[::-1] if row.strand == "-" else window, True))
    np.testing.assert_allclose(scores["bound"], expected, rtol=1e-5)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1\t100\t110", r"r\.bed, line 1: chromosome '1' is not in the genome; the genome calls it 'chr1'"),
        ("chr2\t100\t130", r"r\.bed, line 1: end 130 is past the end of chr2 \(length 120\)"),
        ("chr2\t101\t102", r"r\.bed, line 1: the 40-base window .*chr2:81-121\) runs past the end of chr2"),
        ("chr2\t110\t120", r"r\.bed, line 1: the 40-base window .*runs past the end of chr2"),
        ("chr1\t0\t10", r"r\.bed, line 1: the 40-base window .*runs past the start of chr1"),
        ("chr1\t50\t40", r"r\.bed, line 1: end must be greater than start"),
    ],
)
def test_bad_regions_are_refused_with_their_line(
    model: TrainedModel, genome: tuple[Path, dict[str, str]], tmp_path: Path, line: str, message: str
) -> None:
    (tmp_path / "r.bed").write_text(line + "\n")
    with pytest.raises(InputError, match=message):
        score_regions(model, tmp_path / "r.bed", genome[0], tmp_path / "index")


def test_the_bed_has_six_columns_then_the_tasks(tmp_path: Path) -> None:
    scores = pd.DataFrame(
        {"chrom": ["chr1", "chr2"], "start": [5, 7], "end": [9, 20], "name": ["a", "."], "strand": ["+", "."],
         "window_start": [0, 0], "window_end": [40, 40], "x": [0.25, 0.9], "y": [0.5, 0.1]}
    )  # fmt: skip
    write_scores_bed(scores, ("x", "y"), True, tmp_path / "s.bed")
    lines = (tmp_path / "s.bed").read_text().splitlines()
    assert lines[0] == "#chrom\tstart\tend\tname\tscore\tstrand\tx\ty"
    assert lines[1] == "chr1\t5\t9\ta\t500\t+\t0.25\t0.5"
    assert lines[2] == "chr2\t7\t20\t.\t900\t.\t0.9\t0.1"
    write_scores_bed(scores, ("x", "y"), False, tmp_path / "r.bed")
    assert (tmp_path / "r.bed").read_text().splitlines()[1].split("\t")[4] == "0"
