"""Export JASPAR 2024 CORE (non-redundant) motifs of one or more taxonomic groups to MEME files.

A one-off script: its outputs, ``JASPAR2024_CORE_<group>_non-redundant.meme`` beside it (or in
``--outdir``), are committed, so the workflow matches filters offline without pyjaspar.
Re-create them with

    pip install pyjaspar==4.0.0
    python resources/jaspar/export_jaspar.py fungi insects plants nematodes urochordates

With no group given it exports ``vertebrates``, byte for byte as the original vertebrates-only
script did. pyjaspar ships JASPAR's SQLite releases, so no network is needed. "Non-redundant" is
JASPAR's own definition: the latest version of each matrix (``all_versions=False``). Counts become
probabilities column by column, as JASPAR's MEME downloads do (no pseudocount: Tomtom compares
distributions, and the workflow adds pseudocounts to the learned filters only). A group with no
CORE motifs in the release writes no file and is reported.

JASPAR is CC BY 4.0: cite Rauluseviciute et al., JASPAR 2024, Nucleic Acids Res. 52:D174-D182
(2024), doi:10.1093/nar/gkad1059.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from pyjaspar import jaspardb

RELEASE = "JASPAR2024"
BASES = "ACGT"
# JASPAR's tax_group values (lower case, as pyjaspar expects them)
TAX_GROUPS = (
    "vertebrates",
    "plants",
    "insects",
    "nematodes",
    "fungi",
    "urochordates",
    "diatoms",
    "trematodes",
    "cnidaria",
    "protozoa",
    "oomycota",
    "dictyostelium",
)
HEADER = (
    "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
    "Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"
)


def motif_block(motif) -> str:
    """One MOTIF entry: ID, name, probability rows (one per position), JASPAR's URL."""
    width = len(motif.counts["A"])
    totals = [sum(motif.counts[b][i] for b in BASES) for i in range(width)]
    rows = [" ".join(f"{motif.counts[b][i] / totals[i]:.6f}" for b in BASES) for i in range(width)]
    name = motif.name.replace(" ", "_")
    return (
        f"MOTIF {motif.matrix_id} {name}\n"
        f"letter-probability matrix: alength= 4 w= {width} nsites= {round(min(totals))} E= 0\n"
        + "\n".join(rows)
        + f"\nURL https://jaspar.elixir.no/matrix/{motif.matrix_id}/\n"
    )


def target_path(outdir: Path, tax_group: str) -> Path:
    """Where one group's MEME file goes: ``JASPAR2024_CORE_<group>_non-redundant.meme``."""
    return outdir / f"{RELEASE}_CORE_{tax_group}_non-redundant.meme"


def write_atomic(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file, so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes files private; this one is shared data
    os.replace(tmp, target)


def export(db, tax_group: str, outdir: Path) -> int:
    """Write one group's non-redundant CORE motifs, sorted by matrix ID; return how many."""
    motifs = db.fetch_motifs(collection="CORE", tax_group=[tax_group], all_versions=False)
    motifs = sorted(motifs, key=lambda m: m.matrix_id)
    if not motifs:
        print(f"no {RELEASE} CORE motifs for tax group {tax_group!r}: nothing written")
        return 0
    target = target_path(outdir, tax_group)
    write_atomic(target, HEADER + "\n".join(motif_block(m) for m in motifs))
    print(f"wrote {len(motifs)} motifs of {RELEASE} CORE {tax_group} to {target}")
    return len(motifs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "tax_groups",
        nargs="*",
        default=["vertebrates"],
        metavar="GROUP",
        help=f"JASPAR tax group(s), default vertebrates; one of {', '.join(TAX_GROUPS)}",
    )
    parser.add_argument(
        "--outdir",
        type=Path,
        default=Path(__file__).parent,
        help="folder for the MEME files (default: beside this script)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.tax_groups) - set(TAX_GROUPS))
    if unknown:
        parser.error(f"unknown tax group(s): {', '.join(unknown)}")
    db = jaspardb(release=RELEASE)
    for tax_group in args.tax_groups:
        export(db, tax_group, args.outdir)


if __name__ == "__main__":
    main()
