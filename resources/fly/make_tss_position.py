#!/usr/bin/env python3
"""Derive the position-dependent promoter task: the bases just upstream of fly TSSs against the
same TSSs' window further upstream.

Source: Biostrings' ``dm3_upstream2000.fa.gz`` (26,454 real dm3 2-kb sequences upstream of
RefSeq transcript starts; header ``NM_078863_up_2000_chr2L_16764737_f chr2L:16764737-16766736``,
1-based inclusive; a name ending ``_r`` is a minus-strand transcript, whose record is already
the reverse complement, so every record reads 5'->3' towards its TSS and ends at base -1).

Derivation, exactly:

1. Records on chr2L, chr2R, chr3L, chr3R, chr4 and chrX are read (Het, U and Y records, and
   records cut short by a chromosome's start, are left out). Records naming the same stretch
   and strand (transcripts sharing a TSS) are kept once.
2. Per TSS, two windows of ``--length`` bases, in the transcript's orientation:
   ``proximal``: bases -length..-1 (the TSS just past the window's end), and ``shifted``: the
   same window moved ``--shift`` bases upstream. A TSS whose two windows hold any base other
   than A, C, G or T is left out.
3. ``--genes`` TSSs are drawn at random (seed ``--seed``) and written in dm3 order to
   ``tss_proximal.fa`` and ``tss_shifted.fa``, one line per sequence. Record names give the
   window's dm3 location, ``chrom:start-end(+)`` or ``(-)`` (1-based, inclusive), so the
   workflow can hold out whole chromosomes: both windows of a TSS lie on one chromosome and
   land in the same split.

Why a 100-base shift (``--shift``): the windows then share 100 bases, at different places,
and differ in where the TSS-anchored signals lie (TATA box near -30, the initiator's upstream
half, GC rising towards the TSS), which only the proximal window holds at fixed positions. A
shorter shift keeps more of those elements in both classes but leaves too little signal for
3,000 TSSs: one-hot logistic regression reached test auROC 0.52 at a 20-base shift and 0.59 at
50, against 0.66 at 100 (chr2L held out; benchmarks/RESULTS.md, section 14).

Standard library only. Example:

    python3 resources/fly/make_tss_position.py --upstream dm3_upstream2000.fa.gz --out resources/fly
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import sys
from pathlib import Path

CHROMS = ("chr2L", "chr2R", "chr3L", "chr3R", "chr4", "chrX")
HEADER = re.compile(r"^>(\S+)\s+(\w+):(-?\d+)-(\d+)")
CLASSES = ("proximal", "shifted")


def read_upstream(path: Path) -> dict[tuple[str, int, int, str], str]:
    """(chrom, 1-based start, end, strand) -> sequence of every unique upstream record, in the
    transcript's orientation."""
    records: dict[tuple[str, int, int, str], str] = {}
    key: tuple[str, int, int, str] | None = None
    chunks: list[str] = []
    with gzip.open(path, "rt") as handle:
        for line in [*handle, ">end x:0-0\n"]:
            if not line.startswith(">"):
                chunks.append(line.strip())
                continue
            if key and key[0] in CHROMS and key[1] >= 1:
                seq = "".join(chunks).upper()
                if len(seq) != key[2] - key[1] + 1:
                    sys.exit(f"{key}: {len(seq)} bases for a stretch of {key[2] - key[1] + 1}")
                if records.setdefault(key, seq) != seq:
                    sys.exit(f"{key}: two records of this stretch differ")
            match = HEADER.match(line)
            if not match:
                sys.exit(f"unexpected header {line!r}")
            strand = "-" if match[1].endswith("_r") else "+"
            key, chunks = (match[2], int(match[3]), int(match[4]), strand), []
    return records


def windows(key: tuple[str, int, int, str], seq: str, length: int, shift: int) -> dict[str, tuple[str, str]]:
    """Class -> (record name, sequence) of one TSS's two windows."""
    chrom, start, end, strand = key
    named = {}
    for name, offset in zip(CLASSES, (0, shift), strict=True):
        window = seq[len(seq) - length - offset : len(seq) - offset]
        # Upstream lies to the left of a + strand TSS and to the right of a - strand one.
        if strand == "+":
            first, last = end - offset - length + 1, end - offset
        else:
            first, last = start + offset, start + offset + length - 1
        named[name] = (f"{chrom}:{first}-{last}({strand})", window)
    return named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--genes", type=int, default=3000, help="TSSs drawn")
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--shift", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    records = read_upstream(args.upstream)
    pairs = {key: windows(key, seq, args.length, args.shift) for key, seq in records.items()}
    usable = {
        key: pair for key, pair in pairs.items() if all(set(w) <= set("ACGT") for _, w in pair.values())
    }
    if len(usable) < args.genes:
        sys.exit(f"only {len(usable)} usable TSSs, fewer than --genes {args.genes}")
    drawn = sorted(random.Random(args.seed).sample(sorted(usable), args.genes))
    args.out.mkdir(parents=True, exist_ok=True)
    for name in CLASSES:
        with open(args.out / f"tss_{name}.fa", "w") as handle:
            handle.writelines(f">{usable[key][name][0]}\n{usable[key][name][1]}\n" for key in drawn)
    print(f"{len(records)} unique TSSs, {len(usable)} usable, {args.genes} drawn", file=sys.stderr)


if __name__ == "__main__":
    main()
