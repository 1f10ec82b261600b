"""How every step script runs: its log file, its messages, its failures.

Contract:
- ``run_step(job, step)`` runs ``step()`` for a Snakemake job (``job`` is the ``snakemake`` object of a
  step script, or anything with ``log``, and optionally ``rule`` and ``input``). While it runs, the
  package's log records (INFO and above, with timestamps) go to the job's log file and to the
  terminal; everything native code writes to the process's standard error (TensorFlow's C++
  start-up lines, numba) goes to the log file only, so the terminal shows the workflow's own lines.
- Every failure ends the step with exit status 1 (Snakemake then reports a failed job and removes
  its outputs) and leaves its explanation as the log's last ERROR line, also shown on the terminal:
  an ``InputError`` as its one line (file, record, what was expected); a full disk or a refused
  permission as a plain message naming the path; any other exception (a bug to report) as one line
  naming the rule, its inputs and the exception, with the traceback written to the log file.
- The process's standard error and logging handlers are restored afterwards, so a step can run
  inside another Python process (tests).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from biodl.core.errors import InputError

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
logger = logging.getLogger("biodl")

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def run_step(job: Any, step: Callable[[], object]) -> None:
    """Run ``step`` as the job's script (see the module contract)."""
    log_path = Path(job if isinstance(job, (str, PathLike)) else job.log[0])
    with job_logging(log_path):
        try:
            step()
        except InputError as error:
            logger.error("%s", error)
            sys.exit(1)
        except Exception as error:
            problem = _system_problem(error) if isinstance(error, OSError) else None
            if problem is None:  # a bug: its traceback in the log, then the one line
                _write_traceback()
                problem = _unexpected(job, error, log_path)
            logger.error("%s", problem)
            sys.exit(1)


@contextlib.contextmanager
def job_logging(log_path: Path, level: int = logging.INFO) -> Iterator[None]:
    """Log records to ``log_path`` and the terminal; native standard error to ``log_path`` only."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    terminal = os.fdopen(os.dup(2), "w", buffering=1)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    handlers: list[logging.Handler] = [
        logging.StreamHandler(terminal),
        logging.FileHandler(log_path, mode="a"),
    ]
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    os.dup2(log_fd, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        for handler in handlers:
            handler.flush()
            handler.close()
            root.removeHandler(handler)
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        os.dup2(saved_stderr, 2)
        for fd in (saved_stderr, log_fd):
            os.close(fd)
        terminal.close()


def _system_problem(error: OSError) -> str | None:
    """A plain message for a full disk or a refused permission, naming the path; else None."""
    path = error.filename or "a file"
    if error.errno in DISK_FULL:
        return (
            f"{path}: no space left on the device (errno {error.errno}); "
            "free space or write the results elsewhere"
        )
    if isinstance(error, PermissionError):
        return f"{path}: permission denied; make it readable (inputs) or writable (the results' folders)"
    return None


def _unexpected(job: Any, error: BaseException, log_path: Path) -> str:
    rule = getattr(job, "rule", None) or "step"
    inputs: Sequence[str] = list(getattr(job, "input", []) or [])
    shown = ", ".join(map(str, inputs[:3])) + (f" and {len(inputs) - 3} more" if len(inputs) > 3 else "")
    reading = f" (inputs: {shown})" if inputs else ""
    return (
        f"rule {rule}{reading} failed unexpectedly: {type(error).__name__}: {error}; "
        f"the traceback is in {log_path} (please report it)"
    )


def _write_traceback() -> None:
    """The current exception's traceback, into the log file only (the process's standard error,
    which ``job_logging`` points at the log)."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    os.write(2, traceback.format_exc().encode())
