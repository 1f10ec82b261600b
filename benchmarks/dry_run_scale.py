"""Snakemake at scale: wall time of `snakemake -n` on configs of 100 to 10,000 runs, and where it goes.

What is measured: a config of D datasets x M models x S seeds is written to a temporary folder
(the demo's resources linked in, so every path resolves) and `snakemake -n` runs on it in a
fresh process (`-s <repo>/Snakefile --configfile config.yaml`, from that folder: nothing exists
there yet, so every job is listed, as on a user's first dry run; the listing goes to a pipe).
Per size: wall time (median of `--repeats` runs), CPU time of the process (median; on a busy
machine wall time also counts waits for a core), jobs, ms per job, and two ratios:
- `x bare`, against the baseline: the same jobs in a bare Snakefile (BARE_SNAKEFILE: inputs,
  outputs and a shell command per rule, nothing else), run the same way, alternating with the
  workflow: what Snakemake itself costs for this DAG;
- `/ 30 s`: against the goal of issue 9 (10,000 runs dry-run in under 30 s; below 1 meets it).

The runs: the datasets cycle through the demo's six (two DNA, two tables, two images: the same
specs under new names); each dataset runs M models of the kind its modality takes (copies of the
demo's cnn_motif, mlp and cnn_tiles), and every model is an ensemble of S members by seed
(`ensemble: {members: S, by: seed}`, biodl.workflow.variants), the config's way of saying "S seeds":
D x M x S runs trained, predicted, evaluated and plotted, plus D x M ensembles averaging their
members (about 4.2 jobs per run). Config validation reads, per dataset, whether its input files
exist (DNA: FASTA/BED, tables: the CSV) and, for images, the sample sheet (parsed, every image
and mask it lists checked); the preparing jobs' input functions read the sheet again. No data
file is opened.

Where the time goes: one dry run of the largest size runs again in-process (a fresh Python)
under a stack sampler (the main thread's stack every 2 ms, weighted by the time between
samples; a long C call is charged to the Python code that follows it). Each sample goes to one
part: our code (config validation, run expansion, helpers at parse time, input functions,
params and resources per job) where any of its frames is on the stack, else the innermost
Snakemake step found (parsing, matching files to rules, creating jobs, evaluating params and
resources, file checks, script and conda checks, DAG bookkeeping, printing, start-up). Then the
hot spots: the innermost Snakemake or workflow function of each sample, summed.

Usage: .venv/bin/python benchmarks/dry_run_scale.py [--sizes 5x2x10,10x10x10,20x50x10]
       [--repeats 5] [--no-profile] [--contender NAME=SNAKEFILE ...]
`--contender` times another checkout's Snakefile beside the workflow (same config, same folder),
e.g. the workflow before a change: `git worktree add /tmp/before <commit>`, then
`--contender before=/tmp/before/Snakefile`.
       .venv/bin/python benchmarks/dry_run_scale.py --smoke   (50 runs, one repeat: CI)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
GOAL_S, GOAL_RUNS = 30.0, 10_000
# The demo's datasets, cycled, and the demo model each modality's runs copy.
DATASETS = ("ctcf", "yeast_promoters", "breast_cancer", "diabetes", "skin_epithelium", "brain_lobes")
MODELS = {"dna": "cnn_motif", "table": "mlp", "image": "cnn_tiles"}


def write_config(folder: Path, datasets: int, models: int, seeds: int) -> Path:
    """The config of ``datasets x models x seeds`` runs in ``folder`` (see the module docstring)."""
    demo = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    names = {f"{DATASETS[i % len(DATASETS)]}_{i + 1}": DATASETS[i % len(DATASETS)] for i in range(datasets)}
    modalities = {demo["datasets"][base]["modality"] for base in names.values()}
    config = {
        "seed": demo["seed"],
        "datasets": {name: demo["datasets"][base] for name, base in names.items()},
        "models": {
            f"{MODELS[m]}_{j + 1}": {
                **demo["models"][MODELS[m]],
                "ensemble": {"members": seeds, "by": "seed"},
            }
            for m in sorted(modalities)
            for j in range(models)
        },
        "runs": {
            name: [f"{MODELS[demo['datasets'][base]['modality']]}_{j + 1}" for j in range(models)]
            for name, base in names.items()
        },
        "interpretation": demo["interpretation"],
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "resources").symlink_to(ROOT / "resources")
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# The baseline: Snakemake's own cost for the same jobs. The DAG of the workflow for a config of
# write_config (a prepare job per dataset; per member: train, predict, evaluate, plot_training; per
# ensemble: average, evaluate; summarize, leaderboard, all), each rule with inputs, outputs and a
# shell command only: no params, resources, logs, benchmarks, conda envs, scripts or report flags.
BARE_SNAKEFILE = """
ENSEMBLES = [(d, m) for d, models in config["runs"].items() for m in models]
MEMBERS = [
    (d, f"{m}.seed{i}")
    for d, m in ENSEMBLES
    for i in range(1, config["models"][m]["ensemble"]["members"] + 1)
]
METRICS = [f"results/evaluation/{d}/{m}/metrics.tsv" for d, m in MEMBERS + ENSEMBLES]
CURVES = [f"results/evaluation/{d}/{m}/training_curves.png" for d, m in MEMBERS]


