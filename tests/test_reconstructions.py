import numpy as np
import pytest
from mil_fixtures import prepare_bags
from PIL import Image

from biodl.config.models import check_model
from biodl.core.errors import InputError
from biodl.data.dataset import open_dataset
from biodl.models.autoencoder import build_autoencoder, normalised_tiles
from biodl.report.reconstructions import denormalised, plot_reconstructions

NORMALIZATION = ((180.0, 120.0, 170.0), (30.0, 40.0, 25.0))


def test_denormalised_undoes_the_normalisation_and_clips():
    tiles = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3)).astype("float32")
    back = denormalised(np.asarray(normalised_tiles(tiles, NORMALIZATION)), NORMALIZATION)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, tiles)
    assert denormalised(np.full((1, 1, 1, 3), 100.0), NORMALIZATION).tolist() == [[[[255, 255, 255]]]]


def test_tiles_are_drawn_above_their_reconstructions(tmp_path):
    (tmp_path / "bags").mkdir()
    dataset = open_dataset(prepare_bags(tmp_path / "bags"))
    settings = check_model(
        "ae", {"kind": "conv2d_autoencoder", "conv_layers": [{"filters": 4, "kernel_size": 3}]}
    )
    model = build_autoencoder(settings, dataset.input_shape, (dataset.channel_mean, dataset.channel_std))
    model.save(tmp_path / "ae.keras")
    path = tmp_path / "reconstructions.png"
    plot_reconstructions(tmp_path / "ae.keras", dataset, path, "d / ae", count=5)
    with Image.open(path) as image:
        width, height = image.size
    assert width > 2 * height  # five columns, two rows


def test_a_dna_dataset_is_refused(binary_dataset, tmp_path):
    with pytest.raises(InputError, match="drawn for image tiles"):
        plot_reconstructions(tmp_path / "ae.keras", open_dataset(binary_dataset), tmp_path / "r.png", "t")
