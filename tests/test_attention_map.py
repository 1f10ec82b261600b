import numpy as np
import pandas as pd
import pytest
from mil_fixtures import TILE, prepare_bags
from PIL import Image

from biodl.core.errors import InputError
from biodl.data.dataset import load_metadata, open_dataset
from biodl.report.attention_map import (
    bag_layout,
    chosen_bags,
    grid_positions,
    heat_map,
    mosaic,
    plot_attention_maps,
)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return open_dataset(prepare_bags(tmp_path_factory.mktemp("bags")))


def write_run(dataset, folder, scores, weights):
    """A run's predictions.tsv (test bags with ``scores``) and attention.tsv (every test tile,
    ``weights(group, tiles)`` giving each bag's weights)."""
    metadata = load_metadata(dataset, "test")
    groups = list(dict.fromkeys(metadata["group"]))
    labels = metadata.groupby("group", sort=False)["label"].first()
    bags = []
    for split in ("validation", "test"):
        for group in dict.fromkeys(load_metadata(dataset, split)["group"]):
            bags.append((split, group, labels.get(group, "normal")))
    predictions = pd.DataFrame(
        {
            "split": [split for split, _, _ in bags],
            "group": [group for _, group, _ in bags],
            "y_true": [int(label == "tumour") for _, _, label in bags],
            "y_score": [scores.get(group, 0.5) for _, group, _ in bags],
        }
    )
    predictions.to_csv(folder / "predictions.tsv", sep="\t", index=False)
    frames = []
    for group in groups:
        tiles = metadata[metadata["group"] == group][["split", "group", "image", "level", "x", "y"]]
        frames.append(tiles.assign(attention=weights(group, len(tiles))))
    pd.concat(frames).to_csv(folder / "attention.tsv", sep="\t", index=False)
    return folder / "attention.tsv", folder / "predictions.tsv", groups


def test_resampled_origins_land_on_their_grid_cells():
    step = 32.0641  # 16 px at 1 µm/px read from a 0.499 µm/px slide: origins rounded to pixels
    cells = [(column, row) for row in (0, 1, 2, 7) for column in (0, 3, 40)]
    xs = np.array([100 + round(c * step) for c, _ in cells])
    ys = np.array([50 + round(r * step) for _, r in cells])
    columns, rows = grid_positions(xs, ys)
    assert list(zip(columns, rows, strict=True)) == cells
    assert grid_positions(np.array([5]), np.array([9])) == (0, 0)


def test_the_most_attended_tile_is_hot_at_its_place():
    # a 3 x 2 grid of tiles (step 64) with the weight on the tile at column 2, row 1
    tiles = pd.DataFrame({"image": "a", "x": [0, 64, 128, 0, 64, 128], "y": [0, 0, 0, 64, 64, 64]})
    layout = bag_layout(tiles, stride_cells=1)
    heat = heat_map(layout, np.array([0.1, 0.1, 0.1, 0.1, 0.1, 5.5]))
    assert heat.shape == (2, 3)
    assert np.unravel_index(np.argmax(heat), heat.shape) == (1, 2)
    # overlapping tiles (size twice the stride): a cell takes the mean of the tiles covering it
    overlap = heat_map(
        bag_layout(tiles, stride_cells=2), np.array([1.0, 3.0, np.nan, np.nan, np.nan, np.nan])
    )
    assert overlap.shape == (3, 4)
    assert overlap[0, 0] == 1 and overlap[0, 1] == 2 and overlap[0, 2] == 3 and np.isnan(overlap[2, 3])


def test_images_of_one_bag_lie_side_by_side_and_tiles_keep_their_pixels():
    tiles = pd.DataFrame({"image": ["a", "a", "b"], "x": [0, 10, 500], "y": [0, 0, 0]})
    layout = bag_layout(tiles, stride_cells=1)
    assert list(layout.columns) == [0, 1, 3] and layout.shape == (1, 4)  # one empty cell between images
    pixels = np.stack([np.full((4, 4, 3), value, dtype=np.float32) for value in (10, 20, 30)])
    canvas = mosaic(layout, pixels, cell_pixels=4)
    assert canvas.shape == (4, 16, 3)
    assert canvas[0, 5, 0] == 20 and canvas[0, 9, 0] == 255 and canvas[0, 13, 0] == 30


def test_chosen_bags_are_the_best_and_worst_of_each_class(prepared, tmp_path):
    test_groups = list(dict.fromkeys(load_metadata(prepared, "test")["group"]))
    scores = dict(zip(test_groups, [0.2, 0.9, 0.4, 0.6], strict=True))
    _, predictions, _ = write_run(prepared, tmp_path, scores, lambda group, n: np.full(n, 1 / n))
    chosen = chosen_bags(predictions, prepared)
    truth = load_metadata(prepared, "test").groupby("group", sort=False)["label"].first()
    for label in ("normal", "tumour"):
        mine = [bag for bag in chosen if bag.label == label]
        members = [g for g in test_groups if truth[g] == label]
        p_true = {g: scores[g] if label == "tumour" else 1 - scores[g] for g in members}
        assert [bag.group for bag in mine] == [max(p_true, key=p_true.get), min(p_true, key=p_true.get)]
        assert mine[0].rank == "highest" and mine[0].probability == pytest.approx(max(p_true.values()))


def test_the_figure_draws_the_chosen_bags(prepared, tmp_path):
    def weights(group, n):
        w = np.full(n, 0.1 / (n - 1))
        w[4] = 0.9  # the centre tile of the 3 x 3 bag
        return w

    attention, predictions, _ = write_run(prepared, tmp_path, {}, weights)
    path = tmp_path / "attention_map.png"
    plot_attention_maps(attention, predictions, prepared, path, "d / mil: attention")
    with Image.open(path) as image:
        width, height = image.size
    assert height > width  # one row per chosen bag: four bags


def test_a_tile_of_another_dataset_is_refused(prepared, tmp_path):
    attention, predictions, _ = write_run(prepared, tmp_path, {}, lambda group, n: np.full(n, 1 / n))
    frame = pd.read_csv(attention, sep="\t")
    frame.loc[0, "x"] = 3 * TILE
    frame.to_csv(attention, sep="\t", index=False)
    with pytest.raises(InputError, match=r"x=96 y=0.*not a test tile of d's metadata.tsv") as caught:
        plot_attention_maps(attention, predictions, prepared, tmp_path / "a.png", "t")
    assert caught.value.source == str(attention)
