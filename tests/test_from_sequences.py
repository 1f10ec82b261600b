"""biodl.data.dna.from_sequences: sequences from FASTA files per class or from a table."""

import numpy as np
import pandas as pd
import pytest
from dna_fixtures import fasta_text, load_split, run, write_sequence_files

from biodl.core.errors import InputError
from biodl.data.dna import encode, from_sequences
from biodl.data.dna.from_sequences import fit_length


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Config paths are relative to the working directory, as in a Snakemake run."""
    monkeypatch.chdir(tmp_path)


def test_sequences_are_centre_cropped_or_padded_with_n():
    codes = encode.to_codes("AACCGGTT", "x", "r")
    assert encode.decode(fit_length(codes, 4)) == "CCGG"
    assert encode.decode(fit_length(codes, 11)) == "NAACCGGTTNN"
    assert encode.decode(fit_length(codes, 8)) == "AACCGGTT"


def test_sequence_files_with_shuffled_negatives_keep_shuffles_in_their_positives_split(tmp_path):
    write_sequence_files(tmp_path)
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
    split_of = dict(zip(positives["name"], positives["split"], strict=True))
    for row in shuffles.itertuples():
        assert row.split == split_of[row.name.split("_shuffle")[0]]
    x, _ = load_split(out, description, "train")
    train = metadata[metadata["split"] == "train"].reset_index(drop=True)
    short = train.index[train["name"] == "short"]
    if len(short):
        assert x[short[0]][:20].tolist() == [[1, 1, 1, 1]] * 20  # N padding, 'uniform' mode


def test_short_sequences_are_dropped_with_edge_drop(tmp_path):
    write_sequence_files(tmp_path)
    _, _, metadata = run(
        tmp_path,
        {
            "modality": "dna",
            "sequences": {"bound": "pos.fa"},
            "length": 80,
            "negatives": {"method": "shuffle"},
        },
    )
    assert "short" not in set(metadata["name"]) and (metadata["chrom"] == ".").all()


def test_two_sequence_files_make_a_binary_task_in_config_order(tmp_path):
    write_sequence_files(tmp_path)
    rng = np.random.default_rng(4)
    others = [(f"neg{i}", "".join(rng.choice(list("ACGT"), 80))) for i in range(60)]
    (tmp_path / "neg.fa").write_text("".join(f">{n}\n{s}\n" for n, s in others))
    out, description, metadata = run(
        tmp_path, {"modality": "dna", "sequences": {"unbound": "neg.fa", "bound": "pos.fa"}, "length": 80}
    )
    assert description["classes"] == ["unbound", "bound"] and description["targets"] == ["bound"]
    for split in ("train", "validation", "test"):
        _, y = load_split(out, description, split)
        rows = metadata[metadata["split"] == split]
        np.testing.assert_array_equal(y[:, 0], (rows["label"] == "bound").to_numpy())


def test_classes_choose_the_positive_class_of_a_table_of_strand_labels(tmp_path):
    rng = np.random.default_rng(5)
    sequences = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(80)]
    labels = ["+" if i % 2 else "-" for i in range(80)]
    pd.DataFrame({"seq": sequences, "strand": labels}).to_csv(tmp_path / "t.csv", index=False)
    table = {"path": "t.csv", "sequence_column": "seq", "label_columns": ["strand"]}
    _, sorted_order, _ = run(tmp_path, {"modality": "dna", "length": 30, "table": table})
    assert sorted_order["classes"] == ["+", "-"] and sorted_order["targets"] == ["-"]  # the default: sorted
    out, chosen, metadata = run(
        tmp_path, {"modality": "dna", "length": 30, "table": table, "classes": ["-", "+"]}
    )
    assert chosen["classes"] == ["-", "+"] and chosen["targets"] == ["+"]
    _, y = load_split(out, chosen, "train")
    np.testing.assert_array_equal(
        y[:, 0], (metadata[metadata["split"] == "train"]["label"] == "+").to_numpy()
    )
    with pytest.raises(
        InputError, match=r"classes: expected an order of the dataset's classes \['\+', '-'\]"
    ):
        run(tmp_path, {"modality": "dna", "length": 30, "table": table, "classes": ["-", "promoter"]})


def test_classes_order_sequence_files_and_their_negatives(tmp_path):
    write_sequence_files(tmp_path)
    spec = {
        "modality": "dna",
        "sequences": {"bound": "pos.fa"},
        "length": 80,
        "negatives": {"method": "shuffle"},
    }
    _, default, _ = run(tmp_path, spec)
    assert default["classes"] == ["background", "bound"]
    _, reordered, _ = run(tmp_path, {**spec, "classes": ["bound", "background"]})
    assert reordered["classes"] == ["bound", "background"] and reordered["targets"] == ["background"]


def test_gc_matched_negatives_need_a_genome(tmp_path):
    write_sequence_files(tmp_path)
    with pytest.raises(InputError) as caught:
        run(
            tmp_path,
            {
                "modality": "dna",
                "sequences": {"b": "pos.fa"},
                "length": 80,
                "negatives": {"method": "gc_matched"},
            },
        )
    # Refused when the configuration is checked, before any job (biodl.config.applicable).
    assert caught.value.where == "datasets.d.negatives.method"
    assert "gc_matched draws negatives from a genome" in caught.value.problem


def test_bad_character_in_a_sequence_file_names_the_record(tmp_path):
    (tmp_path / "pos.fa").write_text(">ok\nACGT\n>bad\nACXT\n")
    with pytest.raises(InputError, match=r"pos.fa, record 'bad', position 3, line 4: invalid character 'X'"):
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


def test_class_table_with_shuffled_negatives(tmp_path):
    rng = np.random.default_rng(3)
    sequences = ["".join(rng.choice(list("ACGT"), 40)) for _ in range(90)]
    labels = ["enhancer" if i % 3 else "promoter" for i in range(90)]
    pd.DataFrame({"seq": sequences, "kind": labels}).to_csv(tmp_path / "t.csv", index=False)
    out, description, metadata = run(
        tmp_path,
        {
            "modality": "dna",
            "length": 40,
            "negatives": {"method": "shuffle", "label": "shuffled"},
            "table": {"path": "t.csv", "sequence_column": "seq", "label_columns": ["kind"]},
        },
    )
    assert description["task"] == "multiclass"
    assert description["classes"] == ["shuffled", "enhancer", "promoter"] == description["targets"]
    assert (metadata["label"] == "shuffled").sum() == 90
    _, y = load_split(out, description, "train")
    train = metadata[metadata["split"] == "train"]
    np.testing.assert_array_equal(
        y.argmax(1), train["label"].map({"shuffled": 0, "enhancer": 1, "promoter": 2})
    )


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


def test_negatives_are_refused_for_regression_tables(tmp_path):
    (tmp_path / "t.tsv").write_text("seq\tactivity\nACGT\t0.5\nACGA\t1.7\n")
    table = {"path": "t.tsv", "sequence_column": "seq", "label_columns": ["activity"], "task": "regression"}
    with pytest.raises(InputError, match="a regression or multi-label table has no class for them"):
        run(tmp_path, {"modality": "dna", "length": 4, "negatives": {"method": "shuffle"}, "table": table})


def write_located_records(folder, names_per_class):
    """One FASTA per class of 100 bp records named by location; returns the dataset's sequences."""
    rng = np.random.default_rng(4)
    sequences = {}
    for label, names in names_per_class.items():
        records = [(name, "".join(rng.choice(list("ACGT"), 100))) for name in names]
        (folder / f"{label}.fa").write_text(fasta_text(records))
        sequences[label] = f"{label}.fa"
    return sequences


