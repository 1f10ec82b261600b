"""Export JASPAR 2024 CORE vertebrates (non-redundant) from pyjaspar to a MEME motif file.

A one-off script: its output, ``JASPAR2024_CORE_vertebrates_non-redundant.meme`` beside it, is
committed, so the workflow matches filters offline without pyjaspar. Re-create it with

    pip install pyjaspar==4.0.0
    python resources/jaspar/export_jaspar.py

pyjaspar ships JASPAR's SQLite releases, so no network is needed. "Non-redundant" is JASPAR's
own definition: the latest version of each matrix (``all_versions=False``). Counts become
probabilities column by column, as JASPAR's MEME downloads do (no pseudocount: Tomtom compares
distributions, and the workflow adds pseudocounts to the learned filters only).

JASPAR is CC BY 4.0: cite Rauluseviciute et al., JASPAR 2024, Nucleic Acids Res. 52:D174-D182
(2024), doi:10.1093/nar/gkad1059.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pyjaspar import jaspardb

RELEASE = "JASPAR2024"
TARGET = Path(__file__).with_name("JASPAR2024_CORE_vertebrates_non-redundant.meme")
BASES = "ACGT"


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


def main() -> None:
    motifs = jaspardb(release=RELEASE).fetch_motifs(
        collection="CORE", tax_group=["vertebrates"], all_versions=False
    )
    motifs = sorted(motifs, key=lambda m: m.matrix_id)
    header = (
        "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
        "Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"
    )
    text = header + "\n".join(motif_block(m) for m in motifs)
    fd, tmp = tempfile.mkstemp(dir=TARGET.parent, prefix=f".{TARGET.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes files private; this one is shared data
    os.replace(tmp, TARGET)
    print(f"wrote {len(motifs)} motifs of {RELEASE} CORE vertebrates to {TARGET}")


if __name__ == "__main__":
    main()
