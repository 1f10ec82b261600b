"""The workflow on a real Slurm cluster through the repository's profile (``slurm/``).

The dry-run tests need no cluster. The ``slurm`` tests install Slurm with apt-get when it is
missing and start a one-node cluster on localhost: munged, MariaDB, slurmdbd (so that ``sacct``,
the plugin's status command, works as on real clusters), slurmctld and slurmd with one fake GPU.
Everything is private to one folder (configuration, state, sockets, free ports), so a Slurm
or munge already on the machine is left alone; the daemons run in the foreground as children of
this module and are stopped by PID. Every wait is bounded and Snakemake runs under
``timeout -k``, so a stuck status poll fails the test instead of hanging it.

One dataset of test_workflow.py's tiny configuration then runs twice at once: locally, and
with ``--profile slurm`` plus a site profile naming the test partition (the layering the README
documents). In that run the baseline's training job first asks for 100 MB, less than it needs:
Slurm kills it for exceeding its memory, and the profile's retry must resubmit it with the next
attempt's larger request.

Skipped, with the reason, only where Slurm cannot be installed: not root, or no apt-get.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import string
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from test_workflow import ROOT, SNAKEMAKE, TINY, snakemake, write_config

TEMPLATES = Path(__file__).parent / "slurm"
PACKAGES = ["slurm-wlm", "slurmdbd", "munge", "mariadb-server"]
PROGRAMS = ["slurmctld", "slurmd", "slurmdbd", "munged", "mariadbd", "mariadb-install-db", "sbatch", "sacct"]
PARTITION = "biodl"
# The plugin's job step drops SLURM_CONF before its srun, which then reads the configuration
# from /etc/slurm/slurm.conf or from where a configless slurmd publishes it: this link, made
# for the test's lifetime (so it must not exist already, nor the file in /etc).
CLIENT_CONF = Path("/run/slurm/conf")
DB_PASSWORD = secrets.token_hex(8)
START_TIMEOUT = 60  # seconds for each daemon to come up
RUN_TIMEOUT = 420  # seconds for the whole Slurm run (it takes 2 to 3 minutes on 2 busy cores)
# The job made to fail for memory: its first attempt gets 100 MB, less than the job-side
# Snakemake alone needs, then 1000 MB. A baseline holds its features in memory (the likeliest
# job to run out), and its retry runs beside the network's training, off the critical path.
RETRIED = "train_baseline"
MEMORY_OVERRIDE = f"{RETRIED}:mem_mb=100 * 10 ** (attempt - 1)"
# Outputs compared byte for byte between the local and the Slurm run (models and figures are
# zip and PNG files that carry timestamps).
COMPARED = ("*.json", "*.tsv", "*.npy")
# One dataset of test_workflow.py's tiny configuration, with its neural network (trained on a
# GPU: gpu_jobs lets any convolutional network ask for one, whatever its data size, and with two
# threads: so does the threads section) and its baseline (on CPUs): every kind of step, in few jobs.
CONFIG = {
    **TINY,
    "datasets": {"ctcf": TINY["datasets"]["ctcf"]},
    "runs": {"ctcf": TINY["runs"]["ctcf"]},
    "gpu_jobs": {"min_data_mb": 0},
    "threads": {"min_data_mb": 0},
}


# --------------------------------------------------------------------------------------------
# The dry run, as typed from the repository root (no cluster needed)
# --------------------------------------------------------------------------------------------


def dry_run_resources(*profiles: str, configfile: Path | None = None) -> list[tuple[str, dict[str, str]]]:
    """(rule, resources) of every job of a forced dry run of the demo (or ``configfile``) with these
    profiles."""
    args = [arg for profile in profiles for arg in ("--profile", profile)]
    args += ["--configfile", str(configfile)] if configfile else []
    result = snakemake(*args, "-n", "--forceall")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", result.stdout + result.stderr, re.M | re.S)
    assert jobs, result.stdout[-3000:]
    parsed = []
    for rule, block in jobs:
        line = re.search(r"^\s+resources: (.*)$", block, re.M)
        parsed.append((rule, dict(item.split("=", 1) for item in line[1].split(", ")) if line else {}))
    return parsed


def test_dry_run_with_the_profile_shows_what_each_job_asks_for():
    jobs = dry_run_resources("slurm")
    assert {rule for rule, _ in jobs} >= {"train", "summarize"}
    for rule, resources in jobs:
        if rule == "all":  # only collects the targets: never submitted
            continue
        assert {"mem_mb", "runtime"} <= resources.keys(), (rule, resources)
        asks_for_gpu = {k: resources.get(k) for k in ("gpu", "cpus_per_gpu")}
        # The demo's datasets are far below gpu_jobs.min_data_mb: its networks train on CPUs
        # (gpu=0), with one thread before preparation (0 MB, threads.min_data_mb);
        # tests/test_gpu_jobs.py has the jobs that ask for a GPU, test_job_threads.py more threads.
        assert asks_for_gpu == (
            {"gpu": "0", "cpus_per_gpu": "1"} if rule == "train" else {"gpu": None, "cpus_per_gpu": None}
        )


def test_site_profile_layered_on_the_workflow_profile():
    for rule, resources in dry_run_resources("slurm", "slurm/site-example"):
        if rule != "all":
            training = rule == "train"
            assert resources["slurm_partition"] == ("gpu" if training else "standard"), rule
            assert resources["slurm_account"] == "my_lab", rule
            assert resources.get("gpu_model") == ("a100" if training else None), rule
            assert "mem_mb" in resources and "runtime" in resources, rule


def test_site_profile_sends_attention_mil_training_to_the_gpu_partition():
    jobs = dict(dry_run_resources("slurm", "slurm/site-example", configfile=ROOT / "config/mil.yaml"))
    assert jobs["train_mil"]["slurm_partition"] == "gpu" and jobs["train_mil"]["gpu_model"] == "a100"
    assert "gpu" in jobs["train_mil"] and jobs["evaluate_classification"]["slurm_partition"] == "standard"


# --------------------------------------------------------------------------------------------
# A one-node Slurm cluster
# --------------------------------------------------------------------------------------------


def install_slurm() -> None:
    """apt-get install what is missing; skip where that is impossible, fail where it breaks."""
    if os.geteuid() != 0:
        pytest.skip("installing Slurm (apt-get) and starting its daemons as other users needs root")
    if all(shutil.which(p, path="/usr/sbin:/usr/bin") for p in PROGRAMS):
        return
    if not shutil.which("apt-get"):
        pytest.skip("Slurm is not installed and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        done = subprocess.run(
            ["timeout", "-k", "10", "300", *command, "-o", "DPkg::Lock::Timeout=60"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, (
            f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Cluster:
    dir: Path
    env: dict[str, str]
    daemons: list[tuple[str, subprocess.Popen]]

    def run(self, *command: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout)

    def ok(self, *command: str) -> bool:
        try:
            return self.run(*command, timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def start(self, name: str, *command: str, **popen: object) -> None:
        with open(self.dir / "log" / f"{name}.out", "w") as out:
            process = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **popen
            )
        self.daemons.append((name, process))

    def wait_for(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for name, process in self.daemons:
                assert process.poll() is None, f"{name} exited with {process.returncode}\n{self.logs()}"
            if ready():
                return
            time.sleep(0.5)
        pytest.fail(f"{what} not ready after {START_TIMEOUT} s\n{self.logs()}")

    def logs(self, lines: int = 15) -> str:
        """The last lines of every daemon's log, for failure messages."""
        tails = []
        for path in sorted((self.dir / "log").glob("*")):
            tails.append(
                f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            )
        return "\n".join(tails)

    def stop(self) -> None:
        """Cancel what is left in the queue, then stop each daemon this module started."""
        if any(name == "slurmctld" for name, _ in self.daemons):
            self.ok("scancel", "--user=root")
        for _, process in reversed(self.daemons):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def node_resources() -> tuple[int, int]:
    """CPUs and 90% of the memory that slurmd finds on this machine."""
    found = subprocess.run(["/usr/sbin/slurmd", "-C"], capture_output=True, text=True, timeout=30).stdout
    cpus = int(re.search(r"\bCPUs=(\d+)", found)[1])
    memory = int(re.search(r"\bRealMemory=(\d+)", found)[1])
    return cpus, memory * 9 // 10


