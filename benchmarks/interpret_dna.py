"""Benchmark and measures of the DNA interpretation step (biodl.interpret.dna).

What it prints:
1. Time: the demo's CTCF dataset and ``cnn_motif`` model (config/config.yaml, its seed) are
   prepared and trained once into ``--workdir``; then ``interpret_dna`` runs in three fresh
   processes with the config's interpretation settings: with an empty numba cache (cold: memelite
   and modisco-lite compile), again on that cache (warm), and once more (warm). For each: the
   step's own wall time (from the call, after Python, TensorFlow and the model are loaded) and
   the whole process's, and the ratio cold / warm. The target: the warm step under 60 s on 2 cores.
2. Specificity: a task without transcription-factor biology, one dinucleotide shuffle of each
   CTCF peak against another shuffle of it, trained with the same model; the share of filters
   matched at the null-calibrated q beside the share whose best Tomtom match has Tomtom's own
   q <= 0.05 (what the step reported before calibration). Target: at most 10% matched. And on
   the CTCF demo: which factor the most influential matched filters and the top TF-MoDISco
   pattern match, with the pattern's seqlet count.

``--smoke``: one training epoch, small settings and one warm run, to keep the script working (no
numbers to read). Run from the repository root: ``python benchmarks/interpret_dna.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

OUTPUTS = {
    "filters": "filters.meme",
    "tomtom": "tomtom.tsv",
    "influence": "influence.tsv",
    "filter_logos": "filter_logos.png",
    "maximisation_logos": "maximisation_logos.png",
    "attribution_logos": "attribution_logos.png",
    "attributions": "attributions.npz",
    "tracks": "tracks",
    "patterns": "patterns.tsv",
    "pattern_logos": "pattern_logos.png",
    "marginalisation": "marginalisation.tsv",
    "marginalisation_plot": "marginalisation.png",
}
SMOKE_SETTINGS = {
    "logo_filters": 2,
    "top_sequences": 1,
    "maximisation_steps": 5,
    "attribution_sequences": 150,
    "attribution_references": 2,
    "null_motifs": 10,
    "modisco_leiden_runs": 2,
    "marginal_backgrounds": 10,
}


def config() -> dict:
    import yaml

    from biodl.config.checks import validate_config

    return validate_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))


def prepare(work: Path, shuffled: bool, smoke: bool) -> tuple[Path, Path]:
    """The CTCF demo dataset (or its shuffled control) and the trained cnn_motif model."""
    import numpy as np
    import yaml

    from biodl.config.datasets import DnaDataset, dataset_settings
    from biodl.config.models import check_network
    from biodl.data.dna.background import dinucleotide_shuffle
    from biodl.data.dna.prepare import prepare_dna
    from biodl.data.shards import PreparedFiles
    from biodl.training.loop import TrainingRun, train_model

    cfg = config()
    name = "shuffled" if shuffled else "ctcf"
    folder = work / name
    data, model = folder / "prepared", folder / "cnn_motif.keras"
    if model.exists():
        return data, model
    spec = dict(cfg["datasets"]["ctcf"])
    fasta = ROOT / "resources/ctcf/Gm12878.CTCF.top500.w200.fa"
    if shuffled:
        # The positives themselves shuffled: the same composition and dinucleotides, no motif.
        rng = np.random.default_rng(cfg["seed"])
        lines, codes = [], {b: i for i, b in enumerate("ACGTN")}
        for record in fasta.read_text().split(">")[1:]:
            header, *seq = record.splitlines()
            text = "".join(seq).upper()
            shuffled_codes = dinucleotide_shuffle(np.array([codes.get(b, 4) for b in text]), rng)
            lines += [f">{header}", "".join("ACGTN"[c] for c in shuffled_codes)]
        fasta = folder / "shuffled.fa"
        folder.mkdir(parents=True, exist_ok=True)
        fasta.write_text("\n".join(lines) + "\n")
    spec["sequences"] = {"CTCF": str(fasta)}
    settings = dataset_settings(name, spec)
    assert isinstance(settings, DnaDataset)
    prepare_dna(settings, cfg["seed"], PreparedFiles.in_folder(data))
    raw = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["models"]["cnn_motif"]
    raw.pop("description", None)
    if smoke:
        raw["training"] = {**raw["training"], "epochs": 1}
    network = check_network("cnn_motif", raw)
    train_model(TrainingRun(data, network, cfg["seed"], model, folder / "history.tsv"))
    return data, model


def one_run(args: argparse.Namespace) -> None:
    """In a fresh process: interpret once and print the step's wall time as JSON."""
    from biodl.config.settings import InterpretSettings
    from biodl.interpret.dna import DnaRun, interpret_dna

    cfg = config()
    extra = json.loads(args.settings)
    settings = InterpretSettings.from_config(
        {**cfg["interpretation"], "numba_cache_dir": args.cache, **extra}
    )
    out = Path(args.out)
    started, cpu = time.perf_counter(), cpu_seconds()
    result = interpret_dna(
        DnaRun(args.data, (args.model,), settings.database, seed=cfg["seed"], threads=2),
        {key: str(out / name) for key, name in OUTPUTS.items()},
        settings,
    )
    step, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    print(
        json.dumps({"step_s": step, "cpu_s": cpu, "matched": result["matched"], "filters": result["filters"]})
    )


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (TF-MoDISco runs in one)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(data: Path, model: Path, cache: Path, out: Path, settings: dict) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--one",
            "--data",
            str(data),
            "--model",
            str(model),
            "--cache",
            str(cache),
            "--out",
            str(out),
            "--settings",
            json.dumps(settings),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode:
        raise SystemExit(f"interpretation failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - started
    return result


def specificity(out: Path) -> tuple[int, int, int]:
    """(filters, matched at the calibrated q, matched as before calibration: the untrimmed filter
    motif's best Tomtom match at Tomtom q <= 0.05)."""
    import pandas as pd

    from biodl.interpret.motifs import match_motifs, read_meme, use_numba_cache

    use_numba_cache(ROOT / ".cache" / "numba")
    influence = pd.read_csv(out / "influence.tsv", sep="\t")
    database = read_meme(config()["interpretation"]["database"])
    _, best = match_motifs(read_meme(out / "filters.meme"), database, max_q=0.05, n_jobs=2)
    return len(influence), int(influence["matched"].sum()), int((best["q_value"] <= 0.05).sum())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--workdir", default=str(ROOT / ".cache" / "benchmark_interpret"))
    parser.add_argument(
        "--warm-only", action="store_true", help="skip the cold run (the project's numba cache)"
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--data", "--model", "--cache", "--out", "--settings"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_run(args)
        return
    import pandas as pd

    work = Path(tempfile.mkdtemp(prefix="interpret_smoke")) if args.smoke else Path(args.workdir)
    settings = SMOKE_SETTINGS if args.smoke else {}
    data, model = prepare(work, shuffled=False, smoke=args.smoke)
    print("== Time of interpret_dna on the CTCF demo (cnn_motif), 2 threads")
    runs = []
    with tempfile.TemporaryDirectory(prefix="numba") as empty:
        quick = args.smoke or args.warm_only
        kinds = ["warm (project cache)"] * (1 if args.smoke else 3 if args.warm_only else 0)
        kinds = kinds or ["cold (empty numba cache)", "warm", "warm"]
        for i, kind in enumerate(kinds):
            cache = ROOT / ".cache" / "numba" if quick else Path(empty)
            result = timed(data, model, cache, work / f"out{i}", settings)
            runs.append(result)
            print(
                f"{kind:28s} step {result['step_s']:6.1f} s (CPU {result['cpu_s']:6.1f} s)   "
                f"whole process {result['process_s']:6.1f} s   load {os.getloadavg()[0]:.1f}"
            )
    if len(runs) == 3 and not args.warm_only:
        warm = min(runs[1]["step_s"], runs[2]["step_s"])
        print(f"ratio cold / warm (step): {runs[0]['step_s'] / warm:.2f}; warm step under 60 s: {warm < 60}")
    out = work / "out0"
    influence = pd.read_csv(out / "influence.tsv", sep="\t")
    matched = influence[influence["matched"]]
    patterns = pd.read_csv(out / "patterns.tsv", sep="\t")
    print("== CTCF demo")
    print(
        f"filters {len(influence)}, matched {len(matched)}; most influential matched filters and their match:"
    )
    for _, row in matched.head(3).iterrows():
        print(
            f"  rank {row['rank']:2d} filter{row['filter']}: {row['best_match']} {row['best_match_name']}"
            f" (null q {row['null_q']:.2g}, Tomtom p {row['tomtom_p']:.2g})"
        )
    for _, row in patterns.head(3).iterrows():
        print(
            f"  TF-MoDISco {row['task']} {row['pattern']}: {row['n_seqlets']} seqlets, best match"
            f" {row['best_match'] if row['matched'] else '(none)'} (null q {row['null_q']:.2g})"
        )
    print("== Specificity: shuffled CTCF peaks against their shuffles (no motif to find)")
    data, model = prepare(work, shuffled=True, smoke=args.smoke)
    timed(data, model, ROOT / ".cache" / "numba", work / "shuffled_out", settings)
    filters, calibrated, tomtom_only = specificity(work / "shuffled_out")
    print(
        f"filters {filters}: matched at null-calibrated q <= 0.05: {calibrated} ({calibrated / filters:.0%});"
        f" before calibration (untrimmed, Tomtom q <= 0.05): {tomtom_only} ({tomtom_only / filters:.0%})"
    )


if __name__ == "__main__":
    main()
