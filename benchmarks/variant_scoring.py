"""Variant scoring throughput: the apply step against a bare ``model.predict`` (variants/s).

A synthetic genome (one random chromosome, seeded) and a VCF of ``--variants`` SNVs on it (REF
taken from the genome, ALT another base, positions drawn without replacement) are scored with the
demo's ``cnn_motif`` network (untrained: weights do not change the cost; 200-base windows, the
``ctcf`` length), both strands averaged, by
- "workflow": ``biodl.apply.variant_effects.read_variants`` (cyvcf2) then ``score_variants``: the
  REF check, the REF and ALT windows, both strands, the effect table (all timed), and
- "bare": ``model.predict`` on the same REF and ALT windows and their reverse complements, held in
  memory as float32 beforehand (what a hand-written loop would at least have to run).
The genome is opened once beforehand for both. Each contender runs ``--runs`` times in turns;
printed: variants/s per run, the medians and the ratio workflow / bare.

Usage (from the repository root, a few minutes on 2 cores):
    .venv/bin/python benchmarks/variant_scoring.py [--variants 10000] [--runs 5] [--threads 2]
``--smoke``: 200 variants, one run each (CI keeps the script working; no timing is asserted).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

SEED = 7
CHROM_SIZE = 2_000_000
LENGTH = 200


def write_inputs(folder: Path, n: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(SEED)
    sequence = "".join(rng.choice(list("ACGT"), CHROM_SIZE))
    genome = folder / "genome.fa"
    genome.write_text(">chr1\n" + "\n".join(sequence[i : i + 60] for i in range(0, CHROM_SIZE, 60)) + "\n")
    positions = np.sort(rng.choice(np.arange(LENGTH, CHROM_SIZE - LENGTH), n, replace=False)) + 1
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for pos in positions:
        ref = sequence[pos - 1]
        alt = "ACGT".replace(ref, "")[int(rng.integers(3))]
        lines.append(f"chr1\t{pos}\t.\t{ref}\t{alt}\t.\t.\t.")
    vcf = folder / "variants.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    return genome, vcf


def demo_model(threads: int):
    from biodl.apply.trained import TrainedModel
    from biodl.config.models import NetworkModel, model_settings
    from biodl.config.schema import validate_model
    from biodl.data.dataset import PreparedDataset
    from biodl.models.networks import build_model
    from biodl.training.device import configure_tensorflow

    configure_tensorflow(SEED, threads)
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())["models"]["cnn_motif"]
    settings = model_settings("cnn_motif", validate_model("cnn_motif", config))
    assert isinstance(settings, NetworkModel)
    network = build_model(settings, (LENGTH, 4), "binary", 1)
    dataset = PreparedDataset(
        root=ROOT, name="bench", modality="dna", task="binary", classes=("background", "bound"),
        targets=("bound",), input_shape=(LENGTH, 4), ambiguous="zeros", splits={}, seed=SEED,
    )  # fmt: skip
    return TrainedModel((network,), dataset, True)


def run_workflow(model, vcf: Path, genome) -> float:
    from biodl.apply.variant_effects import read_variants, score_variants

    start = time.perf_counter()
    result = score_variants(model, read_variants(vcf, genome.sizes), genome)
    elapsed = time.perf_counter() - start
    assert result.unscored.empty
    return len(result.effects) / elapsed


def bare_inputs(model, vcf: Path, genome) -> list[np.ndarray]:
    from biodl.apply.variant_effects import read_variants, variant_windows
    from biodl.data.dna import encode

    variants = read_variants(vcf, genome.sizes)
    codes = genome.codes("chr1")
    ref, alt = zip(
        *(variant_windows(codes, v.pos, v.ref, v.alt, LENGTH) for v in variants.itertuples()), strict=True
    )
    views = []
    for windows in (np.stack(ref), np.stack(alt)):
        x = encode.one_hot(windows).astype(np.float32)
        views += [x, np.ascontiguousarray(x[:, ::-1, ::-1])]
    return views


def run_bare(model, views: list[np.ndarray]) -> float:
    start = time.perf_counter()
    for x in views:
        model.networks[0].predict(x, batch_size=256, verbose=0)
    return len(views[0]) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.variants, args.runs = 200, 1
    from biodl.data.dna.from_genome import Genome

    with tempfile.TemporaryDirectory() as tmp:
        genome_path, vcf = write_inputs(Path(tmp), args.variants)
        genome = Genome.open(genome_path, Path(tmp) / "index")
        model = demo_model(args.threads)
        views = bare_inputs(model, vcf, genome)
        run_bare(model, views)  # trace the graph once, outside the timings
        rates: dict[str, list[float]] = {"workflow": [], "bare": []}
        for _ in range(args.runs):
            rates["workflow"].append(run_workflow(model, vcf, genome))
            rates["bare"].append(run_bare(model, views))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, values in rates.items():
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"  {name:8s} {args.variants} SNVs: {medians[name]:8.0f} variants/s (runs: {runs})")
    print(f"  ratio workflow / bare = {medians['workflow'] / medians['bare']:.3f} variants/s")


if __name__ == "__main__":
    main()
