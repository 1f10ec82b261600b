#!/usr/bin/env python3
"""Derive resources/blood/ (a real multi-output regression demo) from two packages.

Sources: gimmemotifs 0.18.4 (PyPI sdist, MIT), ``data/examples/hg19.blood.most_variable.10k.txt``:
9,997 hg19 regions of 200 bp (``loc`` ``chr:start-end``, read as 0-based half-open: every end is
start + 200) with one real value per blood cell type (Mono, CD4, CD8, Nkcell, Bcell, Ery); and
Debian vt-examples 0.57721+ds-3 (MIT), ``usr/share/doc/vt/examples/ref/20.fa.gz``: GRCh37
chromosome ``20`` (the same sequence as hg19 chr20). Only chromosome 20 ships offline, and 6 of
its 292 regions lie in the demo's first megabase (resources/chr20), so the whole chromosome's
292 regions are used. Derivation, exactly:

1. The 292 regions on chr20 are read (none overlaps another), in chromosome order.
2. Each region with ``FLANK`` bases either side is cut from chromosome 20 (case kept); the
   pieces, separated by ``GAP`` N, form one record ``chr20``: a "compressed" chromosome with
   real sequence in real order, but not hg19 coordinates. ``segments.tsv`` maps each piece:
   start and end in the record (0-based, half-open) and the hg19 start and end.
3. ``regions.bed``: each region in record coordinates, named by its hg19 ``loc``.
   ``<cell type>.bedGraph``: one interval per region, the region's value for that cell type
   (so a 200 bp window on the region has that value as its mean).
4. The hold-outs (printed): the record is cut at gaps into about 70 / 15 / 15 % of the
   regions, in chromosome order (validation the middle part, test the last), 1-based inclusive.

Standard library only. Usage (in an empty folder):

    pip download --no-deps gimmemotifs==0.18.4 && tar xzf gimmemotifs-0.18.4.tar.gz
    apt-get download vt-examples && dpkg -x vt-examples_0.57721+ds-3_all.deb vt
    python3 make_blood.py gimmemotifs-0.18.4/data/examples/hg19.blood.most_variable.10k.txt \\
        vt/usr/share/doc/vt/examples/ref/20.fa.gz OUT
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

FLANK = 100
GAP = 100
WIDTH = 60


def read_chromosome(path: Path) -> str:
    with gzip.open(path, "rt") as handle:
        assert handle.readline().split()[0] == ">20"
        return "".join(line.strip() for line in handle)


def main(values: Path, fasta: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = values.read_text().splitlines()
    cell_types = lines[0].split("\t")[1:]
    regions = []
    for line in lines[1:]:
        loc, *numbers = line.split("\t")
        chrom, span = loc.split(":")
        if chrom == "chr20":
            start, end = map(int, span.split("-"))
            regions.append((start, end, loc, numbers))
    regions.sort()
    assert all(a[1] <= b[0] for a, b in zip(regions, regions[1:], strict=False)), "regions overlap"
    chromosome = read_chromosome(fasta)
    record, segments, bed = [], [], []
    graphs: dict[str, list[str]] = {name: [] for name in cell_types}
    position = 0
    for start, end, loc, numbers in regions:
        if record:
            record.append("N" * GAP)
            position += GAP
        piece = chromosome[start - FLANK : end + FLANK]
        assert len(piece) == end - start + 2 * FLANK and piece.upper().count("N") == 0, loc
        record.append(piece)
        segments.append(f"chr20\t{position}\t{position + len(piece)}\t{start - FLANK}\t{end + FLANK}\n")
        first, last = position + FLANK, position + FLANK + end - start
        bed.append(f"chr20\t{first}\t{last}\t{loc}\n")
        for name, number in zip(cell_types, numbers, strict=True):
            graphs[name].append(f"chr20\t{first}\t{last}\t{float(number):.6g}\n")
        position += len(piece)
    sequence = "".join(record)
    (out / "chr20_blood_segments.fa").write_text(
        ">chr20\n" + "".join(sequence[i : i + WIDTH] + "\n" for i in range(0, len(sequence), WIDTH))
    )
    (out / "segments.tsv").write_text("chrom\tstart\tend\thg19_start\thg19_end\n" + "".join(segments))
    (out / "regions.bed").write_text("".join(bed))
    for name, rows in graphs.items():
        (out / f"{name}.bedGraph").write_text("track type=bedGraph name=" + name + "\n" + "".join(rows))
    n = len(regions)
    cuts = [int(n * 0.70), int(n * 0.85)]  # first region of validation, of test
    starts = [int(s.split("\t")[1]) for s in segments]
    validation = f"chr20:{starts[cuts[0]] - GAP // 2 + 1}-{starts[cuts[1]] - GAP // 2}"
    test = f"chr20:{starts[cuts[1]] - GAP // 2 + 1}-{len(sequence)}"
    print(f"{n} regions, {len(sequence)} bases; validation {validation}, test {test}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
