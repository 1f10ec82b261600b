import copy
from pathlib import Path

import pytest
import yaml

from biodl.config.checks import validate_config
from biodl.config.runs import runs
from biodl.config.schema import validate_model
from biodl.core.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "scripts/biodl/config/config.schema.yaml"
DEMO = yaml.safe_load((ROOT / "config/config.yaml").read_text())
# The demo's apply targets name its runs and files: tests/test_targets.py checks them; here they
# would stand in the way of the renamed datasets and relocated files below.
DEMO.pop("apply", None)


def check(config):
    return validate_config(config, SCHEMA, ROOT)


def test_demo_config_is_valid_and_defaults_are_filled():
    config = check(copy.deepcopy(DEMO))
    assert config["datasets"]["ctcf"]["ambiguous"] == "zeros"
    assert config["datasets"]["ctcf"]["negatives"]["label"] == "background"
    assert config["models"]["cnn_motif"]["conv_layers"][0]["pool_size"] == 1
    assert config["models"]["cnn_motif"]["training"]["optimizer"] == "adam"
    assert runs(config) == [(d, m) for d, models in DEMO["runs"].items() for m in models]
    assert config["evaluation"] == {"bootstrap": 1000, "confidence": 0.95, "calibration_bins": 10}
    assert config["datasets"]["diabetes"]["missing"] == "impute"


def test_without_runs_every_model_runs_on_the_datasets_it_fits():
    config = check({k: v for k, v in copy.deepcopy(DEMO).items() if k != "runs"})
    takes = {
        "cnn_motif": {"dna"},
        "cnn_deep": {"dna"},
        "danq_small": {"dna"},
        "resnet_small": {"dna"},
        "cnn_tiles": {"image"},
        "mlp": {"table"},
        "mlp_folds": {"table"},
        "mlp_search": {"table"},
        "linear": {"dna", "table"},
        "boosting": {"dna", "table"},
    }
    modality = {d: spec["modality"] for d, spec in config["datasets"].items()}
    assert runs(config) == [
        (d, m) for d in config["datasets"] for m in config["models"] if modality[d] in takes[m]
    ]


def broken(edit):
    config = copy.deepcopy(DEMO)
    edit(config)
    return config


