import keras
import numpy as np
import pytest

from biodl.config.models import check_model
from biodl.core.errors import InputError
from biodl.models.autoencoder import build_autoencoder, encoder_layers
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