def located_names(offset):
    return [f"chr{c}:{1 + 1000 * k + offset}-{100 + 1000 * k + offset}" for c in (1, 2, 3) for k in range(12)]


def test_sequence_files_named_by_location_hold_out_chromosomes_without_leakage(tmp_path):
    names = {"pos": located_names(0), "neg": [*located_names(500)[:-1], "chr3:35501-35600_r"]}
    sequences = write_located_records(tmp_path, names)
    spec = {
        "modality": "dna",
        "sequences": sequences,
        "length": 100,
        "negatives": {"method": "shuffle", "ratio": 1},
        "split": {"validation": ["chr2"], "test": ["chr3"]},
    }
    _, _, metadata = run(tmp_path, spec)
    for split, chrom in (("train", "chr1"), ("validation", "chr2"), ("test", "chr3")):
        rows = metadata[metadata["split"] == split]
        assert set(rows["chrom"]) == {chrom}
        records = rows.loc[rows["source"] != "dinucleotide_shuffle", "name"]
        assert all(name.startswith(f"{chrom}:") for name in records)
        shuffles = rows.loc[rows["source"] == "dinucleotide_shuffle", "name"].str.removesuffix("_shuffle0")
        assert set(shuffles) == set(records)  # a shuffle stays in its sequence's split
    records = metadata[metadata["source"] != "dinucleotide_shuffle"]
    assert sorted(records["name"]) == sorted(names["pos"] + names["neg"])  # each record once
    first = records.set_index("name").loc["chr1:1-100"]
    assert (first["start"], first["end"], first["strand"]) == (0, 100, "+")  # 1-based inclusive
    assert records.set_index("name").loc["chr3:35501-35600_r", "strand"] == "-"


