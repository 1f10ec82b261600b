"""biodl.core.errors: messages name the file, the record and the problem, on one line."""

from pathlib import Path

import pytest

from biodl.core.errors import InputError, require, require_file


def test_message_names_source_record_and_problem() -> None:
    error = InputError("peaks.bed", "line 7", "end must be greater than start")
    assert str(error) == "peaks.bed, line 7: end must be greater than start"
    assert str(InputError("x.fa", None, "empty")) == "x.fa: empty"


def test_require_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="genome not found"):
        require_file(tmp_path / "g.fa", "genome")
    with pytest.raises(InputError, match="not a regular file"):
        require_file(tmp_path, "genome")
    (tmp_path / "g.fa").write_text("")
    with pytest.raises(InputError, match=r"genome is empty \(0 bytes\); expected a FASTA file"):
        require_file(tmp_path / "g.fa", "genome", "a FASTA file")
    (tmp_path / "g.fa").write_text(">a\nA\n")
    assert require_file(tmp_path / "g.fa", "genome").name == "g.fa"
    with pytest.raises(InputError, match="k: bad"):
        require(False, "cfg", "k", "bad")


def test_a_multi_line_problem_becomes_one_line() -> None:
    error = InputError("v.nii", None, "Expected 10 bytes, got 5\n - could the file be damaged?")
    assert str(error) == "v.nii: Expected 10 bytes, got 5 - could the file be damaged?"
