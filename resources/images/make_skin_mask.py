"""Derive the label mask of the demo skin slide from its own haematoxylin stain.

Output: a PNG 4 times smaller than the slide (level-0 pixels per mask pixel: 4), one byte per
pixel: 0 = no tissue, 1 = stroma (eosin-dominant dermis), 2 = epithelium (haematoxylin-dense:
epidermis, hair follicle). The rule, in order:

1. Shrink the slide 4 times (box filter; 2 µm per mask pixel at the slide's 0.499 µm/px).
2. Tissue: biodl.data.image.tiling.tissue_mask, the same detection the workflow uses (Otsu on saturation,
   morphology scaled to a 32-pixel tile).
3. Haematoxylin optical density by colour deconvolution (scikit-image rgb2hed, Ruifrok &
   Johnston stain vectors), smoothed with a Gaussian of sigma 8 mask pixels (16 µm), so a
   pixel reflects the density of nuclei around it rather than one nucleus.
4. Epithelium: smoothed haematoxylin above its Otsu threshold over tissue pixels; objects and
   holes smaller than 400 mask pixels (0.0064 mm², about 80 µm across) are removed / filled.
   Every other tissue pixel is stroma.

This is a reproducible stain-density heuristic, not a pathologist's annotation: it separates
cell-dense epithelium from collagen-rich dermis well on this section, and also marks a few
tissue-dye spots at the section's edges as epithelium.

Run from the repository root:
    python resources/images/make_skin_mask.py resources/images/cmu_small_region.svs \
        resources/images/cmu_small_region.mask.png
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import color, filters, morphology

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from biodl.data.image.sources import open_sources  # noqa: E402
from biodl.data.image.tiling import tissue_mask  # noqa: E402

DOWNSAMPLE = 4
SIGMA = 8
MIN_AREA = 400


def main(slide: Path, out: Path) -> None:
    for source in open_sources(slide):
        rgb = source.thumbnail(DOWNSAMPLE)
    tissue = tissue_mask(rgb, "light", tile_px=32)
    haematoxylin = filters.gaussian(color.rgb2hed(rgb)[..., 0], SIGMA)
    dense = haematoxylin > filters.threshold_otsu(haematoxylin[tissue])
    epithelium = morphology.remove_small_objects(dense & tissue, max_size=MIN_AREA)
    epithelium = morphology.remove_small_holes(epithelium, max_size=MIN_AREA) & tissue
    labels = np.where(epithelium, 2, np.where(tissue, 1, 0)).astype(np.uint8)
    Image.fromarray(labels).save(out, optimize=True)
    counts = np.bincount(labels.ravel(), minlength=3)
    print(
        f"{out}: {labels.shape[1]}x{labels.shape[0]} px; background {counts[0]}, stroma {counts[1]}, "
        f"epithelium {counts[2]} px",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