def test_region_hold_outs_drop_records_across_their_boundary(tmp_path):
    sequences = write_located_records(tmp_path, {"pos": located_names(0), "neg": located_names(500)})
    spec = {
        "modality": "dna",
        "sequences": sequences,
        "length": 100,
        "split": {"validation": ["chr2"], "test": ["chr1:1-5550"]},  # cuts chr1:5501-5600
    }
    _, _, metadata = run(tmp_path, spec)
    assert "chr1:5501-5600" not in set(metadata["name"])
    test = metadata[metadata["split"] == "test"]
    assert set(test["chrom"]) == {"chr1"} and test["end"].max() <= 5550


def test_parse_headers_reads_both_coordinate_conventions_and_strand():
    frame = pd.DataFrame(
        {
            "source": "s.fa",
            "name": ["chr2L:11-20", "chr2L:10-20", "X:1-5(-)", "X:1-5(+)"],
            "length": [10, 10, 5, 4],
        }
    )
    located = from_sequences.parse_headers(frame)
    assert located.values.tolist() == [
        ["chr2L", 10, 20, "+"],  # 1-based inclusive: 10 bases
        ["chr2L", 10, 20, "+"],  # bedtools' 0-based half-open: 10 bases
        ["X", 0, 5, "-"],
        ["X", 1, 5, "+"],  # 4 bases: half-open
    ]


def test_a_record_without_a_location_is_named_when_chromosomes_are_held_out(tmp_path):
    sequences = write_located_records(
        tmp_path, {"pos": [*located_names(0), "peak7"], "neg": located_names(500)}
    )
    spec = {
        "modality": "dna",
        "sequences": sequences,
        "length": 100,
        "split": {"validation": ["chr2"], "test": ["chr3"]},
    }
    with pytest.raises(InputError, match=r"pos\.fa, record 'peak7': the name does not give a location"):
        run(tmp_path, spec)


def test_one_hold_out_list_alone_is_refused_for_sequence_files(tmp_path):
    sequences = write_located_records(tmp_path, {"pos": located_names(0), "neg": located_names(500)})
    spec = {"modality": "dna", "sequences": sequences, "length": 100, "split": {"test": ["chr3"]}}
    with pytest.raises(InputError, match=r"datasets\.d\.split: .*set both"):
        run(tmp_path, spec)


