import os
import shutil

import numpy as np
import pandas as pd
import pytest

from biodl import io
from biodl.validate import InputError

SIZES = {"chr1": 1000}


def write(tmp_path, text, name="r.bed"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bed_with_header_track_lines_and_windows_line_endings_is_read(tmp_path):
    path = write(tmp_path, "track name=x\r\n#comment\r\nbrowser position chr1\r\nchr1\t10\t20\tp1\t5\t-\r\n")
    frame = io.read_bed(path, SIZES)
    assert frame[["chrom", "start", "end", "name", "strand", "summit", "line"]].values.tolist() == [
        ["chr1", 10, 20, "p1", "-", -1, 4]]


def test_narrowpeak_summit_is_read(tmp_path):
    path = write(tmp_path, "chr1\t100\t200\tpk\t0\t.\t5.0\t3.0\t2.0\t40\n")
    assert io.read_bed(path, SIZES)["summit"].tolist() == [40]


@pytest.mark.parametrize("line, expected", [
    ("chr1\t20\t10", "end must be greater than start"),
    ("chr1\t-5\t10", "start must be >= 0"),
    ("chr1\t1.5\t10", "must be integers"),
    ("chrZ\t1\t10", "'chrZ' is not in the genome"),
    ("chr1\t990\t1010", "past the end of chr1"),
    ("chr1\t1\t10\tn\t0\t*", "strand"),
    ("chr1\t100\t200\tpk\t0\t.\t5\t3\t2\t150", "summit offset 150 lies outside the peak"),
    ("chr1 1 10", "at least 3 tab-separated columns"),
])
def test_bad_bed_records_name_file_and_line(tmp_path, line, expected):
    path = write(tmp_path, "chr1\t1\t10\n" + line + "\n")
    with pytest.raises(InputError) as caught:
        io.read_bed(path, SIZES)
    assert str(path) in str(caught.value) and "line 2" in str(caught.value) and expected in str(caught.value)


def test_missing_and_empty_files_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="BED file not found"):
        io.read_bed(tmp_path / "nope.bed")
    with pytest.raises(InputError, match="BED file is empty"):
        io.read_bed(write(tmp_path, ""))


def test_fasta_without_header_is_rejected_and_index_kept_out_of_input_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    bad = write(data, "ACGT\n", "bad.fa")
    with pytest.raises(InputError, match="expected a FASTA header"):
        io.open_fasta(bad, tmp_path / "index")
    good = write(data, ">s1\nACGT\n>s2\nGG\n", "good.fa")
    fasta = io.open_fasta(good, tmp_path / "index")
    assert fasta["s1"][:] == "ACGT"
    assert sorted(p.name for p in data.iterdir()) == ["bad.fa", "good.fa"]


def test_a_fasta_s_own_up_to_date_index_is_used_and_a_stale_or_foreign_one_is_not(tmp_path):
    data, other = tmp_path / "data", tmp_path / "other"
    data.mkdir(), other.mkdir()
    fasta = write(data, ">s1\nACGT\nACGT\nAC\n>s2 described\nGGGG\nG\n", "g.fa")
    io.open_fasta(fasta, tmp_path / "built")  # no index of its own: one is built outside
    shutil.copy(tmp_path / "built" / "g.fa.fai", data / "g.fa.fai")  # as `samtools faidx g.fa` would
    for expected_index_dir in (None, "stale", "foreign", "garbage"):
        if expected_index_dir == "stale":
            os.utime(data / "g.fa.fai", (0, 0))
        if expected_index_dir == "garbage":
            (data / "g.fa.fai").write_text("not an index\n")
        if expected_index_dir == "foreign":  # newer, but made for another layout of the same records
            io.open_fasta(write(other, ">s1\nACGTACGTAC\n>s2\nGGGGG\n", "g.fa"), other / "index")
            shutil.copy(other / "index" / "g.fa.fai", data / "g.fa.fai")
        opened = io.open_fasta(fasta, tmp_path / str(expected_index_dir))
        assert (opened["s1"][:], opened["s2"][:]) == ("ACGTACGTAC", "GGGGG")
        assert (tmp_path / str(expected_index_dir) / "g.fa.fai").exists() == (expected_index_dir is not None)


