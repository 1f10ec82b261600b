"""Memory of a benchmark's worker process on Linux, measured and capped.

- ``status_kb(field)``: a field of ``/proc/self/status`` in kB (``VmHWM``: the peak RSS so far).
- ``PeakParts``: the peaks of the anonymous and the file-backed RSS, sampled every 50 ms on a
  background thread (touched pages of memory-mapped files count as file-backed).
- ``memory_cgroup(limit_bytes)``: a new memory cgroup (v1 ``memory.limit_in_bytes`` or v2
  ``memory.max``, swap left out) for a child to join, or None where this process may not make
  one; ``oom_kills`` and ``peak_charge_mb`` read it back afterwards.
- ``evict_from_page_cache(root)``: the dataset's shards dropped from the page cache, so a cgroup
  is charged for reading them.
Only the standard library: the worker processes import it before TensorFlow.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


class PeakParts:
    """Peak anonymous and file-backed RSS, sampled every 50 ms on a background thread."""

    def __init__(self) -> None:
        self.anon_kb = self.file_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.anon_kb = max(self.anon_kb, status_kb("RssAnon"))
            self.file_kb = max(self.file_kb, status_kb("RssFile"))

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {"peak_anon_mb": self.anon_kb / 1024, "peak_file_mb": self.file_kb / 1024}


def memory_cgroup(limit_bytes: int) -> tuple[Path, str] | None:
    """A new memory cgroup limited to ``limit_bytes`` and how it was made, or None where this
    process may not create one."""
    v1 = Path("/sys/fs/cgroup/memory")
    if (v1 / "memory.limit_in_bytes").exists():
        # memsw is memory + swap: the same limit leaves no room for swapping instead.
        parent, limits, how = (
            v1,
            {"memory.limit_in_bytes": limit_bytes, "memory.memsw.limit_in_bytes": limit_bytes},
            "cgroup v1 memory.limit_in_bytes",
        )
    elif Path("/sys/fs/cgroup/cgroup.controllers").exists():
        own = next(
            line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines() if line.startswith("0::")
        )
        parent, limits, how = (
            Path("/sys/fs/cgroup" + own).parent,
            {"memory.max": limit_bytes, "memory.swap.max": 0},
            "cgroup v2 memory.max",
        )
    else:
        return None
    folder = parent / f"biodl-train-pipeline-{os.getpid()}"
    try:
        folder.mkdir()
        for i, (key, value) in enumerate(limits.items()):
            if i == 0 or (folder / key).exists():  # the memory limit itself must be there
                (folder / key).write_text(str(value))
        return folder, how
    except OSError:
        if folder.exists():
            folder.rmdir()
        return None


def oom_kills(folder: Path) -> int:
    for name in ("memory.oom_control", "memory.events"):
        if (folder / name).exists():
            for line in (folder / name).read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
    return 0


def peak_charge_mb(folder: Path) -> float | None:
    """The cgroup's peak memory charge (its processes' memory and the page cache they read)."""
    for name in ("memory.max_usage_in_bytes", "memory.peak"):
        if (folder / name).exists():
            return int((folder / name).read_text()) / 2**20
    return None


def evict_from_page_cache(root: Path) -> None:
    """Drop the dataset's cached pages: a cgroup is charged for the pages its processes bring
    into the cache, not for pages already there (charged to whoever read them first)."""
    for path in (root / "shards").iterdir():
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(descriptor)
