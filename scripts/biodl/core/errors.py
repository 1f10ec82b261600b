"""The one input validator used by every reader in the package.

Contract: every problem with a user's input is raised as :class:`InputError`, whose message
names the file, the record (line number, record name or config key) and what was expected.
Scripts let it propagate; Snakemake then reports a failed job with that message, a non-zero
exit status, and (because outputs are written atomically, see ``biodl.core.files``) no output that
looks complete.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path


class InputError(ValueError):
    """A user's input file or setting is not what the workflow expects."""

    def __init__(self, source: str | PathLike[str], where: str | None, problem: str) -> None:
        self.source = str(source)
        self.where = where
        # One line in the log, even around a library's multi-line text.
        self.problem = " ".join(line.strip() for line in problem.splitlines())
        location = f"{self.source}, {where}" if where else self.source
        super().__init__(f"{location}: {self.problem}")


def require_file(path: str | PathLike[str], what: str, expected: str | None = None) -> Path:
    """Return ``path`` as a Path if it is a readable, non-empty file; else raise InputError.

    ``expected`` says what the file should hold, for the message about an empty one.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, None, f"{what} not found")
    if not p.is_file():
        raise InputError(p, None, f"{what} is not a regular file")
    if p.stat().st_size == 0:
        raise InputError(
            p, None, f"{what} is empty (0 bytes)" + (f"; expected {expected}" if expected else "")
        )
    return p


def require(condition: bool, source: str | PathLike[str], where: str | None, problem: str) -> None:
    """Raise InputError(source, where, problem) unless ``condition`` holds."""
    if not condition:
        raise InputError(source, where, problem)


GZIP_MAGIC = b"\x1f\x8b"


def _require_uncompressed(path: Path, what: str) -> None:
    """Refuse a gzip file up front: read as text it only gives a confusing first-line error."""
    with open(path, "rb") as handle:
        if handle.read(2) == GZIP_MAGIC:
            raise InputError(
                path,
                None,
                f"is gzip-compressed; expected an uncompressed {what} (decompress it, e.g. "
                f"gunzip -k {path.name}, and give the decompressed file in the config)",
            )