def write_configuration(folder: Path) -> dict[str, str]:
    ctld_port, slurmd_port, dbd_port, db_port = free_ports(4)
    cpus, memory_mb = node_resources()
    values = {
        "dir": str(folder),
        "ctld_port": ctld_port,
        "slurmd_port": slurmd_port,
        "dbd_port": dbd_port,
        "db_port": db_port,
        "db_password": DB_PASSWORD,
        "cpus": cpus,
        "memory_mb": memory_mb,
        "partition": PARTITION,
    }
    for name in ("slurm.conf", "slurmdbd.conf", "gres.conf"):
        text = string.Template((TEMPLATES / name).read_text()).substitute(values)
        (folder / "etc" / name).write_text(text)
    (folder / "etc" / "slurmdbd.conf").chmod(0o600)  # slurmdbd refuses a readable password
    return {k: str(v) for k, v in values.items()}


def start_cluster(cluster: Cluster) -> None:
    folder = cluster.dir
    values = write_configuration(folder)

    munge = folder / "munge"
    key = munge / "munge.key"
    key.write_bytes(secrets.token_bytes(1024))
    for path in (munge, key):
        shutil.chown(path, "munge", "munge")
    key.chmod(0o400)
    cluster.start(
        "munged",
        "/usr/sbin/munged",
        "--foreground",
        f"--socket={munge}/munge.sock",
        f"--key-file={key}",
        f"--pid-file={munge}/munged.pid",
        f"--seed-file={munge}/seed",
        f"--log-file={folder}/log/munged.log",
        user="munge",
        group="munge",
        extra_groups=[],
    )
    cluster.wait_for("munged", lambda: cluster.ok("munge", "-n", "-S", f"{munge}/munge.sock"))

    db = folder / "db"
    db.mkdir()
    shutil.chown(db, "mysql", "mysql")
    installed = cluster.run(
        "mariadb-install-db",
        "--no-defaults",
        "--user=mysql",
        f"--datadir={db}",
        "--auth-root-authentication-method=socket",
        "--skip-test-db",
        timeout=120,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    cluster.start(
        "mariadbd",
        "/usr/sbin/mariadbd",
        "--no-defaults",
        "--user=mysql",
        f"--datadir={db}",
        f"--socket={db}/mysqld.sock",
        f"--pid-file={db}/mysqld.pid",
        "--bind-address=127.0.0.1",
        f"--port={values['db_port']}",
        "--skip-name-resolve",
    )
    sql = ("mariadb", "--no-defaults", "-S", f"{db}/mysqld.sock", "-u", "root", "-e")
    cluster.wait_for("MariaDB", lambda: cluster.ok(*sql, "SELECT 1"))
    granted = cluster.run(
        *sql,
        f"CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '{DB_PASSWORD}'; "
        "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';",
    )
    assert granted.returncode == 0, granted.stderr

    cluster.start("slurmdbd", "/usr/sbin/slurmdbd", "-D")
    cluster.wait_for("slurmdbd", lambda: port_open(int(values["dbd_port"])))
    cluster.start("slurmctld", "/usr/sbin/slurmctld", "-D", "-i")
    cluster.wait_for("slurmctld", lambda: cluster.ok("scontrol", "ping"))
    cluster.start("slurmd", "/usr/sbin/slurmd", "-D", "-N", "localhost")
    cluster.wait_for(
        "the node", lambda: cluster.run("sinfo", "-h", "-N", "-o", "%T").stdout.strip() == "idle"
    )
    cluster.wait_for("sacct", lambda: cluster.ok("sacct", "-n"))


@pytest.fixture(scope="module")
def slurm_cluster() -> Iterator[Cluster]:
    install_slurm()
    for path in (Path("/etc/slurm/slurm.conf"), CLIENT_CONF):
        if path.exists() or path.is_symlink():
            pytest.fail(
                f"{path} exists: this machine has a Slurm of its own, which the test cluster would clash with"
            )
    # Not under pytest's tmp_path: munged wants every folder above its socket open to all.
    folder = Path(tempfile.mkdtemp(prefix="biodl-slurm-"))
    folder.chmod(0o755)
    for sub in ("etc", "log", "state", "spool", "munge"):
        (folder / sub).mkdir()
    cluster = Cluster(folder, {**os.environ, "SLURM_CONF": str(folder / "etc" / "slurm.conf")}, [])
    made_run_dir = not CLIENT_CONF.parent.exists()
    CLIENT_CONF.parent.mkdir(parents=True, exist_ok=True)
    CLIENT_CONF.symlink_to(folder / "etc")
    try:
        start_cluster(cluster)
        yield cluster
    finally:
        cluster.stop()
        CLIENT_CONF.unlink()
        if made_run_dir:
            CLIENT_CONF.parent.rmdir()
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# The tiny workflow, locally and on the cluster
# --------------------------------------------------------------------------------------------


@dataclass
class SlurmJob:
    id: int
    rule: str
    instance: str  # the plugin's comment: rule and wildcard values
    state: str
    req_mem_mb: int
    req_tres: str
    alloc_tres: str


def new_workdir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    workdir = tmp_path_factory.mktemp(name)
    shutil.copytree(ROOT / "resources", workdir / "resources")
    return workdir


@dataclass
class Runs:
    local: Path  # workdir of the local run
    slurm: Path  # workdir of the Slurm run
    jobs: list[SlurmJob]  # what sacct lists
    planned: Counter  # rule → jobs in the Slurm run's DAG


@pytest.fixture(scope="module")
def runs(slurm_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    local, slurm = new_workdir(tmp_path_factory, "local"), new_workdir(tmp_path_factory, "slurm")
    site = slurm / "site" / "config.yaml"
    site.parent.mkdir()
    # All that this cluster needs on top of the repository's profile: its partition, and a
    # first status check after 2 s instead of 40 s to keep the test short.
    site.write_text(
        yaml.safe_dump(
            {
                "default-resources": {"slurm_partition": PARTITION},
                "slurm-init-seconds-before-status-checks": 2,
            }
        )
    )
    workflow = ["--snakefile", str(ROOT / "Snakefile")]
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The local run uses the CPUs that the Slurm run leaves idle between status checks.
        local_run = pool.submit(
            snakemake, *workflow, "--configfile", write_config(local, CONFIG), "--cores", "2", cwd=local
        )
        run = subprocess.run(
            [
                "timeout",
                "-k",
                "30",
                str(RUN_TIMEOUT),
                SNAKEMAKE,
                *workflow,
                "--configfile",
                write_config(slurm, CONFIG),
                "--profile",
                str(ROOT / "slurm"),
                "--profile",
                str(site.parent),
                "--set-resources",
                MEMORY_OVERRIDE,
            ],
            cwd=slurm,
            env=slurm_cluster.env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT + 60,
        )
        local_result = local_run.result()
    assert run.returncode == 0, (
        f"snakemake exited with {run.returncode} (124, -9: timed out)\n{run.stderr[-4000:]}\n"
        f"{slurm_cluster.logs()}"
    )
    assert local_result.returncode == 0, local_result.stderr[-3000:]
    stats = re.search(r"^Job stats:\n(.*?)^total", run.stderr, re.M | re.S)[1]
    planned = Counter(
        {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", stats, re.M) if rule != "all"}
    )
    return Runs(local, slurm, sacct(slurm_cluster), planned)


def sacct(cluster: Cluster) -> list[SlurmJob]:
    fields = "JobID,Comment%300,State,ReqMem,ReqTRES%300,AllocTRES%300"
    listed = cluster.run("sacct", "-X", "-n", "-P", "--starttime=2000-01-01", f"--format={fields}")
    assert listed.returncode == 0, listed.stderr
    jobs = []
    for line in listed.stdout.splitlines():
        job_id, comment, state, req_mem, req_tres, alloc_tres = line.split("|")
        rule = re.fullmatch(r"rule_(.+?)(_wildcards_.*)?", comment)
        assert rule, f"job {job_id} was not submitted by the plugin: comment {comment!r}"
        number, unit = re.fullmatch(r"([\d.]+)([KMGT])", req_mem).groups()
        req_mem_mb = round(float(number) * 1024 ** "KMGT".index(unit) / 1024)
        jobs.append(SlurmJob(int(job_id), rule[1], comment, state, req_mem_mb, req_tres, alloc_tres))
    return sorted(jobs, key=lambda job: job.id)


@pytest.mark.slurm
def test_every_job_ran_through_slurm_once(runs: Runs):
    completed = [job for job in runs.jobs if job.state == "COMPLETED"]
    assert Counter(job.rule for job in completed) == runs.planned
    assert len({job.instance for job in completed}) == len(completed), [job.instance for job in completed]
    # The one failure is the memory test's (see test_job_killed_for_memory_is_retried_with_more).
    assert [job.rule for job in runs.jobs if job.state != "COMPLETED"] == [RETRIED]


@pytest.mark.slurm
def test_only_training_asks_for_a_gpu(runs: Runs):
    for job in runs.jobs:
        if job.rule == "train":
            assert "gres/gpu=1" in job.req_tres and "cpu=2" in job.alloc_tres, job
        else:
            assert "gpu" not in job.req_tres, job


@pytest.mark.slurm
def test_outputs_match_a_local_run(runs: Runs):
    def outputs(workdir: Path) -> dict[str, Path]:
        return {
            str(p.relative_to(workdir)): p for p in sorted((workdir / "results").rglob("*")) if p.is_file()
        }

    local, on_slurm = outputs(runs.local), outputs(runs.slurm)
    assert local.keys() == on_slurm.keys()
    compared = [name for name in local if any(Path(name).match(pattern) for pattern in COMPARED)]
    assert any(name.endswith("metrics.tsv") for name in compared) and any(
        name.endswith(".npy") for name in compared
    )
    differing = [name for name in compared if local[name].read_bytes() != on_slurm[name].read_bytes()]
    assert not differing


@pytest.mark.slurm
def test_job_killed_for_memory_is_retried_with_more(runs: Runs):
    attempts = [job for job in runs.jobs if job.rule == RETRIED]
    assert len(attempts) == 2, attempts
    first, second = attempts
    assert (first.state, first.req_mem_mb) == ("FAILED", 100)
    assert (second.state, second.req_mem_mb) == ("COMPLETED", 1000)
    (log,) = (runs.slurm / ".snakemake" / "slurm_logs").rglob(f"{first.id}.log")
    assert "exceeded memory limit" in log.read_text()
