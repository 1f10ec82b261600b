"""What the benchmark scripts share: peer tools in pinned venvs, load average, peak memory.

Peer tools the benchmarks compare against each live in their own pinned virtual environment.

A peer (histolab, kipoiseq, ...) never enters the workflow's environment: its pins often clash
with ours. ``peer_python(tool, pins)`` returns the interpreter of ``.cache/bench-venvs/<tool>/``
(git-ignored), creating the venv and ``pip install --no-deps``-ing exactly ``pins`` the first
time, or again whenever the pins change (the installed list is recorded in ``pins.txt`` inside
it). ``--no-deps`` because a peer's own pins may have no wheels left for this python: the list
names every package, at versions checked to import and run.
"""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / ".cache" / "bench-venvs"


def peer_python(tool: str, pins: list[str]) -> Path:
    """The python of ``tool``'s venv with exactly ``pins`` installed (created on first use)."""
    home = VENVS / tool
    python = home / "bin" / "python"
    record = home / "pins.txt"
    wanted = "\n".join(pins) + "\n"
    if python.exists() and record.exists() and record.read_text() == wanted:
        return python
    print(f"installing {tool} for the benchmark into {home.relative_to(ROOT)}: {' '.join(pins)}", flush=True)
    venv.EnvBuilder(clear=True, with_pip=True).create(home)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", *pins],
        check=True,
    )
    record.write_text(wanted)
    return python


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages: above the core count, something else competed."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not ``ru_maxrss``: Linux carries that over from the
    parent through fork and exec, so a child of a large parent would report the parent's size."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024  # kB


def resident_mb() -> float:
    """This process's resident memory now (VmRSS)."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024  # kB
