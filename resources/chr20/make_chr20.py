"""Derive resources/chr20/ from two Debian packages (see resources/README.md, "Human chr20").

Usage (in an empty folder, then copy the outputs into resources/chr20/):
    apt-get download vt-examples python-pysam-tests
    dpkg -x vt-examples_0.57721+ds-3_all.deb vt
    dpkg -x python-pysam-tests_0.20.0+ds-3_all.deb pysam
    python make_chr20.py vt pysam OUT

Writes OUT/GRCh37_20_1-1000000.fa: the first 1,000,000 bases of GRCh37 chromosome 20 as
record ``20`` (so VCF positions need no shift), 60 bases per line, case kept; and
OUT/variants.vcf: the records of the two pysam test VCFs on those bases (Platypus calls,
``5.vcf.gz``; 1000 Genomes validation sites, ``4.vcf.gz``), sorted by position, with the first
eight columns only (genotypes dropped), INFO emptied (``.``) and the FILTER values declared in
the header.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

END = 1_000_000
WIDTH = 60


def main(vt: Path, pysam: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with gzip.open(vt / "usr/share/doc/vt/examples/ref/20.fa.gz", "rt") as handle:
        assert handle.readline().split()[0] == ">20"
        bases: list[str] = []
        size = 0
        for line in handle:
            bases.append(line.strip())
            size += len(bases[-1])
            if size >= END:
                break
    sequence = "".join(bases)[:END]
    lines = [sequence[i : i + WIDTH] for i in range(0, END, WIDTH)]
    (out / "GRCh37_20_1-1000000.fa").write_text(">20\n" + "\n".join(lines) + "\n")

    records = []
    for name in ("5.vcf.gz", "4.vcf.gz"):
        with gzip.open(pysam / "usr/share/doc/python-pysam/tests/tabix_data/vcf" / name, "rt") as handle:
            for line in handle:
                fields = line.rstrip("\n").split("\t")
                if line.startswith("#") or fields[0] != "20" or int(fields[1]) > END:
                    continue
                records.append((int(fields[1]), [*fields[:7], "."]))
    records.sort(key=lambda record: record[0])
    filters = sorted({f for _, fields in records for f in fields[6].split(";")} - {"PASS", "."})
    header = (
        "##fileformat=VCFv4.1\n##contig=<ID=20,length=63025520,assembly=GRCh37>\n"
        + "".join(f'##FILTER=<ID={f},Description="as in the source VCF">\n' for f in filters)
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    )
    (out / "variants.vcf").write_text(header + "".join("\t".join(fields) + "\n" for _, fields in records))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
