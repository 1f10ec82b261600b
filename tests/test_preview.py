"""biodl.data.image.preview: kept tiles over thumbnails, a few images from every split."""

import numpy as np
from PIL import Image

from biodl.data.image.preview import Thumbnail, TilingPreview


def add(preview: TilingPreview, name: str, split: str, tiles: int) -> None:
    thumbnail = Thumbnail(name, np.full((400, 200, 3), 200, np.uint8), downsample=4.0)
    boxes = np.tile([[0.0, 0.0, 64.0, 64.0]], (tiles, 1))
    preview.add(thumbnail, (0, 0, 800, 1600), split, boxes, np.zeros(tiles, dtype=np.int64))


def test_thumbnails_are_shrunk_and_keep_their_scale():
    preview = TilingPreview(["a", "b"], max_images=2, max_px=100)
    add(preview, "slide", "train", 3)
    panel = preview.panels["slide"]
    assert panel.thumbnail.shape == (100, 50, 3) and panel.downsample == 16.0  # 4 x 200 / 50
    add(preview, "slide", "test", 2)  # a second region of the same image
    assert panel.per_split == {"train": 3, "test": 2} and len(panel.regions) == 2


def test_images_are_chosen_in_turn_from_each_split_and_pruned():
    preview = TilingPreview(["a", "b"], max_images=2, max_px=100)
    for name, split, tiles in (
        ("t1", "train", 5),
        ("t2", "train", 9),
        ("v1", "validation", 1),
        ("x1", "test", 2),
    ):
        add(preview, name, split, tiles)
    assert preview.chosen(3) == ["t2", "v1", "x1"]
    add(preview, "t3", "train", 1)
    preview.prune()  # more than twice max_images: keeps the four it could show
    assert set(preview.panels) == {"t2", "t1", "v1", "x1"}


def test_save_writes_a_png(tmp_path):
    preview = TilingPreview(["a", "b"], max_images=3, max_px=100)
    add(preview, "slide", "train", 3)
    figure = preview.save(tmp_path / "preview.png")
    with Image.open(tmp_path / "preview.png") as image:
        assert image.format == "PNG" and image.width > 100
    # A scale bar one tile long: 64 level-0 pixels, 4 of the thumbnail's (shrunk to downsample 16).
    ax = figure.axes[0]
    bars = [artist for artist in ax.artists if "one tile" in str(artist.txt_label.get_text())]
    assert len(bars) == 1 and bars[0].txt_label.get_text() == "64 px (one tile)"
    assert bars[0].size_bar.get_children()[0].get_width() == 4.0
    # Text a reader can read: no label under 10 points.
    texts = [ax.title, *ax.texts, *figure.legends[0].get_texts()]
    assert min(text.get_fontsize() for text in texts) >= 10
