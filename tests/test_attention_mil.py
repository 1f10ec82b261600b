import keras
import numpy as np
import pytest

from biodl.config.models import check_model
from biodl.core.errors import InputError
from biodl.models.attention_mil import attention_model, build_mil_model
from biodl.models.networks import build_model
from biodl.training.transfer import copy_weights

NORMALIZATION = ((150.0, 100.0, 150.0), (50.0, 40.0, 50.0))
TILE = (16, 16, 3)


def settings(**changes):
    raw = {
        "kind": "attention_mil",
        "conv_layers": [{"filters": 4, "kernel_size": 3}],
        "dense_layers": [{"units": 8}],
        "attention_units": 4,
        **changes,
    }
    return check_model("mil", raw)


def bags(n_tiles=(5, 2, 1), max_tiles=5, seed=0):
    rng = np.random.default_rng(seed)
    tiles = rng.integers(0, 256, (len(n_tiles), max_tiles, *TILE)).astype("float32")
    mask = (np.arange(max_tiles) < np.array(n_tiles)[:, None]).astype("float32")
    return {"tiles": tiles, "mask": mask}


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return build_mil_model(settings(), TILE, 5, "binary", 1, NORMALIZATION)


def test_attention_sums_to_one_per_bag_and_padding_gets_none(model):
    inputs = bags()
    attention = np.asarray(attention_model(model)(inputs))
    assert attention.shape == (3, 5)
    np.testing.assert_allclose(attention.sum(axis=1), 1, rtol=1e-6)
    assert np.all(attention[inputs["mask"] == 0] == 0)
    assert np.all(attention[inputs["mask"] == 1] > 0)
    assert attention[2, 0] == pytest.approx(1)


def test_padded_tiles_do_not_change_the_prediction(model):
    inputs = bags()
    changed = {"tiles": inputs["tiles"].copy(), "mask": inputs["mask"]}
    changed["tiles"][inputs["mask"] == 0] = 255 - changed["tiles"][inputs["mask"] == 0]
    np.testing.assert_allclose(model(inputs, training=False), model(changed, training=False), rtol=1e-6)
    # ... whereas a real tile does
    changed["tiles"][1, 0] = 0
    assert not np.allclose(model(inputs, training=False)[1], model(changed, training=False)[1])


def test_trains_saves_and_loads_with_plain_keras(model, tmp_path):
    keras.utils.set_random_seed(1)
    trained = build_mil_model(settings(), TILE, 5, "multiclass", 3, NORMALIZATION)
    trained.compile("adam", "categorical_crossentropy")
    inputs = bags(seed=2)
    labels = np.eye(3, dtype="float32")
    before = [w.copy() for w in trained.get_weights()]
    trained.fit(inputs, labels, epochs=2, batch_size=3, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, trained.get_weights(), strict=True))
    path = tmp_path / "mil.keras"
    trained.save(path)
    loaded = keras.models.load_model(path)  # no custom objects
    np.testing.assert_allclose(
        loaded.predict(inputs, verbose=0), trained.predict(inputs, verbose=0), rtol=1e-5
    )
    np.testing.assert_allclose(np.asarray(loaded(inputs)).sum(axis=1), 1, rtol=1e-5)
    attention = np.asarray(attention_model(loaded)(inputs))
    assert np.all(attention[inputs["mask"] == 0] == 0)


def test_encoder_takes_a_tile_models_layers_by_name(tmp_path):
    keras.utils.set_random_seed(2)
    tile_settings = check_model(
        "tiles",
        {"kind": "cnn2d", "conv_layers": [{"filters": 4, "kernel_size": 3}], "dense_layers": [{"units": 8}]},
    )
    tile_model = build_model(tile_settings, TILE, "binary", 1, NORMALIZATION)
    path = tmp_path / "tiles.keras"
    tile_model.save(path)
    mil = build_mil_model(settings(), TILE, 5, "binary", 1, NORMALIZATION)
    encoder = mil.get_layer("encode_tiles").layer
    copied = copy_weights(path, encoder, "mil")
    assert copied == {"conv1", "conv1_batch_norm", "dense1"}
    for name in copied:
        for a, b in zip(
            encoder.get_layer(name).get_weights(), tile_model.get_layer(name).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(a, b)


def test_pooling_wider_than_the_tile_is_refused():
    with pytest.raises(InputError, match=r"conv_layers\[1\].*pool_size 16 exceeds the 8 pixels"):
        build_mil_model(
            settings(
                conv_layers=[
                    {"filters": 2, "kernel_size": 3},
                    {"filters": 2, "kernel_size": 3, "pool_size": 16},
                ]
            ),
            TILE,
            5,
            "binary",
            1,
            NORMALIZATION,
        )
