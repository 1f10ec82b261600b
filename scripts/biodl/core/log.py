"""Logging set-up shared by the step scripts.

Contract: ``configure(path)`` sends the package's log records (INFO and above) to the rule's
log file and to stderr, with timestamps, so a user can follow a step in ``logs/``.
``run_step(path, step)`` is how every step script runs: logging configured, bad input turned
into one clear message and exit status 1.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from os import PathLike

from biodl.core.errors import InputError

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(path: str | PathLike[str] | None = None, level: int = logging.INFO) -> None:
    """Log to ``path`` (when given) and to stderr."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path:
        handlers.append(logging.FileHandler(path, mode="w"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)


def run_step(log_path: str | PathLike[str], step: Callable[[], object]) -> None:
    """Run a step with logging to ``log_path``; bad input ends it with one clear message.

    An ``InputError`` is logged as a single line (file, record, expectation) and the process
    exits with status 1, which Snakemake reports as a failed job; other exceptions keep their
    traceback, because they are bugs to report rather than input to fix.
    """
    configure(log_path)
    try:
        step()
    except InputError as error:
        logging.getLogger("biodl").error("%s", error)
        sys.exit(1)