def write_located_table(folder, form="columns", n_per_chrom=20):
    """A TSV of 50 bp sequences on chr1-chr3 (two classes, alternating) with their locations,
    as three columns (0-based, half-open) or one chrom:start-end column (1-based, inclusive)."""
    rng = np.random.default_rng(5)
    rows = []
    for c in (1, 2, 3):
        for k in range(n_per_chrom):
            start = 1000 * k
            rows.append(
                {
                    "seq": "".join(rng.choice(list("ACGT"), 50)),
                    "kind": "bound" if k % 2 else "unbound",
                    "chr": f"chr{c}",
                    "from": start,
                    "to": start + 50,
                    "where": f"chr{c}:{start + 1}-{start + 50}",
                    "locus": f"locus{c}_{k // 4}",
                }
            )
    table = pd.DataFrame(rows)
    table.to_csv(folder / "t.tsv", sep="\t", index=False)
    location = {"chrom": "chr", "start": "from", "end": "to"} if form == "columns" else {"column": "where"}
    return table, location


@pytest.mark.parametrize("form", ["columns", "column"])
def test_a_table_with_locations_holds_out_chromosomes_and_regions_without_leakage(tmp_path, form):
    table, location = write_located_table(tmp_path, form)
    spec = {
        "modality": "dna",
        "length": 50,
        "negatives": {"method": "shuffle"},
        "table": {"path": "t.tsv", "sequence_column": "seq", "label_columns": ["kind"], "location": location},
        "split": {"validation": ["chr2"], "test": ["chr3:1-10025"]},  # cuts chr3:10000-10050
    }
    out, description, metadata = run(tmp_path, spec)
    rows = metadata[metadata["source"] != "dinucleotide_shuffle"]
    line = rows["name"].str.split().str[1].astype(int) - 2
    # Metadata is filled with each row's location (0-based, half-open in both forms).
    np.testing.assert_array_equal(rows["chrom"], table["chr"].to_numpy()[line])
    np.testing.assert_array_equal(rows["start"], table["from"].to_numpy()[line])
    np.testing.assert_array_equal(rows["end"], table["to"].to_numpy()[line])
    # Every held-out row lies inside its hold-out; training has none of the held-out bases.
    validation, test, train = (rows[rows["split"] == s] for s in ("validation", "test", "train"))
    assert set(validation["chrom"]) == {"chr2"} and len(validation) == 20
    assert set(test["chrom"]) == {"chr3"} and test["end"].max() <= 10025 and len(test) == 10
    assert not ((train["chrom"] == "chr2") | ((train["chrom"] == "chr3") & (train["start"] < 10025))).any()
    assert "chr3:10001-10050" not in set(table["where"].to_numpy()[line])  # straddling: dropped
    assert len(rows) == 59
    shuffles = metadata[metadata["source"] == "dinucleotide_shuffle"]
    assert (shuffles.groupby("split").size() == rows.groupby("split").size()).all()  # in their split
    x, _ = load_split(out, description, "validation")
    firsts = x[: len(validation)]
    expected = encode.one_hot(
        np.stack(
            [
                encode.to_codes(s, "t", "")
                for s in table["seq"].to_numpy()[line[rows["split"] == "validation"]]
            ]
        ),
        "zeros",
    )
    np.testing.assert_array_equal(firsts, expected)


def test_a_table_with_a_group_column_keeps_every_group_in_one_split(tmp_path):
    table, _ = write_located_table(tmp_path)
    spec = {
        "modality": "dna",
        "length": 50,
        "table": {
            "path": "t.tsv",
            "sequence_column": "seq",
            "label_columns": ["kind"],
            "group_column": "locus",
        },
        "split": {"validation_fraction": 0.2, "test_fraction": 0.2},
    }
    _, _, metadata = run(tmp_path, spec)
    locus = table["locus"].to_numpy()[metadata["name"].str.split().str[1].astype(int) - 2]
    splits_per_group = pd.Series(metadata["split"].to_numpy()).groupby(locus).nunique()
    assert (splits_per_group == 1).all() and len(splits_per_group) == 15
    assert set(metadata["split"]) == {"train", "validation", "test"}
    assert (metadata["chrom"] == ".").all()  # no location given