@pytest.mark.parametrize(
    "edit, key, expected",
    [
        (
            lambda c: c["datasets"]["ctcf"].update(lenght=3),
            "datasets.ctcf",
            "unknown key 'lenght' (did you mean 'length'?)",
        ),
        (
            lambda c: c["datasets"]["ctcf"].update(length="long"),
            "datasets.ctcf.length",
            "expected an integer, found 'long'",
        ),
        (
            lambda c: c["models"]["cnn_deep"].update(kind="transformer"),
            "models.cnn_deep.kind",
            "expected one of cnn1d",
        ),
        (
            lambda c: c["models"]["cnn_deep"]["conv_layers"][1].update(filters=0),
            "models.cnn_deep.conv_layers[1].filters",
            "less than the minimum",
        ),
        (lambda c: c.update(seed="x"), "seed", "expected an integer"),
        (lambda c: c.pop("models"), "(top level)", "'models' is required"),
        (
            lambda c: c["datasets"]["ctcf"]["sequences"].update(CTCF="resources/missing.fa"),
            "datasets.ctcf.sequences.CTCF",
            "file not found: resources/missing.fa",
        ),
        (
            lambda c: c["datasets"]["ctcf"].update(genome="resources/yeast/sacCer_chrI_chrII.fa"),
            "datasets.ctcf",
            "exactly one input",
        ),
        (
            lambda c: c["datasets"]["yeast_promoters"]["split"].update(test=[]),
            "datasets.yeast_promoters.split",
            "set split.validation and split.test",
        ),
        (
            lambda c: c["datasets"]["ctcf"]["negatives"].update(ratio=1.5),
            "datasets.ctcf.negatives.ratio",
            "whole number",
        ),
        (lambda c: c.update(runs={"ctcf": ["nope"]}), "runs.ctcf", "unknown model 'nope'"),
        (
            lambda c: c.update(runs={"diabetes": ["cnn_motif"]}),
            "runs.diabetes",
            "'cnn_motif' is a cnn1d, which takes dna datasets",
        ),
        (
            lambda c: c.update(runs={"skin_epithelium": ["danq_small"]}),
            "runs.skin_epithelium",
            "'danq_small' is a danq, which takes dna datasets",
        ),
        (
            lambda c: c["models"]["danq_small"].update(recurrent="rnn"),
            "models.danq_small.recurrent",
            "expected one of lstm, gru",
        ),
        (
            lambda c: c["models"]["danq_small"].update(conv_layers=[{"filters": 4, "kernel_size": 3}]),
            "models.danq_small",
            "unknown key 'conv_layers'",
        ),
        (
            lambda c: c["datasets"]["diabetes"].update(task="survival"),
            "datasets.diabetes.task",
            "expected one of binary",
        ),
        (
            lambda c: c["datasets"]["breast_cancer"].update(label_columns=["a", "b"]),
            "datasets.breast_cancer.label_columns",
            "one column of class names",
        ),
        (
            lambda c: c["models"]["linear"].update(estimator="svm"),
            "models.linear.estimator",
            "expected one of linear, gradient_boosting",
        ),
        (
            lambda c: c["models"]["cnn_deep"].update(init_from={"dataset": "ctfc", "model": "cnn_motif"}),
            "models.cnn_deep.init_from.dataset",
            "unknown dataset 'ctfc'",
        ),
        (
            lambda c: c["models"]["mlp"].update(init_from={"dataset": "breast_cancer", "model": "linear"}),
            "models.mlp.init_from.model",
            "'linear' is a baseline; expected a network model trained once",
        ),
        (
            lambda c: c["models"]["mlp"].update(init_from={"dataset": "breast_cancer", "model": "mlp_folds"}),
            "models.mlp.init_from.model",
            "'mlp_folds' is an ensemble; expected a network model trained once",
        ),
        (
            lambda c: c["models"].update(slides={"kind": "attention_mil", "ensemble": {"members": 2}}),
            "models.slides.ensemble",
            "attention_mil models are trained once per run; remove ensemble",
        ),
        (
            lambda c: c["models"].update(
                slides={
                    "kind": "attention_mil",
                    "search": {"trials": 2, "space": {"max_tiles": {"int_uniform": [4, 8]}}},
                }
            ),
            "models.slides.search",
            "attention_mil models are trained once per run; remove search",
        ),
        (
            lambda c: (
                c["models"].update(slides={"kind": "attention_mil"}),
                c["runs"].update(skin_epithelium=["slides"]),
            ),
            "runs.skin_epithelium",
            "'slides' is an attention_mil, which learns one label per bag; the sample sheet",
        ),
        (
            lambda c: (
                c["models"].update(pretrain={"kind": "dense_autoencoder"}),
                c.update(learning_curve={"models": ["pretrain"]}),
            ),
            "learning_curve.models[0]",
            "'pretrain' is a model with a training rule of its own (attention_mil, dense_autoencoder",
        ),
        (
            lambda c: c.update(learning_curve={"models": ["mlp", "nope"]}),
            "learning_curve.models[1]",
            "unknown model 'nope'",
        ),
        (
            lambda c: c.update(learning_curve={"models": ["linear"]}),
            "learning_curve.models[0]",
            "'linear' is a baseline; a learning curve retrains a network model trained once",
        ),
        (
            lambda c: c.update(learning_curve={"models": ["mlp_search"]}),
            "learning_curve.models[0]",
            "'mlp_search' is a search",
        ),
        (
            lambda c: c.update(learning_curve={"fractions": [0.5, 0]}),
            "learning_curve.fractions[1]",
            "",
        ),
    ],
)
def test_invalid_config_gives_one_message_naming_the_key(edit, key, expected):
    with pytest.raises(InputError) as caught:
        check(broken(edit))
    assert caught.value.where == key
    assert expected in caught.value.problem


def renamed(section, old, new):
    """A demo config whose dataset or model ``old`` is called ``new`` (runs follow)."""

    def edit(config):
        config[section][new] = config[section].pop(old)
        config["runs"] = {
            (new if d == old else d): [new if m == old else m for m in ms] for d, ms in config["runs"].items()
        }

    return broken(edit)


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", "a\\b", "", "x" * 101])
@pytest.mark.parametrize("section, old", [("datasets", "ctcf"), ("models", "mlp")])
def test_names_that_are_not_one_plain_path_component_are_refused(section, old, name):
    with pytest.raises(InputError) as caught:
        check(renamed(section, old, name))
    assert caught.value.where == section
    assert repr(name) in caught.value.problem or "too long" in caught.value.problem


@pytest.mark.parametrize("name", ["ctcf.v2", "my-model", "_x", "A1"])
def test_plain_names_with_dots_and_dashes_are_accepted(name):
    check(renamed("datasets", "ctcf", name))


