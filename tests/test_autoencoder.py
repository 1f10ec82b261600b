import keras
import numpy as np
import pytest

from biodl.config.models import check_model
from biodl.core.errors import InputError
from biodl.models.attention_mil import build_mil_model
from biodl.models.autoencoder import build_autoencoder, encoder_layers, normalised_tiles, reconstruction_loss
from biodl.models.networks import build_model
from biodl.training.transfer import copy_weights

CONV = [{"filters": 6, "kernel_size": 5, "pool_size": 2}, {"filters": 4, "kernel_size": 3, "pool_size": 3}]


@pytest.mark.parametrize("length", [50, 51, 200])
def test_conv_autoencoder_reconstructs_every_position_as_base_probabilities(length):
    settings = check_model("ae", {"kind": "conv_autoencoder", "conv_layers": CONV, "decoder_kernel": 7})
    model = build_autoencoder(settings, (length, 4))
    x = np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, (3, length))]
    out = np.asarray(model(x))
    assert out.shape == (3, length, 4)
    np.testing.assert_allclose(out.sum(axis=-1), 1, rtol=1e-5)
    assert encoder_layers(model) == ["conv1", "conv2"]


def test_dense_autoencoder_mirrors_its_encoder():
    settings = check_model("ae", {"kind": "dense_autoencoder", "dense_layers": [{"units": 8}, {"units": 3}]})
    model = build_autoencoder(settings, (10,))
    assert [layer.name for layer in model.layers if layer.weights] == [
        "dense1",
        "dense2",
        "decode1",
        "reconstruction",
    ]
    assert model.get_layer("decode1").units == 8 and model.output.shape == (None, 10)
    assert encoder_layers(model) == ["dense1", "dense2"]


def test_a_sequence_too_short_for_the_encoder_is_refused():
    settings = check_model("ae", {"kind": "conv_autoencoder", "conv_layers": CONV})
    with pytest.raises(InputError, match="conv_layers"):
        build_autoencoder(settings, (8, 4))
    with pytest.raises(InputError, match="takes inputs of 2 dimension"):
        build_autoencoder(settings, (50,))


@pytest.mark.parametrize(
    "autoencoder, supervised, shape",
    [
        (
            {"kind": "dense_autoencoder", "dense_layers": [{"units": 8}, {"units": 3}]},
            {"kind": "mlp", "dense_layers": [{"units": 8}, {"units": 3}]},
            (10,),
        ),
        (
            {"kind": "conv_autoencoder", "conv_layers": CONV},
            {"kind": "cnn1d", "conv_layers": CONV, "dense_layers": [{"units": 4}]},
            (60, 4),
        ),
    ],
)
def test_encoder_starts_the_supervised_network(tmp_path, autoencoder, supervised, shape):
    keras.utils.set_random_seed(0)
    ae = build_autoencoder(check_model("ae", autoencoder), shape)
    x = np.random.default_rng(1).random((16, *shape)).astype("float32")
    ae.compile("adam", "mse")
    ae.fit(x, x, epochs=1, verbose=0)
    path = tmp_path / "ae.keras"
    ae.save(path)
    network = build_model(check_model("net", supervised), shape, "binary", 1)
    copied = copy_weights(path, network, "net")
    assert copied == set(encoder_layers(ae))
    for name in copied:
        for a, b in zip(network.get_layer(name).get_weights(), ae.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    assert not any(name.startswith(("decode", "reconstruction")) for name in copied)


TILE_CONV = [
    {"filters": 6, "kernel_size": 3, "pool_size": 2},
    {"filters": 8, "kernel_size": 3, "pool_size": 2},
]
NORMALIZATION = ((180.0, 120.0, 170.0), (30.0, 40.0, 25.0))


def tile_autoencoder(**changes):
    return check_model("ae", {"kind": "conv2d_autoencoder", "conv_layers": TILE_CONV, **changes})


def tiles(n, side, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, side, side, 3)).astype("float32")


