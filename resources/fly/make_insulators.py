#!/usr/bin/env python3
"""Derive a small fly (dm3) genome and eight insulator peak sets on it, for the multi-task demo.

No whole dm3 genome ships offline, but Biostrings ships 26,454 real dm3 2-kb upstream sequences
(headers ``chr2L:16764737-16766736``, 1-based inclusive; a record whose name ends ``_r`` is the
reverse complement of that stretch). Derivation, exactly:

1. Records on chr2L, chr2R, chr3L, chr3R, chr4 and chrX are read (Het, U and Y records are
   left out); ``_r`` records are reverse-complemented back to the + strand. Records naming the
   same stretch are kept once; every pair of records sharing bases is checked to agree there.
2. Overlapping or touching stretches are merged into segments (the genome's own sequence).
3. Segments are drawn at random (seed ``--seed``): ``--peak-share`` of ``--bases`` bases from
   segments that share at least one base with a peak of any of the eight sets, the rest from
   segments that share none (room for background windows). Insulator peaks are enriched
   upstream of genes, yet a uniform draw would leave the rarer sets a handful of peaks per
   chromosome: too few to evaluate them per held-out chromosome.
4. Per chromosome, the drawn segments in dm3 order, separated by ``GAP`` N, form one record
   named after the chromosome: a "compressed" chromosome with real sequence and real order, but
   not dm3 coordinates. ``segments.tsv`` maps every segment: chrom, start and end in the record
   (0-based, half-open) and the dm3 start and end.
5. Each peak file (BED, dm3) is clipped to the drawn segments and moved into record
   coordinates: a peak over two segments gives two pieces, a peak outside every segment is
   dropped. Name column: the dm3 peak ``chrom:start-end`` (0-based, half-open). Sorted by record
   position.

Standard library only. Example:

    python3 resources/fly/make_insulators.py --upstream dm3_upstream2000.fa.gz \\
        --peaks pybedtools-0.12.1/pybedtools/test/data --out resources/fly
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import sys
from pathlib import Path

CHROMS = ("chr2L", "chr2R", "chr3L", "chr3R", "chr4", "chrX")
TASKS = tuple(f"{factor}_{cells}" for factor in ("BEAF", "CTCF", "Cp190", "SuHw") for cells in ("Kc", "Mbn2"))
GAP = 100
COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")
HEADER = re.compile(r"^>(\S+)\s+(\w+):(-?\d+)-(\d+)")


def read_stretches(path: Path) -> dict[str, dict[int, str]]:
    """chrom -> 0-based start -> + strand sequence of every unique 2-kb record."""
    stretches: dict[str, dict[int, str]] = {c: {} for c in CHROMS}
    name, location, chunks = "", None, []
    with gzip.open(path, "rt") as handle:
        for line in [*handle, ">end x:0-0\n"]:
            if not line.startswith(">"):
                chunks.append(line.strip())
                continue
            if location and location[0] in stretches and location[1] >= 0:
                seq = "".join(chunks).upper()
                if name.endswith("_r"):
                    seq = seq.translate(COMPLEMENT)[::-1]
                chrom, start, end = location
                if len(seq) != end - start:
                    sys.exit(f"{name}: {len(seq)} bases for {chrom}:{start + 1}-{end}")
                if stretches[chrom].setdefault(start, seq) != seq:
                    sys.exit(f"{name}: another record of {chrom}:{start + 1}-{end} differs")
            match = HEADER.match(line)
            if not match:
                sys.exit(f"unexpected header {line!r}")
            name, chunks = match[1], []
            location = (match[2], int(match[3]) - 1, int(match[4]))
    return stretches


def merge(stretches: dict[int, str]) -> list[tuple[int, str]]:
    """Overlapping or touching stretches as (start, sequence) segments, checked to agree."""
    segments: list[tuple[int, str]] = []
    for start in sorted(stretches):
        seq = stretches[start]
        if segments and start <= segments[-1][0] + len(segments[-1][1]):
            first, known = segments[-1]
            shared = known[start - first : start - first + len(seq)]
            if seq[: len(shared)] != shared:
                sys.exit(f"overlapping records disagree at {start}")
            segments[-1] = (first, known + seq[len(shared) :])
        else:
            segments.append((start, seq))
    return segments


def read_peaks(path: Path) -> list[tuple[str, int, int]]:
    """(chrom, start, end) of every record of a BED file (track and comment lines skipped)."""
    rows = [line.split("\t")[:3] for line in path.read_text().splitlines()]
    return [(c, int(s), int(e)) for c, s, e in (row for row in rows if row[0] and row[0][0] not in "t#")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", type=Path, required=True)
    parser.add_argument("--peaks", type=Path, required=True, help="folder of *_Bushey_2009.bed")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--bases", type=int, default=2_400_000)
    parser.add_argument("--peak-share", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    segments = [
        (c, s, seq) for c, by_start in read_stretches(args.upstream).items() for s, seq in merge(by_start)
    ]
    peaks = [peak for task in TASKS for peak in read_peaks(args.peaks / f"{task}_Bushey_2009.bed")]
    bearing = [any(c == p[0] and s < p[2] and p[1] < s + len(seq) for p in peaks) for c, s, seq in segments]
    rng = random.Random(args.seed)
    drawn, total = [], 0
    for with_peak, share in ((True, args.peak_share), (False, 1 - args.peak_share)):
        pool = [segment for segment, has in zip(segments, bearing, strict=True) if has == with_peak]
        rng.shuffle(pool)
        wanted = total + share * args.bases
        for segment in pool:
            if total >= wanted:
                break
            drawn.append(segment)
            total += len(segment[2])
    records, table = {}, []
    for chrom in CHROMS:
        parts, position = [], 0
        for _, start, seq in sorted(s for s in drawn if s[0] == chrom):
            if parts:
                parts.append("N" * GAP)
                position += GAP
            parts.append(seq)
            table.append((chrom, position, position + len(seq), start, start + len(seq)))
            position += len(seq)
        records[chrom] = "".join(parts)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "dm3_upstream_segments.fa", "w") as handle:
        for chrom, seq in records.items():
            handle.write(f">{chrom}\n" + "".join(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60)))
    with open(args.out / "segments.tsv", "w") as handle:
        handle.write("chrom\tstart\tend\tdm3_start\tdm3_end\n")
        handle.writelines("\t".join(map(str, row)) + "\n" for row in table)
    for task in TASKS:
        pieces = []
        for chrom, start, end in read_peaks(args.peaks / f"{task}_Bushey_2009.bed"):
            for seg_chrom, at, _, dm3_start, dm3_end in table:
                lo, hi = max(start, dm3_start), min(end, dm3_end)
                if seg_chrom == chrom and lo < hi:
                    pieces.append((chrom, at + lo - dm3_start, at + hi - dm3_start, f"{chrom}:{start}-{end}"))
        pieces.sort()
        (args.out / f"{task}.bed").write_text("".join("\t".join(map(str, p)) + "\n" for p in pieces))
        print(f"{task}: {len(pieces)} peak pieces", file=sys.stderr)
    print(f"{len(drawn)} segments, {total} bases", file=sys.stderr)


if __name__ == "__main__":
    main()
