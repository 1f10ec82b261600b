"""Genome scan throughput against a bare ``model.predict`` (windows/s), and the scan's peak memory.

1. Throughput. A random chromosome of ``--mb`` megabases (seeded) is scanned with the demo's
   ``cnn_motif`` network (untrained: weights do not change the cost; 200-base windows, the
   ``ctcf`` length) every ``--stride`` bases, both strands averaged, by
   - "workflow": ``biodl.apply.scan.scan_regions`` (the BED read, every window gathered, N-only
     windows skipped, both strands predicted; all timed), and
   - "bare": ``model.predict`` on the same windows and their reverse complements, held in memory
     as float32 beforehand.
   The genome FASTA is written once; each contender runs ``--runs`` times in turns. Printed:
   windows/s per run, the medians and the ratio workflow / bare (goal >= 0.9).
2. Memory. In a fresh process each (the genome written beforehand by this one), a scan of
   ``--memory-mb`` megabases (comma-separated, default 1 and 10) with the workflow; printed: the
   peak RSS (VmHWM) after importing TensorFlow and building the network, and after the scan.

Usage (from the repository root, a few minutes on 2 cores):
    .venv/bin/python benchmarks/genome_scan.py [--mb 1] [--stride 50] [--runs 5] [--threads 2]
        [--memory-mb 1,10] [--skip throughput|memory]
``--smoke``: 0.05 Mb, one run each, memory at 0.05 Mb (CI keeps the script working).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

SEED = 11
LENGTH = 200


def write_genome(folder: Path, mb: float) -> tuple[Path, Path]:
    """A random chromosome of ``mb`` megabases (60 bases a line) and a BED spanning it."""
    size = int(mb * 1_000_000)
    rng = np.random.default_rng(SEED)
    text = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size)].tobytes()
    genome = folder / "genome.fa"
    with open(genome, "wb") as handle:
        handle.write(b">chr1\n")
        for start in range(0, size, 60):
            handle.write(text[start : start + 60] + b"\n")
    (folder / "scan.bed").write_text(f"chr1\t0\t{size}\n")
    return genome, folder / "scan.bed"


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_child(folder: Path, mb: float, stride: int, threads: int) -> None:
    """Scan the genome the parent wrote in ``folder`` (so writing it is not in this peak)."""
    from variant_scoring import demo_model

    from biodl.apply.scan import scan_regions

    with tempfile.TemporaryDirectory() as tmp:
        genome, bed = folder / "genome.fa", folder / "scan.bed"
        model = demo_model(threads)
        model.predict(np.zeros((1, LENGTH), np.uint8))
        before = peak_rss_mb()
        scan, _ = scan_regions(model, bed, genome, Path(tmp) / "index", stride)
        after = peak_rss_mb()
        print(f"  {mb:g} Mb, {len(scan)} windows: peak RSS {before:.0f} MB before, {after:.0f} MB after")


def throughput(args: argparse.Namespace) -> None:
    from variant_scoring import demo_model

    from biodl.apply.scan import scan_centres, scan_regions
    from biodl.data.dna import encode
    from biodl.data.dna.bed import read_bed
    from biodl.data.dna.from_genome import Genome

    with tempfile.TemporaryDirectory() as tmp:
        genome_path, bed = write_genome(Path(tmp), args.mb)
        model = demo_model(args.threads)
        genome = Genome.open(genome_path, Path(tmp) / "index")
        centres = scan_centres(read_bed(bed), genome.sizes, LENGTH, args.stride)["centre"].to_numpy()
        windows = np.lib.stride_tricks.sliding_window_view(genome.codes("chr1"), LENGTH)[
            centres - LENGTH // 2
        ]
        x = encode.one_hot(windows).astype(np.float32)
        views = [x, np.ascontiguousarray(x[:, ::-1, ::-1])]
        network = model.networks[0]
        network.predict(views[0][:512], batch_size=256, verbose=0)  # trace once, outside the timings
        rates: dict[str, list[float]] = {"workflow": [], "bare": []}
        for _ in range(args.runs):
            start = time.perf_counter()
            scan, _ = scan_regions(model, bed, genome_path, Path(tmp) / "index", args.stride)
            rates["workflow"].append(len(scan) / (time.perf_counter() - start))
            start = time.perf_counter()
            for view in views:
                network.predict(view, batch_size=256, verbose=0)
            rates["bare"].append(len(x) / (time.perf_counter() - start))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, values in rates.items():
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(
            f"  {name:8s} {args.mb:g} Mb every {args.stride}: {medians[name]:8.0f} windows/s (runs: {runs})"
        )
    print(f"  ratio workflow / bare = {medians['workflow'] / medians['bare']:.3f} windows/s (goal >= 0.9)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=1.0)
    parser.add_argument("--stride", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-mb", default="1,10")
    parser.add_argument("--skip", choices=["throughput", "memory"])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--child-mb", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--child-folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_mb is not None:
        memory_child(args.child_folder, args.child_mb, args.stride, args.threads)
        return
    if args.smoke:
        args.mb, args.runs, args.memory_mb = 0.05, 1, "0.05"
    if args.skip != "throughput":
        throughput(args)
    if args.skip != "memory":
        for mb in args.memory_mb.split(","):
            with tempfile.TemporaryDirectory() as folder:
                write_genome(Path(folder), float(mb))
                options = ["--child-mb", mb, "--child-folder", folder, "--stride", str(args.stride)]
                command = [sys.executable, __file__, *options, "--threads", str(args.threads)]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
            print(done.stdout.strip())


if __name__ == "__main__":
    main()
