"""One training of a run at a time: a lock file beside the run's checkpoint folder.

Contract:
- ``run_lock(folder)`` (a context manager; ``folder`` a ``biodl.core.files.RunFolder``, or None
  for no lock) holds ``<root>/<dataset>/.<model>.lock`` while the block runs. The file is
  created atomically (``O_CREAT | O_EXCL``: of two processes, one gets it) and holds its
  owner as JSON: host, process id, the process's start time (Linux; it tells a reused id from
  the owner) and when it was taken. A thread touches it every ``HEARTBEAT_S`` seconds; leaving
  the block deletes it (when it is still this process's). Its name starts with a dot, which no
  run folder's name may (``PLAIN_NAME``), so it never collides with a sibling run.
- A lock found in place is taken over, with a WARNING log line, when its owner is gone: on this
  host, no process with its id, or one with another start time; on another host, no heartbeat
  for ``STALE_AFTER_S`` seconds (a node that died or a job its scheduler killed). Otherwise
  ``RunLocked`` (an ``InputError``) names the run, the owner (host, process id, since when) and
  what to do. Two processes taking over one stale lock at the same instant are told apart by
  re-reading it just before deleting it; O_EXCL then lets one of them have the new one.
- Why: after ``kill -9`` of Snakemake alone, its training job runs on; ``--unlock`` and a rerun
  would start a second training of the run on the same checkpoint folder.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from biodl.core.errors import InputError
from biodl.core.files import RunFolder

logger = logging.getLogger(__name__)

HEARTBEAT_S = 30.0
STALE_AFTER_S = 120.0


class RunLocked(InputError):
    """Another live process is training this run."""


def lock_path(folder: RunFolder) -> Path:
    return Path(folder.root) / folder.dataset / f".{folder.model}.lock"


@contextlib.contextmanager
def run_lock(folder: RunFolder | None) -> Iterator[None]:
    """Hold the run's lock while the block runs (see the module contract)."""
    if folder is None:
        yield
        return
    path = lock_path(folder)
    owner = _take(path, f"{folder.dataset}/{folder.model}")
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(path, stop), name="run-lock-heartbeat", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        if _read(path) == owner:
            path.unlink(missing_ok=True)


def _take(path: Path, run: str) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    owner = _this_process()
    for _ in range(3):  # a stale lock removed, then taken; a race lost, then judged again
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            found = _read(path)
            if found is None:  # removed meanwhile, or written half by a killed owner
                if _age(path) < STALE_AFTER_S:
                    time.sleep(0.05)
                    continue
                found = {}
            problem = _why_alive(found, path)
            if problem is not None:
                raise RunLocked(path, None, f"run {run} {problem}") from None
            if _read(path) == (found or None):
                logger.warning("taking over the lock of run %s from %s (%s)", run, _who(found), path)
                path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(owner, handle)
        return owner
    raise RunLocked(path, None, f"run {run}: another process keeps taking this run's lock; run again")


def _why_alive(owner: dict[str, Any], path: Path) -> str | None:
    """Why ``owner`` still holds the lock, in the words of the refusal; None when it is gone."""
    held = f"is being trained by {_who(owner)} since {owner.get('taken', 'an unknown time')}"
    if owner.get("host") == socket.gethostname():
        if not _alive(owner.get("pid"), owner.get("started")):
            return None
        return (
            f"{held}; expected one training per run: wait for it to finish, or stop it "
            f"(kill {owner['pid']}) and run again, which resumes from its last finished epoch"
        )
    age = _age(path)
    if age >= STALE_AFTER_S:
        return None
    return (
        f"{held}, alive {age:.0f} s ago; expected one training per run: a training on another host "
        f"is taken over once it has shown no sign of life for {STALE_AFTER_S:.0f} s, so wait for it "
        f"to finish, or stop that job and run again in {STALE_AFTER_S - age:.0f} s"
    )


def _who(owner: dict[str, Any]) -> str:
    return f"process {owner.get('pid', '?')} on {owner.get('host', 'an unknown host')}"


def _alive(pid: Any, started: Any) -> bool:
    """Whether process ``pid`` of this host exists and (where known) started at ``started``."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    return started is None or _start_time(pid) in (None, started)


def _start_time(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])  # field 22; the name in () may hold spaces


def _this_process() -> dict[str, Any]:
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": _start_time(os.getpid()),
        "taken": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def _read(path: Path) -> dict[str, Any] | None:
    try:
        owner = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


def _age(path: Path) -> float:
    """Seconds since the lock was last touched (its owner's heartbeat); infinite when it is gone."""
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return float("inf")


def _heartbeat(path: Path, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        with contextlib.suppress(OSError):
            os.utime(path)
