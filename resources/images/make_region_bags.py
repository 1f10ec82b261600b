"""Cut the demo skin slide into pseudo-slides with a slide-level label, for attention MIL.

Output: a sample sheet (TSV: image, label, group, region) whose rows are squares of
``SIDE`` x ``SIDE`` level-0 pixels (about 96 µm) on a grid over the slide,
each its own group (so its own bag and never in two splits). The rule:

1. Read the derived mask (``cmu_small_region.mask.png``: 0 background, 1 stroma, 2 epithelium,
   4 slide pixels per mask pixel; see ``make_skin_mask.py``) and cut it on the same grid.
2. Keep a square when at least ``MIN_TISSUE`` of it is tissue (mask > 0).
3. Label it ``epithelial`` when epithelium covers at least ``EPITHELIAL`` of its tissue, else
   ``stromal``: a bag is positive when enough of its tiles are haematoxylin-dense. The tiles
   themselves are never labelled, which is the multiple-instance setting.

There is one real slide: the squares are regions of it, not independent slides or patients
(neighbours share tissue, stain and scan), so slide-level scores on them are optimistic and
show that the pipeline works, not how it generalises. Run from the repository root:
    python resources/images/make_region_bags.py resources/images/cmu_small_region.mask.png \
        resources/images/skin_regions.tsv
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image

DOWNSAMPLE = 4  # slide pixels per mask pixel
SIDE = 192  # level-0 pixels per square (about 96 µm)
MIN_TISSUE = 0.5
EPITHELIAL = 0.3
SLIDE = "cmu_small_region.svs"


def squares(mask: np.ndarray) -> list[tuple[str, str]]:
    """(label, region) of every kept square, row by row."""
    step = SIDE // DOWNSAMPLE
    rows = []
    for top in range(0, mask.shape[0] - step + 1, step):
        for left in range(0, mask.shape[1] - step + 1, step):
            cut = mask[top : top + step, left : left + step]
            tissue = np.count_nonzero(cut)
            if tissue < MIN_TISSUE * cut.size:
                continue
            label = "epithelial" if np.count_nonzero(cut == 2) >= EPITHELIAL * tissue else "stromal"
            rows.append((label, f"{left * DOWNSAMPLE},{top * DOWNSAMPLE},{SIDE},{SIDE}"))
    return rows


def main(mask_path: str, sheet_path: str) -> None:
    mask = np.asarray(Image.open(mask_path))
    lines = ["image\tlabel\tgroup\tregion"]
    for i, (label, region) in enumerate(squares(mask), start=1):
        lines.append(f"{SLIDE}\t{label}\tregion{i:02d}\t{region}")
    Path(sheet_path).write_text("\n".join(lines) + "\n")
    labels = [line.split("\t")[1] for line in lines[1:]]
    print(f"{len(labels)} squares: " + ", ".join(f"{c} {labels.count(c)}" for c in sorted(set(labels))))


if __name__ == "__main__":
    main(*sys.argv[1:3])
