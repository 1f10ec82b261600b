"""Pick the pseudo-slides of ``skin_regions.tsv`` that lie in the test band of ``skin.tsv``, as
an apply slide sheet labelled with the ``skin_epithelium`` classes.

Output: a slide sheet (TSV: image, name, label, region) for the demo's ``skin_regions`` apply
target, which maps ``skin_epithelium/cnn_tiles`` over each square and compares the squares'
aggregated scores with their labels (slide-level metrics). The rule:

1. Read the squares (``image, label, group, region``) that ``make_region_bags.py`` wrote.
2. Keep a square only when its whole rectangle lies inside a ``test`` row's region of the
   ``skin_epithelium`` sample sheet: no pixel of it, so no tile the model maps there, was in
   the model's training or validation band.
3. Rename its label to the tile model's class names: ``epithelial`` → ``epithelium``,
   ``stromal`` → ``stroma`` (the square's label is the same stain-density rule as the tile
   mask's, summed over the square; see ``make_region_bags.py``). The name is the square's group.

Standard library only. Run from the repository root:
    python resources/images/make_test_regions.py resources/images/skin_regions.tsv \
        resources/images/skin.tsv resources/images/skin_test_regions.tsv
"""

import csv
import sys
from pathlib import Path

CLASS_NAMES = {"epithelial": "epithelium", "stromal": "stroma"}


def rectangle(text: str) -> tuple[int, int, int, int]:
    x, y, width, height = (int(part) for part in text.split(","))
    return x, y, x + width, y + height


def inside(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def main(squares_path: str, split_sheet_path: str, out_path: str) -> None:
    with open(split_sheet_path, newline="") as handle:
        test = [
            rectangle(row["region"])
            for row in csv.DictReader(handle, delimiter="\t")
            if row["split"] == "test"
        ]
    with open(squares_path, newline="") as handle:
        squares = list(csv.DictReader(handle, delimiter="\t"))
    lines = ["image\tname\tlabel\tregion"]
    for square in squares:
        if any(inside(rectangle(square["region"]), band) for band in test):
            label = CLASS_NAMES[square["label"]]
            lines.append(f"{square['image']}\t{square['group']}\t{label}\t{square['region']}")
    Path(out_path).write_text("\n".join(lines) + "\n")
    labels = [line.split("\t")[2] for line in lines[1:]]
    counts = ", ".join(f"{c} {labels.count(c)}" for c in sorted(set(labels)))
    print(f"{len(labels)} of {len(squares)} squares in the test band: {counts}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