@pytest.mark.parametrize("side, padded", [(32, []), (30, ["pad1"]), (17, ["pad2"])])
def test_tile_autoencoder_mirrors_its_encoder_back_to_the_tile_size(side, padded):
    model = build_autoencoder(tile_autoencoder(), (side, side, 3), NORMALIZATION)
    out = np.asarray(model(tiles(2, side)))
    assert out.shape == (2, side, side, 3) and out.dtype == np.float32
    # encoder: a cnn2d's names; decoder: upsample, pad where pooling floored an odd side, decode.
    assert encoder_layers(model) == ["conv1", "conv1_batch_norm", "conv2", "conv2_batch_norm"]
    assert [layer.name for layer in model.layers if layer.name.startswith("pad")] == padded
    assert model.get_layer("decode1").filters == 6 and model.get_layer("reconstruction").filters == 3
    assert model.get_layer("conv2_max_pool").output.shape[1:3] == ((side // 2) // 2,) * 2


def test_tile_autoencoder_reconstructs_the_normalised_pixels(tmp_path):
    model = build_autoencoder(tile_autoencoder(), (16, 16, 3), NORMALIZATION)
    x = tiles(4, 16)
    normalised = keras.Model(model.input, model.get_layer("normalise").output)
    np.testing.assert_allclose(
        np.asarray(normalised(x)), np.asarray(normalised_tiles(x, NORMALIZATION)), atol=1e-5
    )
    np.testing.assert_allclose(
        np.asarray(normalised_tiles(x, NORMALIZATION)),
        (x - np.array(NORMALIZATION[0])) / np.array(NORMALIZATION[1]),
        rtol=1e-5,
    )
    assert reconstruction_loss("conv2d_autoencoder").name == "loss"
    assert isinstance(reconstruction_loss("conv2d_autoencoder"), keras.losses.MeanSquaredError)


def test_a_tile_too_small_for_the_poolings_is_refused():
    with pytest.raises(InputError, match=r"conv_layers\[1\].*pool_size 2 exceeds the 1 pixels"):
        build_autoencoder(tile_autoencoder(), (3, 3, 3), NORMALIZATION)
    with pytest.raises(InputError, match="channel mean and standard deviation"):
        build_autoencoder(tile_autoencoder(), (16, 16, 3))
    with pytest.raises(InputError, match="takes inputs of 3 dimension"):
        build_autoencoder(tile_autoencoder(), (16, 4), NORMALIZATION)


def test_tile_encoder_starts_a_cnn2d_and_a_mil_tile_encoder(tmp_path):
    keras.utils.set_random_seed(0)
    ae = build_autoencoder(tile_autoencoder(), (16, 16, 3), NORMALIZATION)
    x = tiles(16, 16)
    ae.compile("adam", reconstruction_loss("conv2d_autoencoder"))
    ae.fit(x, normalised_tiles(x, NORMALIZATION), epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "ae.keras"
    ae.save(path)
    reloaded = keras.models.load_model(path)  # plain Keras, no custom objects
    np.testing.assert_allclose(np.asarray(reloaded(x)), np.asarray(ae(x)), atol=1e-5)

    cnn = build_model(
        check_model("cnn", {"kind": "cnn2d", "conv_layers": TILE_CONV}),
        (16, 16, 3),
        "binary",
        1,
        NORMALIZATION,
    )
    mil = build_mil_model(
        check_model("mil", {"kind": "attention_mil", "conv_layers": TILE_CONV, "attention_units": 4}),
        (16, 16, 3),
        3,
        "binary",
        1,
        NORMALIZATION,
    )
    for network in (cnn, mil.get_layer("encode_tiles").layer):
        copied = copy_weights(path, network, "net")
        assert copied == set(encoder_layers(ae))  # the decoder is left behind
        for name in copied:
            for a, b in zip(
                network.get_layer(name).get_weights(), ae.get_layer(name).get_weights(), strict=True
            ):
                np.testing.assert_array_equal(a, b)