def test_model_settings_outside_the_workflow_get_the_schema_defaults():
    resolved = validate_model(
        "m", {"kind": "cnn1d", "conv_layers": [{"filters": 4, "kernel_size": 3}], "training": {"epochs": 2}}
    )
    assert resolved["conv_layers"] == [
        {"filters": 4, "kernel_size": 3, "pool_size": 1, "pool": "max", "dropout": 0, "batch_norm": False}
    ]
    assert resolved["dense_layers"] == [] and resolved["global_pool"] == "none"
    assert resolved["training"] == {
        "optimizer": "adam",
        "learning_rate": 0.001,
        "batch_size": 64,
        "epochs": 2,
        "patience": 5,
        "min_delta": 0,
        "regression_loss": "mse",
        "huber_delta": 1.0,
        "momentum": None,
        "nesterov": False,
        "beta_1": None,
        "beta_2": None,
        "rho": None,
        "epsilon": None,
        "weight_decay": None,
        "clip_norm": None,
        "clip_value": None,
        "global_clip_norm": None,
        "warmup_epochs": 0,
        "monitor": "val_loss",
        "class_weight": None,
        "mixed_precision": False,
        "distribute": False,
        "device": "auto",
        "schedule": {
            "kind": "constant",
            "factor": 0.5,
            "step_epochs": 10,
            "decay_epochs": None,
            "min_learning_rate": 0,
            "patience": 3,
            "min_delta": 0,
        },
    }
    assert resolved["initializer"] == "glorot_uniform" and resolved["l1"] == resolved["l2"] == 0
    demo = copy.deepcopy(DEMO) | {"models": {"m": {"kind": "cnn1d"}}, "runs": {"ctcf": ["m"]}}
    assert validate_model("m", {"kind": "cnn1d"}) == check(demo)["models"]["m"]


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ({"kind": "transformer"}, "kind"),
        ({"global_pool": "sum"}, "global_pool"),
        ({"activation": "not_an_activation"}, "activation"),
        ({"conv_layers": [{"filters": 0, "kernel_size": 3}]}, "conv_layers[0].filters"),
        ({"conv_layers": [{"filters": 4, "kernal_size": 3}]}, "conv_layers[0]"),
        ({"dense_layers": [{"dropout": 0.2}]}, "dense_layers[0]"),
        ({"dense_layers": [{"units": 4, "dropout": 1.0}]}, "dense_layers[0].dropout"),
        ({"training": {"optimizer": "lbfgs"}}, "training.optimizer"),
        ({"training": {"batch_size": True}}, "training.batch_size"),
        ({"training": {"learning_rate": 0}}, "training.learning_rate"),
        ({"epochs": 3}, None),
    ],
)
def test_bad_model_settings_name_the_key(config, where):
    with pytest.raises(InputError) as error:
        validate_model("m", {"kind": "cnn1d", **config})
    assert error.value.where == "models.m" + (f".{where}" if where else "")
    assert error.value.source == "config"


def test_motif_collections_by_taxon_are_found_in_the_workflows_folder_from_any_working_directory(tmp_path):
    config = copy.deepcopy(DEMO)
    for spec in config["datasets"].values():  # the data, by absolute path: the project is elsewhere
        for key in ("genome", "path", "sample_sheet"):
            if key in spec:
                spec[key] = str(ROOT / spec[key])
        for group in ("regions", "sequences"):
            spec.get(group, {}).update({k: str(ROOT / v) for k, v in spec.get(group, {}).items()})
    validate_config(config, base_dir=tmp_path, workflow_dir=ROOT)
    jaspar = ROOT / "resources/jaspar"
    assert config["interpretation"]["database"] == str(
        jaspar / "JASPAR2024_CORE_vertebrates_non-redundant.meme"
    )
    assert config["datasets"]["yeast_promoters"]["motif_database"] == str(
        jaspar / "JASPAR2024_CORE_fungi_non-redundant.meme"
    )
    config = copy.deepcopy(DEMO)
    config["datasets"]["yeast_promoters"]["motif_database"] = "fungus"
    with pytest.raises(InputError) as caught:
        validate_config(config)
    assert caught.value.where == "datasets.yeast_promoters.motif_database"
    assert "file not found: fungus" in caught.value.problem and "fungi" in caught.value.problem


def test_check_network_types_a_network_and_refuses_a_baseline():
    from biodl.config.models import Cnn1dModel, check_network

    network = check_network("m", {"kind": "cnn1d", "conv_layers": [{"filters": 4, "kernel_size": 3}]})
    assert isinstance(network, Cnn1dModel)
    with pytest.raises(InputError, match=r"models\.lin\.kind.*expected a network, found 'baseline'"):
        check_network("lin", {"kind": "baseline", "estimator": "linear"})


def test_the_mil_config_is_valid_and_a_group_with_two_labels_is_refused(tmp_path):
    config = yaml.safe_load((ROOT / "config/mil.yaml").read_text())
    check(copy.deepcopy(config))
    slide = ROOT / "resources/images/cmu_small_region.svs"
    sheet = tmp_path / "bags.tsv"
    sheet.write_text(
        "image\tlabel\tgroup\tregion\n"
        f"{slide}\tstromal\tbag1\t960,192,192,192\n"
        f"{slide}\tepithelial\tbag1\t1152,192,192,192\n"
        f"{slide}\tepithelial\tbag2\t960,384,192,192\n"
    )
    config["datasets"]["skin_regions"]["sample_sheet"] = str(sheet)
    with pytest.raises(InputError) as caught:
        check(config)
    assert (caught.value.source, caught.value.where) == (str(sheet), "line 3")
    assert "group bag1 has the labels 'stromal' and 'epithelial'" in caught.value.problem
    assert "needs one label per group" in caught.value.problem
