import keras
import numpy as np
import pandas as pd
import pytest
from mil_fixtures import prepare_bags

from biodl.config.models import check_model
from biodl.core.errors import InputError
from biodl.data.dataset import open_dataset
from biodl.models.autoencoder import encoder_layers
from biodl.models.parameter_count import read_parameters
from biodl.training.loop import compile_network
from biodl.training.mil import compile_mil
from biodl.training.pretraining import AutoencoderRun, train_autoencoder

CONV = [{"filters": 8, "kernel_size": 7, "pool_size": 2}]
AUTOENCODER = {
    "kind": "conv_autoencoder",
    "conv_layers": CONV,
    "decoder_kernel": 5,
    "training": {"epochs": 3, "batch_size": 32, "learning_rate": 0.01},
}


def ae_run(dataset, out, **changes):
    return AutoencoderRun(
        dataset=dataset,
        model=check_model("ae", {**AUTOENCODER, **changes}),
        seed=3,
        model_path=out / "model.keras",
        history_path=out / "history.tsv",
        parameters_path=out / "parameters.tsv",
    )


def test_pretrained_encoder_starts_a_supervised_cnn(binary_dataset, tmp_path):
    run = ae_run(binary_dataset, tmp_path)
    history = train_autoencoder(run)
    written = pd.read_csv(run.history_path, sep="\t")
    assert list(written.columns) == ["epoch", "loss", "val_loss", "learning_rate", "best"]
    assert len(history) == 3 and written["best"].sum() == 1
    # better than knowing nothing: uniform base probabilities cost ln 4 per position
    assert written["val_loss"].min() < np.log(4)
    autoencoder = keras.models.load_model(run.model_path)  # plain Keras
    # Encoder and decoder together.
    assert read_parameters(run.parameters_path).total == autoencoder.count_params()
    settings = check_model(
        "cnn",
        {
            "kind": "cnn1d",
            "conv_layers": CONV,
            "dense_layers": [],
            "init_from": {"dataset": "d", "model": "ae"},
        },
    )
    model, _ = compile_network(settings, open_dataset(binary_dataset), run.model_path)
    assert encoder_layers(autoencoder) == ["conv1"]
    for a, b in zip(
        model.get_layer("conv1").get_weights(), autoencoder.get_layer("conv1").get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_same_seed_same_history(binary_dataset, tmp_path):
    one = train_autoencoder(
        ae_run(binary_dataset, tmp_path / "one", training={**AUTOENCODER["training"], "epochs": 1})
    )
    two = train_autoencoder(
        ae_run(binary_dataset, tmp_path / "two", training={**AUTOENCODER["training"], "epochs": 1})
    )
    pd.testing.assert_frame_equal(one, two)


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"kind": "dense_autoencoder", "dense_layers": [{"units": 4}], "conv_layers": None}, "kind"),
        ({"training": {"monitor": "val_auroc"}}, "training.monitor"),
        ({"training": {"class_weight": "balanced"}}, "training.class_weight"),
    ],
)
def test_settings_that_cannot_apply_are_refused(binary_dataset, tmp_path, changes, key):
    raw = {**AUTOENCODER, **changes}
    raw = {k: v for k, v in raw.items() if v is not None}
    if raw["kind"] == "dense_autoencoder":
        raw.pop("decoder_kernel")
    run = AutoencoderRun(binary_dataset, check_model("ae", raw), 3, tmp_path / "m.keras", tmp_path / "h.tsv")
    with pytest.raises(InputError) as caught:
        train_autoencoder(run)
    assert caught.value.where == key


# Without batch norm: twenty steps are too few for its moving statistics to settle.
# Without batch norm: twenty steps are too few for its moving statistics to settle.
TILE_AUTOENCODER = {
    "kind": "conv2d_autoencoder",
    "conv_layers": [{"filters": 8, "kernel_size": 3, "batch_norm": False}] * 2,
    "training": {"epochs": 4, "batch_size": 16, "learning_rate": 0.01},
}


def test_pretrained_tile_encoder_starts_a_cnn2d_and_attention_mil(tmp_path):
    (tmp_path / "bags").mkdir()
    prepared = prepare_bags(tmp_path / "bags")
    run = AutoencoderRun(
        prepared, check_model("ae", TILE_AUTOENCODER), 3, tmp_path / "model.keras", tmp_path / "history.tsv"
    )
    history = train_autoencoder(run)
    assert len(history) == 4 and history["best"].sum() == 1
    # The loss is the mean squared error of normalised pixels: predicting each channel's mean costs
    # about 1 (the validation split's statistics differ a little from the training split's).
    assert history["val_loss"].min() < 0.5, history
    autoencoder = keras.models.load_model(run.model_path)  # plain Keras
    dataset = open_dataset(prepared)
    conv_layers = TILE_AUTOENCODER["conv_layers"]
    init = {"init_from": {"dataset": "d", "model": "ae"}}
    cnn, _ = compile_network(
        check_model("cnn", {"kind": "cnn2d", "conv_layers": conv_layers, **init}), dataset, run.model_path
    )
    mil = compile_mil(
        check_model("mil", {"kind": "attention_mil", "conv_layers": conv_layers, "max_tiles": 9, **init}),
        dataset,
        9,
        run.model_path,
    )
    for network in (cnn, mil.get_layer("encode_tiles").layer):
        for name in encoder_layers(autoencoder):
            for a, b in zip(
                network.get_layer(name).get_weights(), autoencoder.get_layer(name).get_weights(), strict=True
            ):
                np.testing.assert_array_equal(a, b)