def test_duplicate_fasta_records_are_rejected_with_both_lines(tmp_path):
    path = write(tmp_path, ">s1\nACGT\n>s1\nGG\n", "dup.fa")
    with pytest.raises(InputError, match=r"dup.fa, line 3: duplicate record name 's1' \(first on line 1\)"):
        io.open_fasta(path, tmp_path / "index")


def test_unevenly_wrapped_fasta_names_the_line(tmp_path):
    path = write(tmp_path, ">s1\nACGT\nAC\nACGT\n>s2\nGG\n", "wrapped.fa")
    with pytest.raises(InputError, match=r"wrapped.fa, line 3: sequence line of record 's1' is not 4 bases wide"):
        io.open_fasta(path, tmp_path / "index")


def test_a_killed_writers_leftovers_go_at_the_next_write(tmp_path):
    (tmp_path / ".x.tsv.abc123.tmp.tsv").write_text("half")
    (tmp_path / ".shards.def456.tmp").mkdir()
    (tmp_path / ".shards.def456.tmp" / "train-00000.x.npy").write_text("half")
    (tmp_path / ".other.tsv.abc.tmp.tsv").write_text("another target's")
    io.write_tsv(pd.DataFrame({"a": [1]}), tmp_path / "x.tsv")
    with io.atomic_dir(tmp_path / "shards") as folder:
        (folder / "done").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tsv.abc.tmp.tsv", "shards", "x.tsv"]


def test_atomic_path_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out" / "x.tsv"
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists() and list(target.parent.iterdir()) == []
    with io.atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"


def test_atomic_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "shards"
    with io.atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError):
        with io.atomic_dir(target) as tmp:
            (tmp / "b").write_text("2")
            raise RuntimeError
    assert [p.name for p in tmp_path.iterdir()] == ["shards"]
    assert [p.name for p in target.iterdir()] == ["a"]


@pytest.mark.parametrize("array", [
    np.random.default_rng(0).integers(0, 2, (300, 1000, 4), dtype=np.uint8),  # 1.2 MB: more than one write
    np.ones((5, 1), np.float32), np.zeros((0, 7, 4), np.uint8), np.array(3.5), np.array(["ab", "c"]),
    np.asfortranarray(np.arange(12.0).reshape(3, 4)), np.arange(10)[::2], np.zeros(2, [("a", "<i4"), ("b", "<f8")]),
], ids=["shard", "labels", "empty", "scalar", "text", "fortran", "strided", "fields"])
def test_saved_arrays_are_byte_for_byte_what_numpy_saves(array, tmp_path):
    io.save_npy(array, tmp_path / "ours.npy")
    np.save(tmp_path / "numpy.npy", array)
    assert (tmp_path / "ours.npy").read_bytes() == (tmp_path / "numpy.npy").read_bytes()


def test_npy_round_trip_refuses_pickles(tmp_path):
    io.save_npy(np.arange(6, dtype=np.uint8).reshape(2, 3), tmp_path / "a.npy")
    assert io.load_npy(tmp_path / "a.npy", mmap=True).tolist() == [[0, 1, 2], [3, 4, 5]]
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        io.load_npy(tmp_path / "obj.npy")