def member_predictions(w):
    count = config["models"][w.model]["ensemble"]["members"]
    return [f"results/evaluation/{w.dataset}/{w.model}.seed{i}/predictions.tsv" for i in range(1, count + 1)]


wildcard_constraints:
    dataset="[^/]+",
    model="[^/.]+",


rule all:
    input: METRICS, CURVES, "results/leaderboard.html"


rule prepare:
    output: "results/prepared/{dataset}/dataset.json"
    shell: "touch {output}"


rule train:
    input: "results/prepared/{dataset}/dataset.json"
    output: "results/models/{dataset}/{model}/model.keras", "results/models/{dataset}/{model}/history.tsv"
    wildcard_constraints: model=r"[^/.]+\\.seed\\d+"
    shell: "touch {output}"


rule predict:
    input: "results/prepared/{dataset}/dataset.json", "results/models/{dataset}/{model}/model.keras"
    output: "results/evaluation/{dataset}/{model}/predictions.tsv"
    wildcard_constraints: model=r"[^/.]+\\.seed\\d+"
    shell: "touch {output}"


rule average:
    input: member_predictions
    output: "results/evaluation/{dataset}/{model}/predictions.tsv"
    shell: "touch {output}"


rule evaluate:
    input: "results/prepared/{dataset}/dataset.json", "results/evaluation/{dataset}/{model}/predictions.tsv"
    output: "results/evaluation/{dataset}/{model,[^/]+}/metrics.tsv"
    shell: "touch {output}"


rule plot_training:
    input: "results/models/{dataset}/{model}/history.tsv"
    output: "results/evaluation/{dataset}/{model,[^/]+}/training_curves.png"
    shell: "touch {output}"


rule summarize:
    input: METRICS
    output: "results/summary.tsv"
    shell: "touch {output}"


rule leaderboard:
    input: "results/summary.tsv"
    output: "results/leaderboard.html"
    shell: "touch {output}"
"""


def snakemake_args(config: Path, snakefile: Path = ROOT / "Snakefile") -> list[str]:
    return ["-s", str(snakefile), "--configfile", str(config), "-n"]


def job_count(output: str, where: str) -> int:
    """The total of Snakemake's job table."""
    found = re.search(r"^total\s+(\d+)\s*$", output, re.MULTILINE)
    if not found:
        raise RuntimeError(f"{where}: no job table in the dry run's output:\n{output[-3000:]}")
    return int(found.group(1))


