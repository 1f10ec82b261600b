"""biodl.core.log: every failure of a step ends as one ERROR line (the log's last), status 1;
native standard error goes to the log, not the terminal."""

import errno
import logging
import os
from types import SimpleNamespace

import pytest

from biodl.core.errors import InputError
from biodl.core.log import run_step


def job(tmp_path, rule="prepare_dna", inputs=("data/a.bed",)):
    return SimpleNamespace(log=[str(tmp_path / "logs" / "step.log")], rule=rule, input=list(inputs))


def last_line(path):
    return path.read_text().splitlines()[-1]


def test_bad_input_ends_the_step_with_one_message_and_status_1(tmp_path, capfd):
    def step():
        logging.getLogger("biodl.test").info("working")
        raise InputError("in.bed", "line 3", "end must be greater than start")

    with pytest.raises(SystemExit) as caught:
        run_step(job(tmp_path), step)
    assert caught.value.code == 1
    log = tmp_path / "logs" / "step.log"
    assert "working" in log.read_text()
    assert last_line(log).endswith("ERROR biodl: in.bed, line 3: end must be greater than start")
    err = capfd.readouterr().err
    assert "in.bed, line 3: end must be greater than start" in err and "Traceback" not in err


def test_a_bug_gives_one_line_naming_rule_inputs_and_exception_and_its_traceback_in_the_log(tmp_path, capfd):
    with pytest.raises(SystemExit) as caught:
        run_step(job(tmp_path, "train", ["results/prepared/x/dataset.json"]), lambda: 1 / 0)
    assert caught.value.code == 1
    log = tmp_path / "logs" / "step.log"
    text = log.read_text()
    assert "Traceback" in text and "ZeroDivisionError" in text
    assert (
        "rule train (inputs: results/prepared/x/dataset.json) failed unexpectedly: ZeroDivisionError"
        in last_line(log)
    )
    err = capfd.readouterr().err
    assert "failed unexpectedly: ZeroDivisionError" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "error, expected",
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "results/x.npy"),
            "results/x.npy: no space left on the device",
        ),
        (PermissionError(errno.EACCES, "Permission denied", "data/in.fa"), "data/in.fa: permission denied"),
    ],
)
def test_a_full_disk_or_a_refused_permission_is_a_plain_message_naming_the_path(tmp_path, error, expected):
    def step():
        raise error

    with pytest.raises(SystemExit):
        run_step(job(tmp_path), step)
    log = tmp_path / "logs" / "step.log"
    assert expected in last_line(log) and "Traceback" not in log.read_text()


def test_native_standard_error_goes_to_the_log_and_is_restored_after(tmp_path, capfd):
    def step():
        os.write(2, b"I0000 noisy C++ start-up line\n")
        logging.getLogger("biodl.test").info("our own line")

    run_step(job(tmp_path), step)
    text = (tmp_path / "logs" / "step.log").read_text()
    assert "noisy C++ start-up line" in text and "our own line" in text
    err = capfd.readouterr().err
    assert "our own line" in err and "noisy" not in err
    os.write(2, b"after the step\n")
    assert "after the step" in capfd.readouterr().err