def test_a_regression_table_with_locations_is_held_out_by_chromosome(tmp_path):
    table, location = write_located_table(tmp_path)
    table.assign(activity=np.arange(len(table)) / 7).to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    spec = {
        "modality": "dna",
        "length": 50,
        "table": {
            "path": "t.tsv",
            "sequence_column": "seq",
            "label_columns": ["activity"],
            "task": "regression",
            "location": location,
        },
        "split": {"validation": ["chr1"], "test": ["chr2"]},
    }
    out, description, metadata = run(tmp_path, spec)
    assert dict(metadata.groupby("split")["chrom"].unique().map(list)) == {
        "train": ["chr3"],
        "validation": ["chr1"],
        "test": ["chr2"],
    }
    _, y = load_split(out, description, "test")
    test = metadata[metadata["split"] == "test"]
    np.testing.assert_allclose(y[:, 0], (test["name"].str.split().str[1].astype(int) - 2) / 7, rtol=1e-6)


@pytest.mark.parametrize(
    "form, bad, expected",
    [
        (
            "columns",
            {"from": (3, "ten")},
            r"line 5, column 'from': expected a whole number >= 0, found 'ten'",
        ),
        ("columns", {"to": (4, 0)}, r"line 6, columns 'from' and 'to': expected start < end"),
        ("columns", {"chr": (0, "NA")}, r"line 2, column 'chr': expected a chromosome name in every row"),
        (
            "column",
            {"where": (6, "peak7")},
            r"line 8, column 'where': 'peak7' does not give a location; expected chrom:start-end",
        ),
        ("columns", {"locus": (2, "")}, r"line 4, column 'locus': expected a group name in every row"),
        (
            "column",
            {"where": (1, "chr1:50-10")},
            r"line 3, column 'where': 'chr1:50-10' gives an empty range",
        ),
    ],
)
def test_bad_location_or_group_cells_are_named_with_their_line(tmp_path, form, bad, expected):
    table, location = write_located_table(tmp_path, form)
    table = table.astype(object)
    for column, (row, value) in bad.items():
        table.loc[row, column] = value
    table.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    settings = {"path": "t.tsv", "sequence_column": "seq", "label_columns": ["kind"], "location": location}
    split = {"validation": ["chr2"], "test": ["chr3"]}
    if "locus" in bad:
        settings, split = {**settings, "group_column": "locus"}, {}
    with pytest.raises(InputError, match=expected):
        run(tmp_path, {"modality": "dna", "length": 50, "table": settings, "split": split})


def test_hold_outs_on_a_table_without_locations_are_refused(tmp_path):
    write_located_table(tmp_path)
    spec = {
        "modality": "dna",
        "length": 50,
        "table": {"path": "t.tsv", "sequence_column": "seq", "label_columns": ["kind"]},
        "split": {"validation": ["chr2"], "test": ["chr3"]},
    }
    with pytest.raises(InputError, match=r"datasets\.d\.split\.validation: does not apply.*table\.location"):
        run(tmp_path, spec)


@pytest.mark.parametrize(
    "table, split, expected",
    [
        (
            {"group_column": "locus", "location": {"column": "where"}},
            {"validation": ["chr2"], "test": ["chr3"]},
            r"table\.group_column: does not apply with split",
        ),
        ({"location": {"column": "where", "chrom": "chr"}}, {}, r"table\.location: give column .* or chrom"),
        ({"location": {"chrom": "chr", "start": "from"}}, {}, r"table\.location: give column"),
        ({"location": {"column": "kind"}}, {}, r"location and group columns must differ"),
        ({"location": {"column": "where"}}, {"test": ["chr3"]}, r"split: .*set both"),
    ],
)
def test_table_split_keys_that_cannot_apply_are_refused(tmp_path, table, split, expected):
    write_located_table(tmp_path)
    settings = {"path": "t.tsv", "sequence_column": "seq", "label_columns": ["kind"], **table}
    with pytest.raises(InputError, match=expected):
        run(tmp_path, {"modality": "dna", "length": 50, "table": settings, "split": split})
