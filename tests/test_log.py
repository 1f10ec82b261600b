"""biodl.core.log: a bad input ends a step with one logged message and exit status 1; a bug keeps
its traceback."""

import logging

import pytest

from biodl.core.errors import InputError
from biodl.core.log import run_step


def test_bad_input_ends_the_step_with_one_message_and_status_1(tmp_path, capsys):
    log_path = tmp_path / "step.log"

    def step():
        logging.getLogger("biodl.test").info("working")
        raise InputError("in.bed", "line 3", "end must be greater than start")

    with pytest.raises(SystemExit) as caught:
        run_step(log_path, step)
    assert caught.value.code == 1
    text = log_path.read_text()
    assert "working" in text and "in.bed, line 3: end must be greater than start" in text
    assert "Traceback" not in capsys.readouterr().err


def test_bugs_keep_their_traceback(tmp_path):
    with pytest.raises(ZeroDivisionError):
        run_step(tmp_path / "step.log", lambda: 1 / 0)
