#!/usr/bin/env python3
"""Derive a BED6 file of 500 bp yeast promoter regions from an SGD GFF3.

Derivation, exactly:

1. Chromosome lengths are taken from the FASTA given with --fasta (number of
   sequence characters per record; the record name is the first word of the
   ">" header line).
2. Every GFF3 line whose type (column 3) is exactly ``gene`` is read. Other
   types (e.g. ``pseudogene``, ``transposable_element_gene``, ``tRNA``) are
   ignored. Attribute values are percent-decoded.
3. A gene is dropped if its ``orf_classification`` attribute equals
   ``Dubious``. Genes classified ``Verified`` or ``Uncharacterized`` and genes
   without the attribute are kept.
4. For each kept gene, with 1-based inclusive GFF3 coordinates start..end, the
   promoter is the 500 bp immediately upstream of the gene in its own
   orientation, in 0-based half-open BED coordinates:

   - strand ``+``: [start - 1 - 500, start - 1)
   - strand ``-``: [end, end + 500)

   (A gene with strand other than ``+``/``-`` is dropped, since "upstream" is
   undefined for it.)
5. The interval is clipped to the chromosome, i.e. to [0, chromosome length).
   If the clipped interval is shorter than 250 bp, the gene is dropped.
6. Output is BED6: chrom, start, end, name (the gene's ``ID`` attribute),
   score 0, strand (the gene's strand), sorted by chrom (string order), then
   start, then end, then name. No header line.

Promoters may overlap each other or neighbouring genes; no attempt is made to
remove such overlaps. The ORF start is used as the reference point (the SGD
gene features in this file span the ORF, not the transcript).

Counts of genes read, kept and dropped (with reasons) are printed to stderr,
and the output is checked (start >= 0, end <= chromosome length,
start < end, strand present) before it is written.

Standard library only. Example:

    python3 resources/yeast/make_promoters.py \\
        --gff3 resources/yeast/yeast_chr1+2.gff3 \\
        --fasta resources/yeast/sacCer_chrI_chrII.fa \\
        --out resources/yeast/promoters.bed
"""

import argparse
import sys
from collections import Counter
from urllib.parse import unquote

PROMOTER_LENGTH = 500
MIN_LENGTH = 250


def read_chrom_sizes(fasta_path):
    """Return {record name: sequence length} for a (possibly multi-line) FASTA."""
    sizes = {}
    name = None
    with open(fasta_path) as handle:
        for line in handle:
            line = line.rstrip("\r\n")
            if line.startswith(">"):
                name = line[1:].split()[0]
                if name in sizes:
                    sys.exit(f"duplicate FASTA record: {name}")
                sizes[name] = 0
            elif name is not None:
                sizes[name] += len(line.strip())
    return sizes


def parse_attributes(column9):
    """Parse a GFF3 attribute column into a dict of percent-decoded values."""
    attributes = {}
    for field in column9.strip().split(";"):
        if not field:
            continue
        key, _, value = field.partition("=")
        attributes[unquote(key)] = unquote(value)
    return attributes


def read_genes(gff3_path):
    """Yield (chrom, start, end, strand, attributes) for every `gene` line."""
    with open(gff3_path) as handle:
        for line in handle:
            if line.startswith("##FASTA"):
                break
            if line.startswith("#") or not line.strip():
                continue
            columns = line.rstrip("\r\n").split("\t")
            if len(columns) != 9 or columns[2] != "gene":
                continue
            yield (columns[0], int(columns[3]), int(columns[4]), columns[6], parse_attributes(columns[8]))


def promoter_interval(start, end, strand, chrom_length):
    """Return the clipped 0-based half-open promoter interval (bed_start, bed_end)."""
    if strand == "+":
        bed_start, bed_end = start - 1 - PROMOTER_LENGTH, start - 1
    else:  # strand == "-"
        bed_start, bed_end = end, end + PROMOTER_LENGTH
    return max(bed_start, 0), min(bed_end, chrom_length)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gff3", required=True, help="input SGD GFF3 file")
    parser.add_argument("--fasta", required=True, help="genome FASTA, used only for chromosome lengths")
    parser.add_argument("--out", required=True, help="output BED6 path")
    args = parser.parse_args()

    sizes = read_chrom_sizes(args.fasta)
    counts = Counter()
    classes = Counter()
    records = []

    for chrom, start, end, strand, attributes in read_genes(args.gff3):
        counts["read"] += 1
        classification = attributes.get("orf_classification", "(none)")
        classes[classification] += 1
        if classification == "Dubious":
            counts["dropped: orf_classification=Dubious"] += 1
            continue
        if strand not in ("+", "-"):
            counts["dropped: no strand"] += 1
            continue
        if chrom not in sizes:
            sys.exit(f"chromosome {chrom} of gene {attributes.get('ID')} is not in {args.fasta}")
        bed_start, bed_end = promoter_interval(start, end, strand, sizes[chrom])
        if bed_end - bed_start < MIN_LENGTH:
            counts[f"dropped: shorter than {MIN_LENGTH} bp after clipping"] += 1
            continue
        if bed_end - bed_start < PROMOTER_LENGTH:
            counts["kept but clipped at a chromosome end"] += 1
        counts["kept"] += 1
        records.append((chrom, bed_start, bed_end, attributes["ID"], 0, strand))

    records.sort(key=lambda r: (r[0], r[1], r[2], r[3]))

    # Checks on the result before writing it.
    for chrom, bed_start, bed_end, name, _, strand in records:
        assert bed_start >= 0, (name, bed_start)
        assert bed_end <= sizes[chrom], (name, bed_end, sizes[chrom])
        assert bed_start < bed_end, (name, bed_start, bed_end)
        assert strand in ("+", "-"), (name, strand)
    names = [r[3] for r in records]
    assert len(names) == len(set(names)), "duplicate gene IDs in output"

    with open(args.out, "w") as handle:
        for record in records:
            handle.write("\t".join(map(str, record)) + "\n")

    print(f"chromosome sizes: {sizes}", file=sys.stderr)
    print(f"genes read: {counts['read']}", file=sys.stderr)
    for classification, number in sorted(classes.items()):
        print(f"  orf_classification={classification}: {number}", file=sys.stderr)
    print(f"genes kept (promoters written): {counts['kept']}", file=sys.stderr)
    dropped = sum(n for key, n in counts.items() if key.startswith("dropped"))
    print(f"genes dropped: {dropped}", file=sys.stderr)
    for key, number in sorted(counts.items()):
        if key.startswith("dropped") or key.startswith("kept but"):
            print(f"  {key}: {number}", file=sys.stderr)
    print(f"wrote {len(records)} lines to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
