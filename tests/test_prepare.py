import json

import numpy as np
import pandas as pd
import pyfaidx
import pytest
from test_config import SCHEMA

from biodl.config.checks import validate_config
from biodl.core import files
from biodl.core.errors import InputError
from biodl.data.dna import encode
from biodl.data.dna.prepare import prepare_dna

MOTIF = "CCGCGTGGCGC"


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Config paths are relative to the working directory, as in a Snakemake run."""
    monkeypatch.chdir(tmp_path)


def fasta_text(records):
    return "".join(
        f">{name}\n" + "\n".join(seq[i : i + 60] for i in range(0, len(seq), 60)) + "\n"
        for name, seq in records
    )


@pytest.fixture
def genome(tmp_path):
    rng = np.random.default_rng(5)
    chroms = {f"chr{i}": "".join(rng.choice(list("ACGTacgt"), 20000)) for i in (1, 2, 3)}
    (tmp_path / "genome.fa").write_text(fasta_text(chroms.items()))
    rows = []
    for chrom in chroms:
        for k, start in enumerate(range(500, 19000, 600)):
            strand = "-" if k % 3 == 0 else "+"
            rows.append(f"{chrom}\t{start}\t{start + 100}\t{chrom}_p{k}\t0\t{strand}")
    rows.append("chr1\t10\t60\tedge\t0\t+")  # its 200 bp window runs off the chromosome start
    (tmp_path / "peaks.bed").write_text("\n".join(rows) + "\n")
    return tmp_path


def run(tmp_path, dataset, seed=3):
    # A baseline fits sequences of any length (some cases here are a few bases long).
    models = {"m": {"kind": "baseline", "estimator": "linear"}}
    config = validate_config({"seed": seed, "datasets": {"d": dataset}, "models": models}, SCHEMA, tmp_path)
    out = tmp_path / "out"
    prepare_dna(
        "d", config["datasets"]["d"], seed, out / "dataset.json", out / "metadata.tsv", out / "shards"
    )
    return out, json.loads((out / "dataset.json").read_text()), pd.read_csv(out / "metadata.tsv", sep="\t")


def genome_dataset(**overrides):
    spec = {
        "modality": "dna",
        "genome": "genome.fa",
        "regions": {"peak": "peaks.bed"},
        "length": 200,
        "negatives": {"method": "gc_matched", "ratio": 2},
        "split": {"validation": ["chr2"], "test": ["chr3"]},
    }
    spec.update(overrides)
    return spec


def load_split(out, description, split):
    shards = description["splits"][split]["shards"]
    x = (
        np.concatenate([files.load_npy(out / f"{s}.x.npy") for s in shards])
        if shards
        else np.empty((0, 200, 4))
    )
    y = np.concatenate([files.load_npy(out / f"{s}.y.npy") for s in shards]) if shards else np.empty((0, 1))
    return x, y


def test_genome_windows_match_the_genome_on_both_strands(genome):
    out, description, metadata = run(genome, genome_dataset(shard_size=16))
    fasta = pyfaidx.Fasta(str(genome / "genome.fa"), sequence_always_upper=True)
    assert description["task"] == "binary" and description["classes"] == ["background", "peak"]
    assert "edge" not in set(metadata["name"])  # dropped at the chromosome start
    for split in ("train", "validation", "test"):
        x, y = load_split(out, description, split)
        rows = metadata[metadata["split"] == split]
        assert len(x) == len(rows) == description["splits"][split]["n"]
        assert x.dtype == np.uint8 and x.shape[1:] == (200, 4)
        assert len(description["splits"][split]["shards"]) > 1  # written shard by shard
        for one_hot, row, label in zip(x, rows.itertuples(), y[:, 0]):
            region = fasta[row.chrom][row.start : row.end]
            expected = region.reverse.complement.seq if row.strand == "-" else region.seq
            assert encode.decode(one_hot.argmax(-1)) == expected
            assert label == (row.label == "peak")


def test_chromosome_holdouts_do_not_leak_and_negatives_avoid_positives(genome):
    _, description, metadata = run(genome, genome_dataset())
    assert set(metadata.loc[metadata["split"] == "validation", "chrom"]) == {"chr2"}
    assert set(metadata.loc[metadata["split"] == "test", "chrom"]) == {"chr3"}
    assert set(metadata.loc[metadata["split"] == "train", "chrom"]) == {"chr1"}
    for split, counts in description["counts"].items():
        assert counts["background"] == 2 * counts["peak"]
    peaks = metadata[metadata["label"] == "peak"]
    background = metadata[metadata["label"] == "background"]
    for row in background.itertuples():
        same = peaks[peaks["chrom"] == row.chrom]
        assert not ((same["start"] < row.end) & (same["end"] > row.start)).any()


def test_same_seed_same_dataset_other_seed_other_negatives(genome):
    out, _, first = run(genome, genome_dataset())
    x1 = files.load_npy(out / "shards/train-00000.x.npy")
    _, _, again = run(genome, genome_dataset())
    np.testing.assert_array_equal(x1, files.load_npy(out / "shards/train-00000.x.npy"))
    pd.testing.assert_frame_equal(first, again)
    _, _, other = run(genome, genome_dataset(), seed=4)
    assert not first["start"].equals(other["start"])


def test_conflicting_labels_leave_an_empty_dataset_error(genome):
    with pytest.raises(InputError, match="every region was filtered out"):
        run(
            genome,
            genome_dataset(negatives={"method": "none"}, regions={"peak": "peaks.bed", "other": "peaks.bed"}),
        )


def test_edge_padding(genome):
    out, description, metadata = run(genome, genome_dataset(edge="pad"))
    row = metadata[metadata["name"] == "edge"].iloc[0]
    x, _ = load_split(out, description, row["split"])
    one_hot = x[metadata.index[metadata["split"] == row["split"]].get_loc(row.name)]
    assert row["start"] == -65 and one_hot[:65].sum() == 0 and (one_hot[65:].sum(-1) == 1).all()


def sequence_files(tmp_path, n=60):
    rng = np.random.default_rng(9)
    positives = []
    for i in range(n):
        seq = list("".join(rng.choice(list("ACGT"), 80)))
        seq[30 : 30 + len(MOTIF)] = MOTIF
        positives.append((f"pos{i}", "".join(seq).lower() if i % 2 else "".join(seq)))
    positives.append(("copy", positives[0][1]))  # a duplicate sequence
    positives.append(("short", "ACGT" * 10))  # 40 bp, padded to 80
    (tmp_path / "pos.fa").write_text(fasta_text(positives))
    return tmp_path


def test_sequence_files_with_shuffled_negatives_keep_shuffles_in_their_positives_split(tmp_path):
    sequence_files(tmp_path)
    out, description, metadata = run(
        tmp_path,
        {
            "modality": "dna",
            "sequences": {"bound": "pos.fa"},
            "length": 80,
            "edge": "pad",
            "ambiguous": "uniform",
            "negatives": {"method": "shuffle", "ratio": 2},
        },
    )
    assert description["ambiguous"] == "uniform" and description["input_shape"] == [80, 4]
    positives = metadata[metadata["label"] == "bound"]
    assert "copy" not in set(positives["name"]) and len(positives) == 61
    shuffles = metadata[metadata["source"] == "dinucleotide_shuffle"]
    assert len(shuffles) == 2 * len(positives)
    split_of = dict(zip(positives["name"], positives["split"]))
    for row in shuffles.itertuples():
        assert row.split == split_of[row.name.split("_shuffle")[0]]
    x, _ = load_split(out, description, "train")
    train = metadata[metadata["split"] == "train"].reset_index(drop=True)
    short = train.index[train["name"] == "short"]
    if len(short):
        assert x[short[0]][:20].tolist() == [[1, 1, 1, 1]] * 20  # N padding, 'uniform' mode


def test_bad_character_in_a_sequence_file_names_the_record(tmp_path):
    (tmp_path / "pos.fa").write_text(">ok\nACGT\n>bad\nACXT\n")
    with pytest.raises(InputError, match=r"pos.fa, record 'bad', position 3: invalid character 'X'"):
        run(
            tmp_path,
            {
                "modality": "dna",
                "sequences": {"a": "pos.fa"},
                "length": 4,
                "negatives": {"method": "shuffle"},
            },
        )
    assert not (tmp_path / "out" / "dataset.json").exists() and not (tmp_path / "out" / "shards").exists()


def test_multilabel_table(tmp_path):
    rng = np.random.default_rng(1)
    rows = [("".join(rng.choice(list("ACGT"), 30)), i % 2, (i // 2) % 2) for i in range(80)]
    pd.DataFrame(rows, columns=["seq", "tf_a", "tf_b"]).to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    out, description, metadata = run(
        tmp_path,
        {
            "modality": "dna",
            "length": 30,
            "table": {"path": "t.tsv", "sequence_column": "seq", "label_columns": ["tf_a", "tf_b"]},
        },
    )
    assert description["task"] == "multilabel" and description["targets"] == ["tf_a", "tf_b"]
    x, y = load_split(out, description, "test")
    test = metadata[metadata["split"] == "test"]
    expected = np.array(
        [[rows[int(n.split()[1]) - 2][1], rows[int(n.split()[1]) - 2][2]] for n in test["name"]]
    )
    np.testing.assert_array_equal(y, expected)


def test_regression_table_keeps_measured_values_and_training_scaling(tmp_path):
    rng = np.random.default_rng(2)
    sequences = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(100)]
    activity = [seq.count("G") + 0.1 * i for i, seq in enumerate(sequences)]
    pd.DataFrame({"seq": sequences, "activity": activity}).to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    out, description, metadata = run(
        tmp_path,
        {
            "modality": "dna",
            "length": 30,
            "table": {
                "path": "t.tsv",
                "sequence_column": "seq",
                "label_columns": ["activity"],
                "task": "regression",
            },
        },
    )
    assert (
        description["task"] == "regression"
        and description["classes"] == []
        and description["targets"] == ["activity"]
    )
    _, y = load_split(out, description, "train")
    assert description["target_mean"] == pytest.approx([y.mean()], rel=1e-5)
    assert description["target_std"] == pytest.approx([y.std()], rel=1e-4)
    test = metadata[metadata["split"] == "test"]
    _, y_test = load_split(out, description, "test")
    np.testing.assert_allclose(
        y_test[:, 0], [activity[int(n.split()[1]) - 2] for n in test["name"]], rtol=1e-6
    )


@pytest.mark.parametrize(
    "table, expected",
    [
        ("seq\tlabel\nACGT\ta\n", "column(s) ['activity'] not found"),
        (
            "seq\tactivity\tlabel\nACGT\t0\t1\nACGT\t2\t0\n",
            "line 3, column 'activity': multi-label columns hold 0, 1 or an empty cell",
        ),
        ("seq\tactivity\nACGT\t0.31\nACGA\t1.7\n", "column 'activity': holds continuous values (2 distinct)"),
    ],
)
def test_bad_tables_name_column_and_line(tmp_path, table, expected):
    (tmp_path / "t.tsv").write_text(table)
    with pytest.raises(InputError) as caught:
        columns = ["activity", "label"] if "label" in table else ["activity"]
        run(
            tmp_path,
            {
                "modality": "dna",
                "length": 4,
                "table": {"path": "t.tsv", "sequence_column": "seq", "label_columns": columns},
            },
        )
    assert expected in str(caught.value)


def test_a_split_with_one_class_is_an_error(genome):
    (genome / "other.bed").write_text("chr1\t5000\t5100\nchr3\t5000\t5100\n")  # nothing on chr2
    with pytest.raises(InputError, match="split 'validation'.*holds only the class 'peak'"):
        run(
            genome,
            genome_dataset(negatives={"method": "none"}, regions={"peak": "peaks.bed", "other": "other.bed"}),
        )