def test_bed_read_in_blocks_keeps_line_numbers_widths_and_skipped_lines(tmp_path, monkeypatch):
    # Tiny blocks: the first holds only a header, later ones comment, blank and short lines.
    monkeypatch.setattr(io, "BED_BLOCK", 20)
    lines = ["track name=x description=longer than a block", "chr1\t1\t10", "", "chr1\t2\t20\tp2", "#c",
             "chr1\t3\t30\tp3\t7\t-", "  ", "chr1\t4\t40\tp4\t0\t+\t.\t.\t.\t5", "chr1\t5\t50\t\t"]
    frame = io.read_bed(write(tmp_path, "\n".join(lines)), SIZES)
    assert frame.values.tolist() == [
        ["chr1", 1, 10, ".", ".", ".", -1, 2], ["chr1", 2, 20, "p2", ".", ".", -1, 4],
        ["chr1", 3, 30, "p3", "7", "-", -1, 6], ["chr1", 4, 40, "p4", "0", "+", 5, 8],
        ["chr1", 5, 50, "", "", ".", -1, 9]]
    assert frame.dtypes.astype(str).tolist() == ["str", "int64", "int64", "str", "str", "str", "int64", "int64"]
    with pytest.raises(InputError, match="line 6: .*strand"):
        io.read_bed(write(tmp_path, "\n".join(lines[:5] + ["chr1\t3\t30\tp3\t7\t*"])), SIZES)


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"id": ["a", "b"], "n": [1, -2], "ok": [True, False], "u": np.array([3, 4], np.uint8)}),
    pd.DataFrame({"text": ['say "hi"', "tab\there"], "n": [1, 2]}),   # quoted by pandas
    pd.DataFrame({"text": ["line\nbreak", ""], "n": [1, 2]}),
    pd.DataFrame({"x": [0.1, None], "n": [1, 2]}),                   # floats and missing values
    pd.DataFrame({"x": np.array(["a", 3], dtype=object), "n": [1, 2]}),
    pd.DataFrame({"only": ["", "y"]}),                               # a lone empty field is quoted
    pd.DataFrame(columns=["a", "b"]),
], ids=["plain", "quotes", "line-break", "floats", "mixed", "one-column", "empty"])
def test_tsv_text_is_what_pandas_writes(frame, tmp_path):
    for header in (True, False):
        assert io.tsv_text(frame, header) == frame.to_csv(sep="\t", index=False, header=header)
    io.write_tsv(frame, tmp_path / "t.tsv")
    frame.to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    assert (tmp_path / "t.tsv").read_bytes() == (tmp_path / "p.tsv").read_bytes()


def test_remove_tree_deletes_inside_its_root_only(tmp_path):
    root = tmp_path / "results" / "checkpoints"
    run = root / "ds" / "m"
    (run / "sub").mkdir(parents=True)
    (run / "sub" / "f").write_text("x")
    io.remove_tree(run, within=root)
    assert not run.exists() and root.is_dir()


@pytest.mark.parametrize("dataset, model", [("..", ".."), ("ds", ".."), ("..", "m"), ("ds", "../.."), (".", "."), ("ds", "."),
                                            ("ds", "/etc"), (".hidden", "m"), ("", "m")])
def test_a_run_folder_refuses_every_escape_by_name(tmp_path, dataset, model):
    root = tmp_path / "results" / "checkpoints"
    (root / "ds" / "m").mkdir(parents=True)
    (tmp_path / "results" / "m").mkdir()
    keep = tmp_path / "config.yaml"
    keep.write_text("precious")
    with pytest.raises(io.UnsafeDeletion, match="not one plain path component"):
        io.RunFolder(root, dataset, model).remove()
    # The lower-level guard on its own: the same paths, unnormalised, resolve outside the run's folder.
    with pytest.raises(io.UnsafeDeletion, match="refusing to delete"):
        io.remove_tree(os.path.join(root, dataset, model), within=root / "ds" / "m")
    assert keep.read_text() == "precious" and (root / "ds" / "m").is_dir() and (tmp_path / "results" / "m").is_dir()


def test_a_run_folder_removes_its_own_folder_only(tmp_path):
    root = tmp_path / "logs" / "tensorboard"
    for model in ("m", "m2"):
        (root / "ds" / model / "train").mkdir(parents=True)
    io.RunFolder(root, "ds", "m").remove()
    assert not (root / "ds" / "m").exists() and (root / "ds" / "m2" / "train").is_dir()


def test_remove_tree_refuses_a_link_out_of_its_root(tmp_path):
    outside = tmp_path / "home"
    outside.mkdir()
    (outside / "data.txt").write_text("precious")
    root = tmp_path / "logs" / "tensorboard"
    (root / "ds").mkdir(parents=True)
    (root / "ds" / "m").symlink_to(outside)
    with pytest.raises(io.UnsafeDeletion):
        io.remove_tree(root / "ds" / "m", within=root)
    assert (outside / "data.txt").read_text() == "precious"
