import keras
import numpy as np
import pandas as pd
import pytest
from mil_fixtures import prepare_bags

from biodl.config.models import check_model
from biodl.core.errors import InputError
from biodl.evaluation.metrics import compute_metrics
from biodl.models.attention_mil import attention_model
from biodl.models.parameter_count import read_parameters
from biodl.training.mil import MilRun, train_mil

MODEL = {
    "kind": "attention_mil",
    "conv_layers": [{"filters": 4, "kernel_size": 3, "pool_size": 4}],
    "dense_layers": [{"units": 8}],
    "attention_units": 4,
    "max_tiles": 6,
    "training": {"epochs": 3, "batch_size": 4, "learning_rate": 0.01},
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare_bags(tmp_path_factory.mktemp("mil"))


def mil_run(prepared, out, **changes):
    return MilRun(
        dataset=prepared,
        model=check_model("mil", {**MODEL, **changes}),
        seed=4,
        model_path=out / "model.keras",
        history_path=out / "history.tsv",
        predictions_path=out / "predictions.tsv",
        attention_path=out / "attention.tsv",
        parameters_path=out / "parameters.tsv",
    )


@pytest.mark.slow  # about 30 s on two busy cores
def test_trains_on_bags_and_writes_slide_predictions_and_tile_attention(prepared, tmp_path):
    run = mil_run(prepared, tmp_path)
    result = train_mil(run)
    history = pd.read_csv(run.history_path, sep="\t")
    assert list(history["epoch"]) == [1, 2, 3] and history["best"].sum() == 1
    assert {"loss", "val_loss", "val_auroc", "learning_rate"} <= set(history.columns)
    predictions = pd.read_csv(run.predictions_path, sep="\t")
    # one row per slide (bag) of validation then test: 4 + 4 of the 16 images
    assert list(predictions["split"]) == ["validation"] * 4 + ["test"] * 4
    assert predictions["group"].is_unique and set(predictions["tiles"]) == {9}
    assert set(predictions["tiles_used"]) == {6}  # seeded sample of max_tiles
    assert predictions["y_score"].between(0, 1).all()
    attention = pd.read_csv(run.attention_path, sep="\t")
    assert len(attention) == 8 * 6
    np.testing.assert_allclose(attention.groupby("group")["attention"].sum(), 1, rtol=1e-5)
    # the saved model loads with plain Keras and gives the written predictions
    model = keras.models.load_model(run.model_path)
    assert model.inputs[0].shape[1] == 6
    assert np.asarray(attention_model(model).output.shape)[-1] == 6
    np.testing.assert_allclose(
        np.concatenate([result.scores[s].y_score for s in ("validation", "test")])[:, 0],
        predictions["y_score"],
        rtol=1e-5,
    )
    metrics = compute_metrics(
        result.scores["test"], result.scores["validation"], seed=0, bootstrap=0, confidence=0.95
    )
    n = metrics[(metrics["metric"] == "n") & (metrics["target"] == "all")]["value"]
    assert n.item() == 4  # metrics per slide, not per tile
    count = read_parameters(run.parameters_path)
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    assert (count.total, count.trainable) == (model.count_params(), trainable)


@pytest.mark.slow
def test_same_seed_same_history(prepared, tmp_path):
    one = train_mil(mil_run(prepared, tmp_path / "one", training={**MODEL["training"], "epochs": 1}))
    two = train_mil(mil_run(prepared, tmp_path / "two", training={**MODEL["training"], "epochs": 1}))
    pd.testing.assert_frame_equal(one.history, two.history)


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"training": {"class_weight": "balanced"}}, "training.class_weight"),
        ({"training": {"distribute": True}}, "training.distribute"),
        ({"freeze_layers": 1}, "freeze_layers"),
        ({"fine_tune_learning_rate": 0.001}, "fine_tune_learning_rate"),
    ],
)
def test_settings_that_cannot_apply_are_refused(prepared, tmp_path, changes, key):
    with pytest.raises(InputError) as caught:
        train_mil(mil_run(prepared, tmp_path, **changes))
    assert caught.value.where == key
