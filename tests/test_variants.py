"""biodl.workflow.variants: ensembles and searches expanded into runs, and the seeded sampler of trials."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_workflow import snakemake

from biodl.config.checks import validate_config
from biodl.config.schema import validate_model
from biodl.core.errors import InputError
from biodl.workflow.variants import (
    Variant,
    describe_variant,
    evaluated_runs,
    expand_variants,
    names_pattern,
    pretrained_runs,
    sample_trials,
)

ROOT = Path(__file__).resolve().parents[1]
SPACE = {
    "training.learning_rate": {"log_uniform": [1e-4, 1e-2]},
    "dense_layers.0.units": {"choice": [8, 16, 32]},
    "dense_layers.0.dropout": {"uniform": [0.0, 0.5]},
    "training.batch_size": {"int_uniform": [16, 20]},
}
CONFIG = {
    "seed": 11,
    "datasets": {
        "cancer": {
            "modality": "table",
            "path": "resources/tables/breast_cancer.csv",
            "id_column": "sample",
            "label_columns": ["diagnosis"],
            "task": "binary",
        }
    },
    "models": {
        "mlp": {"kind": "mlp", "dense_layers": [{"units": 8}]},
        "seeds": {"kind": "mlp", "dense_layers": [{"units": 8}], "ensemble": {"members": 3}},
        "folds": {"kind": "mlp", "dense_layers": [{"units": 8}], "ensemble": {"members": 4, "by": "fold"}},
        "search": {"kind": "mlp", "dense_layers": [{"units": 8}], "search": {"trials": 12, "space": SPACE}},
        "linear": {"kind": "baseline", "estimator": "linear"},
    },
    "runs": {"cancer": ["mlp", "seeds", "folds", "search", "linear"]},
}


def validated(config: dict) -> dict:
    return validate_config(copy.deepcopy(config), base_dir=ROOT)


def test_every_variant_is_named_and_made_as_the_contract_says() -> None:
    variants = expand_variants(validated(CONFIG))
    assert list(variants) == [
        "mlp",
        "seeds.seed1",
        "seeds.seed2",
        "seeds.seed3",
        "seeds",
        "folds.fold1",
        "folds.fold2",
        "folds.fold3",
        "folds.fold4",
        "folds",
        *(f"search.trial{t:02d}" for t in range(1, 13)),
        "search",
        "linear",
    ]
    assert [variants[f"seeds.seed{i}"].seed for i in (1, 2, 3)] == [11, 12, 13]
    assert [variants[f"folds.fold{i}"].fold for i in (1, 2, 3, 4)] == [(i, 4) for i in (1, 2, 3, 4)]
    assert {variants[f"folds.fold{i}"].seed for i in (1, 2, 3, 4)} == {11}
    assert (
        variants["seeds"].members == ("seeds.seed1", "seeds.seed2", "seeds.seed3")
        and variants["seeds"].role == "ensemble"
    )
    assert variants["search"].role == "search" and len(variants["search"].members) == 12
    trained = [name for name, v in variants.items() if v.trained]
    assert (
        "seeds" not in trained
        and "search" not in trained
        and "linear" in trained
        and "seeds.seed2" in trained
    )
    assert (
        not variants["linear"].is_network
        and variants["search.trial03"].is_network
        and not variants["folds"].is_network
    )
    # Members train with the model's own settings, filled with defaults, without the ensemble key.
    member = variants["seeds.seed2"].settings
    assert "ensemble" not in member and member["dense_layers"] == [
        {"units": 8, "dropout": 0, "batch_norm": False}
    ]
    assert member["training"]["optimizer"] == "adam"


def test_trials_carry_their_sampled_settings_checked_by_the_schema() -> None:
    variants = expand_variants(validated(CONFIG))
    for name in variants["search"].members:
        trial = variants[name]
        assert set(trial.sampled) == set(SPACE) and "search" not in trial.settings
        assert trial.settings["training"]["learning_rate"] == trial.sampled["training.learning_rate"]
        assert trial.settings["dense_layers"][0] == {
            "units": trial.sampled["dense_layers.0.units"],
            "dropout": trial.sampled["dense_layers.0.dropout"],
            "batch_norm": False,
        }
        assert trial.settings["training"]["batch_size"] == trial.sampled["training.batch_size"]
        assert trial.settings["training"]["epochs"] == 30  # a default, filled in each trial's settings


def test_evaluated_runs_put_members_beside_their_ensemble_and_leave_trials_out() -> None:
    config = validated(CONFIG)
    assert evaluated_runs(config, expand_variants(config)) == [
        ("cancer", "mlp"),
        ("cancer", "seeds.seed1"),
        ("cancer", "seeds.seed2"),
        ("cancer", "seeds.seed3"),
        ("cancer", "seeds"),
        *(("cancer", f"folds.fold{i}") for i in (1, 2, 3, 4)),
        ("cancer", "folds"),
        ("cancer", "search"),
        ("cancer", "linear"),
    ]


def test_sampler_respects_each_distribution() -> None:
    trials = sample_trials("m", SPACE, 400, seed=1)
    rates = [t["training.learning_rate"] for t in trials]
    assert all(1e-4 <= r <= 1e-2 for r in rates)
    # Log-uniform: about half the draws below the geometric middle of the range (1e-3).
    assert 0.4 < sum(r < 1e-3 for r in rates) / len(rates) < 0.6
    assert {t["dense_layers.0.units"] for t in trials} == {8, 16, 32}
    dropouts = [t["dense_layers.0.dropout"] for t in trials]
    assert all(0 <= d <= 0.5 for d in dropouts) and 0.2 < sum(dropouts) / len(dropouts) < 0.3
    sizes = [t["training.batch_size"] for t in trials]
    assert set(sizes) == {16, 17, 18, 19, 20} and all(isinstance(s, int) for s in sizes)
    assert all(float(f"{r:.4g}") == r for r in rates)  # rounded to 4 significant digits
    assert all(
        type(t["dense_layers.0.units"]) is int and type(t["training.learning_rate"]) is float for t in trials
    )


def test_sampler_is_seeded_and_stable() -> None:
    first = sample_trials("mlp_search", SPACE, 6, seed=42)
    assert first == sample_trials("mlp_search", SPACE, 6, seed=42)
    assert first != sample_trials("mlp_search", SPACE, 6, seed=43)
    assert first != sample_trials("other", SPACE, 6, seed=42)  # the model name is part of the seed
    assert sample_trials("mlp_search", SPACE, 9, seed=42)[:6] == first  # more trials keep the earlier ones
    # The same in a fresh interpreter (string hashing changes between processes; the sampler does not use it).
    code = (
        "import json, sys; from biodl.workflow.variants import sample_trials; "
        f"print(json.dumps(sample_trials('mlp_search', {SPACE!r}, 6, seed=42)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "scripts"), "PYTHONHASHSEED": "123"},
    ).stdout
    assert json.loads(out) == first


@pytest.mark.parametrize(
    ("space", "where", "message"),
    [
        (
            {"training.learning_rate": {"uniform": [0.1, 0.01]}},
            "models.search.search.space.training.learning_rate.uniform",
            "low < high",
        ),
        (
            {"training.batch_size": {"int_uniform": [4, 2]}},
            "models.search.search.space.training.batch_size.int_uniform",
            "low < high",
        ),
        (
            {"dense_layers.3.units": {"choice": [4]}},
            "models.search.search.space.dense_layers.3.units",
            "list of 1 item",
        ),
        (
            {"training.nothing.deep": {"choice": [4]}},
            "models.search.search.space.training.nothing.deep",
            "no 'training.nothing'",
        ),
        # A value the schema refuses: the error names the search space and the schema's key.
        (
            {"training.batch_size": {"choice": [0]}},
            "models.search.search.space",
            "models.search.trial01.training.batch_size",
        ),
        (
            {"training.optimiser": {"choice": ["sgd"]}},
            "models.search.search.space",
            "unknown key 'optimiser'",
        ),
    ],
)
def test_bad_search_spaces_name_the_key(space: dict, where: str, message: str) -> None:
    config = copy.deepcopy(CONFIG)
    config["models"]["search"]["search"]["space"] = space
    with pytest.raises(InputError) as error:
        expand_variants(validated(config))
    assert error.value.where == where and message in error.value.problem


def test_schema_refuses_malformed_ensembles_and_distributions() -> None:
    for edit, key in (
        (lambda c: c["models"]["seeds"]["ensemble"].update(members=1), "models.seeds.ensemble.members"),
        (lambda c: c["models"]["seeds"]["ensemble"].update(by="bootstrap"), "models.seeds.ensemble.by"),
        (
            lambda c: c["models"]["search"]["search"]["space"].update(x={"normal": [0, 1]}),
            "models.search.search.space.x",
        ),
        (
            lambda c: c["models"]["search"]["search"]["space"].update(x={"log_uniform": [0, 1]}),
            "models.search.search.space.x.log_uniform[0]",
        ),
        (lambda c: c["models"]["linear"].update(ensemble={"members": 2}), "models.linear"),
    ):
        config = copy.deepcopy(CONFIG)
        edit(config)
        with pytest.raises(InputError) as error:
            validated(config)
        assert error.value.where == key, error.value


def test_ensemble_and_search_together_or_clashing_names_are_refused() -> None:
    config = copy.deepcopy(CONFIG)
    config["models"]["seeds"]["search"] = {
        "trials": 2,
        "space": {"training.learning_rate": {"choice": [0.1]}},
    }
    with pytest.raises(InputError, match="models.seeds: give ensemble or search, not both"):
        expand_variants(validated(config))
    config = copy.deepcopy(CONFIG)
    config["models"]["seeds.seed2"] = {"kind": "mlp"}
    with pytest.raises(InputError, match="its member 'seeds.seed2' has the name of another model"):
        expand_variants(validated(config))
    # Beyond the members too: the name has the form names_pattern matches a member by.
    config["models"]["search.trial77"] = config["models"].pop("seeds.seed2")
    with pytest.raises(
        InputError,
        match=r"models.search: another model is named 'search.trial77', the form of its trials' names",
    ):
        expand_variants(validated(config))
    config["models"]["seeds.fold1"] = config["models"].pop(
        "search.trial77"
    )  # seeds has seed members: no clash
    assert expand_variants(validated(config))["seeds.fold1"].role == "model"


@pytest.mark.parametrize(
    "select",
    [
        lambda v: True,
        lambda v: v.is_network,
        lambda v: v.trained and v.kind == "baseline",
        lambda v: v.role == "ensemble",
        lambda v: v.role == "search",
        lambda v: v.trained,
        lambda v: v.name in ("seeds.seed2", "search.trial05"),
    ],
)
def test_names_pattern_matches_the_chosen_names_and_no_other(select) -> None:
    variants = expand_variants(validated(CONFIG))
    chosen = {name for name, v in variants.items() if select(v)}
    pattern = re.compile(names_pattern(variants, chosen))
    assert {name for name in variants if pattern.fullmatch(name)} == chosen


def test_names_pattern_grows_with_the_models_not_their_members() -> None:
    config = copy.deepcopy(CONFIG)
    patterns = []
    for members in (3, 300):
        config["models"]["seeds"]["ensemble"]["members"] = members
        variants = expand_variants(validated(config))
        patterns.append(names_pattern(variants, [n for n, v in variants.items() if v.is_network]))
    assert patterns[0] == patterns[1] and len(patterns[0]) < 100
    assert re.fullmatch(patterns[0], "seeds.seed300") and not re.fullmatch(patterns[0], "seeds")
    assert not any(re.fullmatch(names_pattern(variants, []), name) for name in [*variants, ""])


def test_each_variant_is_described_in_words_for_the_captions() -> None:
    variants = expand_variants(validated(CONFIG))
    assert describe_variant(variants["mlp"]) == (
        "mlp: dense 8; adam, learning rate 0.001, batch 64, at most 30 epochs, "
        "early stopping on val_loss (patience 5); seed 11"
    )
    assert describe_variant(variants["seeds.seed3"]).endswith("; seed 13")
    assert describe_variant(variants["folds.fold2"]).endswith(
        "; seed 11; validating on fold 2 of 4 of the training split"
    )
    trial = variants["search.trial01"]
    assert f"learning rate {trial.settings['training']['learning_rate']}," in describe_variant(trial)
    assert describe_variant(trial).split("; sampled ")[1].startswith("training.learning_rate = ")
    assert (
        describe_variant(variants["seeds"])
        == "ensemble averaging the predictions of 3 members (seeds.seed1, seeds.seed2, seeds.seed3)"
    )
    assert describe_variant(variants["search"]).startswith("the trial of 12 with the best validation score")
    assert describe_variant(variants["linear"]) == "scikit-learn linear baseline; seed 11"
    cnn = {
        "kind": "cnn1d",
        "conv_layers": [{"filters": 4, "kernel_size": 5}],
        "augmentation": {"reverse_complement": True, "shift": 3},
    }
    ctcf = {
        "modality": "dna",
        "sequences": {"CTCF": "resources/ctcf/Gm12878.CTCF.top500.w200.fa"},
        "length": 200,
    }
    dna = {"seed": 1, "datasets": {"ctcf": ctcf}, "models": {"cnn": cnn}}
    described = describe_variant(expand_variants(validated(dna))["cnn"])
    assert described.startswith("cnn1d: 4 filters of 5, flatten, no hidden dense layer; adam")
    assert "augmentation: reverse complement, shifts of up to 3 bases" in described


def test_autoencoders_are_pretrained_once_not_evaluated_and_described() -> None:
    config = copy.deepcopy(CONFIG)
    config["models"] = {
        "mlp": {
            "kind": "mlp",
            "dense_layers": [{"units": 8}],
            "init_from": {"dataset": "cancer", "model": "ae"},
        },
        "ae": {"kind": "dense_autoencoder", "dense_layers": [{"units": 8}, {"units": 4}]},
        "ae_unlisted": {"kind": "dense_autoencoder"},
    }
    config["runs"] = {"cancer": ["ae", "mlp"]}
    validated_config = validated(config)
    variants = expand_variants(validated_config)
    # The autoencoder of runs (named again by init_from) is trained once and never evaluated.
    assert evaluated_runs(validated_config, variants) == [("cancer", "mlp")]
    assert pretrained_runs(validated_config) == [("cancer", "ae")]
    # An autoencoder that only init_from names is pre-trained too.
    config["runs"] = {"cancer": ["mlp"]}
    config["models"]["mlp"]["init_from"]["model"] = "ae_unlisted"
    assert pretrained_runs(validated(config)) == [("cancer", "ae_unlisted")]
    assert describe_variant(variants["ae"]) == (
        "dense_autoencoder: encoder dense 8-4, mirrored; adam, learning rate 0.001, batch 64, "
        "at most 30 epochs, early stopping on val_loss (patience 5); seed 11"
    )


def test_trial_names_are_padded_to_sort_in_order() -> None:
    config = copy.deepcopy(CONFIG)
    config["models"]["search"]["search"]["trials"] = 100
    names = expand_variants(validated(config))["search"].members
    assert names[0] == "search.trial001" and names[-1] == "search.trial100" and list(names) == sorted(names)
    assert len(set(names)) == 100


@pytest.mark.workflow
def test_ensemble_and_search_run_through_snakemake(tmp_path: Path) -> None:

    (tmp_path / "resources/tables").mkdir(parents=True)
    (tmp_path / "resources/tables/breast_cancer.csv").write_bytes(
        (ROOT / "resources/tables/breast_cancer.csv").read_bytes()
    )
    tiny = {"kind": "mlp", "dense_layers": [{"units": 4}], "training": {"epochs": 3, "learning_rate": 0.01}}
    config = {
        "seed": 5,
        "datasets": {"cancer": CONFIG["datasets"]["cancer"]},
        "models": {
            "folds": {**tiny, "ensemble": {"members": 2, "by": "fold"}},
            "search": {
                **tiny,
                "search": {"trials": 2, "space": {"training.learning_rate": {"log_uniform": [0.001, 0.03]}}},
            },
        },
        "evaluation": {"bootstrap": 0},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    run = snakemake(
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--configfile",
        "config.yaml",
        "--cores",
        "2",
        "results/summary.tsv",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    evaluation = tmp_path / "results/evaluation/cancer"
    summary = pd.read_csv(tmp_path / "results/summary.tsv", sep="\t", keep_default_na=False)
    assert summary["model"].tolist() == ["folds.fold1", "folds.fold2", "folds", "search"]
    assert summary["role"].tolist() == ["member", "member", "ensemble", "search"]
    assert summary["member_of"].tolist() == ["folds", "folds", "", ""]
    assert all(0 <= float(v) <= 1 for v in summary["auroc"])
    # The ensemble's scores are the mean of its members'.
    members = [pd.read_csv(evaluation / f"folds.fold{i}/predictions.tsv", sep="\t") for i in (1, 2)]
    ensemble = pd.read_csv(evaluation / "folds/predictions.tsv", sep="\t")
    np.testing.assert_allclose(
        ensemble["y_score"], (members[0]["y_score"] + members[1]["y_score"]) / 2, rtol=1e-6
    )
    assert not np.allclose(members[0]["y_score"], members[1]["y_score"])  # trained on different folds
    # The search: one chosen trial, whose predictions are the search run's; trials are not evaluated on test.
    trials = pd.read_csv(tmp_path / "results/search/cancer/search/trials.tsv", sep="\t")
    assert trials["trial"].tolist() == ["search.trial01", "search.trial02"] and trials["chosen"].sum() == 1
    chosen = trials.loc[trials["chosen"], "trial"].item()
    assert (evaluation / "search/predictions.tsv").read_bytes() == (
        evaluation / chosen / "predictions.tsv"
    ).read_bytes()
    assert (
        not (evaluation / "search.trial01/metrics.tsv").exists()
        and (evaluation / "search/metrics.tsv").exists()
    )
    assert trials["validation_score"].max() == trials.loc[trials["chosen"], "validation_score"].item()


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (
            {"kind": "danq", "width": 0.1, "recurrent": "gru", "dense_layers": []},
            "danq: DanQ (Quang & Xie 2016), 0.1 x the published filters, bidirectional GRU, "
            "no hidden dense layer; adam",
        ),
        ({"kind": "basset"}, "basset: Basset (Kelley et al. 2016), dense 1000-1000; adam"),
        (
            {"kind": "dilated_resnet", "augmentation": {"reverse_complement": True}},
            "dilated_resnet: dilated residual network (BPNet / ChromBPNet): 64 filters, first kernel 21, "
            "9 residual blocks of kernel 3, global average pooling, no hidden dense layer; adam",
        ),
    ],
)
def test_zoo_models_are_described_by_their_source(config: dict, words: str) -> None:
    settings = validate_model("zoo", copy.deepcopy(config))
    described = describe_variant(Variant("zoo", "zoo", config["kind"], "model", settings, seed=3))
    assert described.startswith(words)
    assert ("reverse complement" in described) == ("augmentation" in config)