def time_dry_run(config: Path, snakefile: Path, folder: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of one `snakemake -n` in a fresh process run in ``folder``, and its job count."""
    cpu = _children_cpu()
    start = time.perf_counter()
    result = subprocess.run(
        [str(SNAKEMAKE), *snakemake_args(config, snakefile)],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"snakemake -n -s {snakefile} failed on {config}:\n{result.stdout[-3000:]}")
    return seconds, _children_cpu() - cpu, job_count(result.stdout, str(config))


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children: on a busy machine the
    dry run's own work, where wall time also counts the waits for a core."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# Stack sampling: each sample goes to one part (see the module docstring).
OUR_ENTRIES = {
    "validate_config": "our code: config validation (biodl.config)",
    "expand_variants": "our code: run expansion (biodl.workflow.variants)",
    "evaluated_runs": "our code: run expansion (biodl.workflow.variants)",
}
OUR_PER_JOB = "our code: input functions, params, resources (per job)"
OUR_PARSE = "our code: helpers at parse time (patterns, targets)"
# (path fragment, function names or None for any) -> part; the innermost matching frame decides.
SNAKEMAKE_PARTS = [
    (
        (
            "snakemake/io/",
            {
                "exists",
                "exists_local",
                "mtime",
                "mtime_uncached",
                "inventory",
                "_local_inventory",
                "size",
                "size_local",
                "is_newer",
                "check_broken_symlink",
                "mtime_inventory",
                "worker",
                "collect_mtime",
            },
        ),
        "Snakemake: file checks (exists, mtime, size)",
    ),
    (("snakemake/output_index.py", None), "Snakemake: matching files to rules (wildcards)"),
    (
        ("snakemake/rules.py", {"is_producer", "get_wildcards", "is_target"}),
        "Snakemake: matching files to rules (wildcards)",
    ),
    (
        ("snakemake/dag.py", {"file2jobs", "collect_potential_dependencies"}),
        "Snakemake: matching files to rules (wildcards)",
    ),
    (
        ("snakemake/rules.py", {"expand_params", "expand_resources"}),
        "Snakemake: evaluating params and resources",
    ),
    (("snakemake/resources.py", None), "Snakemake: evaluating params and resources"),
    (("snakemake/dag.py", {"new_job"}), "Snakemake: creating jobs (inputs, outputs, logs)"),
    (("snakemake/jobs.py", {"new", "__init__"}), "Snakemake: creating jobs (inputs, outputs, logs)"),
    (("snakemake/script/", None), "Snakemake: script and conda env checks"),
    (("snakemake/sourcecache.py", None), "Snakemake: script and conda env checks"),
    (("snakemake/deployment/", None), "Snakemake: script and conda env checks"),
    (("snakemake/dag.py", {"update_conda_envs"}), "Snakemake: script and conda env checks"),
    (("snakemake/jobs.py", {"log_info"}), "Snakemake: printing the dry run"),
    (("snakemake/executors/dryrun.py", None), "Snakemake: printing the dry run"),
    (("snakemake/logging.py", None), "Snakemake: printing the dry run"),
    (("snakemake/dag.py", None), "Snakemake: DAG bookkeeping (update, needrun, postprocess)"),
    (("snakemake/scheduling/", None), "Snakemake: scheduling"),
    (("snakemake/workflow.py", {"include"}), "Snakemake: parsing the Snakefile and rules"),
]
STARTUP = "start-up: imports, CLI, settings"


def _ours(filename: str) -> bool:
    return (
        filename.startswith(str(ROOT / "scripts"))
        or filename.startswith(str(ROOT / "workflow"))
        or filename == str(ROOT / "Snakefile")
    )


def classify(stack: list[tuple[str, str]]) -> str:
    """The part one sampled stack (outermost frame first) belongs to."""
    ours = [name for filename, name in stack if _ours(filename) and name != "<module>"]
    if ours:
        if ours[0] in OUR_ENTRIES:
            return OUR_ENTRIES[ours[0]]
        in_dag = any(f.endswith(("snakemake/dag.py", "snakemake/jobs.py")) for f, _ in stack)
        return OUR_PER_JOB if in_dag else OUR_PARSE
    for filename, name in reversed(stack):
        for (fragment, names), part in SNAKEMAKE_PARTS:
            if fragment in filename and (names is None or name in names):
                return part
    return STARTUP


def hot_spot(stack: list[tuple[str, str]]) -> str:
    """The innermost Snakemake or workflow function of a sampled stack (library frames skipped)."""
    for filename, name in reversed(stack):
        if _ours(filename) or "site-packages/snakemake" in filename:
            short = (
                filename.split("site-packages/")[-1]
                if "site-packages/" in filename
                else os.path.relpath(filename, ROOT)
            )
            return f"{short}:{name}"
    return "(other)"


def profile_child(config: Path, out: Path) -> None:
    """Run `snakemake -n` in this process under the stack sampler; write the parts as JSON."""
    from snakemake.cli import main as snakemake_main

    main_thread, done = threading.get_ident(), threading.Event()
    stacks: defaultdict[tuple[tuple[str, str], ...], float] = defaultdict(float)

    def sample() -> None:
        # Stacks are counted as they are and classified afterwards: the sampler holds the GIL briefly.
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.002)
            frame = sys._current_frames().get(main_thread)
            now = time.perf_counter()
            stack = []
            while frame is not None:
                stack.append((frame.f_code.co_filename, frame.f_code.co_name))
                frame = frame.f_back
            stacks[tuple(stack)] += now - last
            last = now

    # Python's garbage collector: its passes are charged to whatever code allocated at the time.
    collecting = {"start": 0.0, "seconds": 0.0}

    def count_collections(phase: str, info: dict) -> None:
        if phase == "start":
            collecting["start"] = time.perf_counter()
        else:
            collecting["seconds"] += time.perf_counter() - collecting["start"]

    gc.callbacks.append(count_collections)
    os.chdir(config.parent)
    sampler = threading.Thread(target=sample, daemon=True)
    log = out.with_suffix(".log")
    start = time.perf_counter()
    sampler.start()
    code: str | int | None = 0
    with open(log, "w") as stream:
        saved = os.dup(1), os.dup(2)
        os.dup2(stream.fileno(), 1)
        os.dup2(stream.fileno(), 2)
        try:
            snakemake_main(snakemake_args(config))
        except SystemExit as exit_:
            code = exit_.code
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    if code:
        raise RuntimeError(f"snakemake -n failed under the profiler:\n{log.read_text()[-3000:]}")
    parts: defaultdict[str, float] = defaultdict(float)
    spots: defaultdict[str, float] = defaultdict(float)
    for stack, seconds in stacks.items():
        outermost_first = stack[::-1]
        parts[classify(list(outermost_first))] += seconds
        spots[hot_spot(list(outermost_first))] += seconds
    out.write_text(
        json.dumps(
            {
                "wall": wall,
                "gc": collecting["seconds"],
                "jobs": job_count(log.read_text(), str(log)),
                "parts": parts,
                "spots": dict(sorted(spots.items(), key=lambda item: -item[1])[:15]),
            }
        )
    )


def profile(config: Path, runs: int) -> None:
    out = config.parent / "profile.json"
    subprocess.run([sys.executable, __file__, "--profile-child", str(config), str(out)], check=True)
    found = json.loads(out.read_text())
    jobs, parts = found["jobs"], found["parts"]
    sampled = sum(parts.values())
    print(
        f"\nWhere the time goes: one dry run of {runs:,} runs ({jobs:,} jobs) "
        "in-process under a stack sampler, "
        f"{found['wall']:.1f} s wall"
    )
    print(f"{'part':58} {'s':>7} {'share':>6} {'ms/job':>7}")
    for part, seconds in sorted(parts.items(), key=lambda item: -item[1]):
        print(f"{part:58} {seconds:7.2f} {seconds / sampled:6.1%} {1000 * seconds / jobs:7.3f}")
    print(f"{'total sampled':58} {sampled:7.2f} {1:6.0%} {1000 * sampled / jobs:7.3f}")
    print(
        f"{'  in all parts: Python garbage collection':58} {found['gc']:7.2f} {found['gc'] / sampled:6.1%} "
        f"{1000 * found['gc'] / jobs:7.3f}"
    )
    print("\nHot spots: the innermost Snakemake or workflow function on the stack")
    for spot, seconds in found["spots"].items():
        print(f"{spot:58} {seconds:7.2f} {seconds / sampled:6.1%} {1000 * seconds / jobs:7.3f}")


def parse_size(text: str) -> tuple[int, int, int]:
    found = re.fullmatch(r"(\d+)x(\d+)x(\d+)", text)
    if not found:
        raise argparse.ArgumentTypeError(f"expected DATASETSxMODELSxSEEDS such as 20x50x10, found {text!r}")
    datasets, models, seeds = (int(n) for n in found.groups())
    return datasets, models, seeds


def parse_contender(text: str) -> tuple[str, Path]:
    name, _, snakefile = text.partition("=")
    if not name or not Path(snakefile).is_file():
        raise argparse.ArgumentTypeError(
            f"expected NAME=SNAKEFILE with an existing Snakefile, found {text!r}"
        )
    return name, Path(snakefile).resolve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="5x2x10,10x10x10,20x50x10",
        help="comma-separated DATASETSxMODELSxSEEDS (default: 100, 1,000 and 10,000 runs)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="dry runs per size (the median is reported)")
    parser.add_argument("--no-profile", action="store_true", help="skip the breakdown of the largest size")
    parser.add_argument(
        "--contender",
        action="append",
        default=[],
        metavar="NAME=SNAKEFILE",
        type=parse_contender,
        help="also time another checkout's Snakefile, e.g. before=/tmp/before/Snakefile "
        "(from `git worktree add /tmp/before <commit>`)",
    )
    parser.add_argument("--smoke", action="store_true", help="50 runs, one repeat (CI)")
    parser.add_argument("--profile-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile_child:
        profile_child(*args.profile_child)
        return
    sizes = [parse_size(s) for s in ("5x1x10" if args.smoke else args.sizes).split(",")]
    repeats = 1 if args.smoke else args.repeats
    print(
        f"snakemake -n from a fresh folder, median of {repeats} run(s) per size and contender (alternating); "
        f"goal: {GOAL_RUNS:,} runs in {GOAL_S:.0f} s"
    )
    print(
        "baseline 'bare': the same jobs in a Snakefile of inputs, outputs and shell commands only "
        "(Snakemake's floor)"
    )
    print(
        f"{'runs':>7} {'DxMxS':>9} {'jobs':>7} {'contender':>9} {'median s':>9} {'min s':>7} "
        f"{'cpu s':>7} {'ms/job':>7} {'x bare':>7} {'/ 30 s':>7} {'load 1m':>7}"
    )
    with tempfile.TemporaryDirectory() as folder:
        largest: tuple[Path, int] | None = None
        for d, m, s in sizes:
            runs = d * m * s
            config = write_config(Path(folder) / f"runs{runs}", d, m, s)
            bare = Path(folder) / f"runs{runs}-bare" / "Snakefile"
            bare.parent.mkdir()
            bare.write_text(BARE_SNAKEFILE)
            contenders = {
                "workflow": (ROOT / "Snakefile", config.parent),
                "bare": (bare, bare.parent),
                **{name: (snakefile, config.parent) for name, snakefile in args.contender},
            }
            timings: dict[str, list[tuple[float, float, int]]] = {name: [] for name in contenders}
            for _ in range(repeats):
                for name, (snakefile, cwd) in contenders.items():
                    timings[name].append(time_dry_run(config, snakefile, cwd))
            load = Path("/proc/loadavg").read_text().split()[0]
            medians = {name: statistics.median(t for t, _, _ in found) for name, found in timings.items()}
            for name, found in timings.items():
                times, cpus, jobs = zip(*found, strict=True)
                print(
                    f"{runs:7,} {f'{d}x{m}x{s}':>9} {jobs[0]:7,} {name:>9} "
                    f"{medians[name]:9.2f} {min(times):7.2f} "
                    f"{statistics.median(cpus):7.2f} {1000 * medians[name] / jobs[0]:7.3f} "
                    f"{medians[name] / medians['bare']:7.2f} {medians[name] / GOAL_S:7.2f} {load:>7}",
                    flush=True,
                )
            largest = config, runs
        if not args.no_profile and largest is not None:
            profile(*largest)


if __name__ == "__main__":
    main()
