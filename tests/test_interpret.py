"""Tests of biodl.interpret: the interpretation step on networks trained for seconds.

The CTCF test is the fast path of the demo: the shipped CTCF peaks against their shuffles, a
small motif CNN trained for a few epochs, its filters matched to JASPAR 2024. The first run
compiles memelite's Tomtom into the project's numba cache (.cache/numba), later runs load it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biodl.config.checks import validate_config
from biodl.config.datasets import dataset_settings
from biodl.config.models import check_model
from biodl.config.settings import InterpretSettings
from biodl.core.errors import InputError
from biodl.data.dna.prepare import prepare_dna
from biodl.data.shards import PreparedFiles, TableFiles
from biodl.data.table.prepare import prepare_table
from biodl.interpret.dna import interpret_dna
from biodl.interpret.motifs import (
    Motif,
    filter_activations,
    filter_motifs,
    match_motifs,
    read_meme,
    write_meme,
)
from biodl.interpret.table import interpret_table
from biodl.training.loop import TrainingRun, train_model

ROOT = Path(__file__).resolve().parents[1]
JASPAR = ROOT / "resources" / "jaspar" / "JASPAR2024_CORE_vertebrates_non-redundant.meme"
DNA_OUTPUTS = {
    "filters": "filters.meme",
    "tomtom": "tomtom.tsv",
    "influence": "influence.tsv",
    "filter_logos": "filter_logos.png",
    "maximisation_logos": "maximisation_logos.png",
    "attribution_logos": "attribution_logos.png",
}
# Fewer logos and steps than the defaults: the figures are checked, not admired.
FAST = InterpretSettings.from_config(
    database=str(JASPAR),
    numba_cache_dir=str(ROOT / ".cache" / "numba"),
    logo_filters=4,
    top_sequences=1,
    maximisation_steps=20,
)


def outputs(folder: Path, names: dict[str, str]) -> dict[str, str]:
    return {key: str(folder / name) for key, name in names.items()}


@pytest.fixture(scope="module")
def ctcf_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo's CTCF dataset prepared and a motif CNN trained on it for a few epochs."""
    tmp = tmp_path_factory.mktemp("ctcf")
    spec = {
        "modality": "dna",
        "sequences": {"CTCF": str(ROOT / "resources/ctcf/Gm12878.CTCF.top500.w200.fa")},
        "length": 200,
        "negatives": {"method": "shuffle", "ratio": 1},
        "split": {"validation_fraction": 0.1, "test_fraction": 0.1},
    }
    spec = validate_config({"datasets": {"ctcf": spec}, "models": {"m": {"kind": "cnn1d"}}})["datasets"][
        "ctcf"
    ]
    data = tmp / "prepared"
    prepare_dna(dataset_settings("ctcf", spec), 42, PreparedFiles.in_folder(data))
    model = {
        "kind": "cnn1d",
        "conv_layers": [{"filters": 16, "kernel_size": 19}],
        "global_pool": "max",
        "dense_layers": [{"units": 16}],
        "training": {"batch_size": 64, "epochs": 8, "patience": 3, "learning_rate": 0.005},
    }
    train_model(
        TrainingRun(data, check_model("ctcf_fast", model), 42, tmp / "model.keras", tmp / "history.tsv")
    )
    return data, tmp / "model.keras"


def test_a_ctcf_filter_matches_jaspar_ctcf(ctcf_run: tuple[Path, Path], tmp_path: Path) -> None:
    data, model = ctcf_run
    result = interpret_dna(data, model, outputs(tmp_path, DNA_OUTPUTS), FAST, threads=2)
    tomtom = pd.read_csv(tmp_path / "tomtom.tsv", sep="\t")
    ctcf = tomtom[tomtom["target_id"] == "MA0139.2"]
    assert len(ctcf) > 0 and ctcf["q_value"].min() < 0.01
    # Stronger than any untrained network gets (see the control below): MA0139.2 is the best
    # match of a filter, far below the cut-off.
    best = tomtom.groupby("filter").head(1)
    assert best.loc[best["target_id"] == "MA0139.2", "q_value"].min() < 1e-6
    assert (ctcf["target_name"] == "CTCF").all() and set(ctcf["orientation"]) <= {"+", "-"}
    # Every filter is in the influence ranking, and the MEME file holds those with enough sites.
    influence = pd.read_csv(tmp_path / "influence.tsv", sep="\t")
    assert sorted(influence["filter"]) == list(range(16)) and influence["rank"].tolist() == list(range(1, 17))
    assert influence["influence"].is_monotonic_decreasing
    assert (
        len(read_meme(tmp_path / "filters.meme"))
        == result["with_motif"]
        == (influence["n_sites"] >= FAST.min_sites).sum()
    )
    for name in ("filter_logos.png", "maximisation_logos.png", "attribution_logos.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def test_an_untrained_network_has_no_ctcf_filter(ctcf_run: tuple[Path, Path]) -> None:
    """The control that makes the match above mean something. Sites come from CTCF peaks, so
    even random filters pick up some CTCF-like windows (an occasional MA0139.2 match at
    q ~ 0.005), but none has MA0139.2 as its best match or gets anywhere near q < 1e-6."""
    import keras

    from biodl.data.dataset import input_shards, open_dataset, to_inputs
    from biodl.models.networks import build_model

    data, _ = ctcf_run
    dataset = open_dataset(data)
    keras.utils.set_random_seed(0)
    model = build_model(
        check_model(
            "random",
            {"kind": "cnn1d", "conv_layers": [{"filters": 16, "kernel_size": 19}], "global_pool": "max"},
        ),
        dataset.input_shape,
        dataset.task,
        1,
    )
    x = to_inputs(np.concatenate(input_shards(dataset, "test")), dataset.ambiguous)
    motifs = filter_motifs(x, filter_activations(model, x), 19, min_sites=FAST.min_sites)
    table, best = match_motifs([f.motif for f in motifs if f.motif], read_meme(JASPAR), max_q=1.0)
    assert "MA0139.2" not in set(best["target_id"])
    assert table.loc[table["target_id"] == "MA0139.2", "q_value"].min() > 1e-4


def test_a_planted_motif_is_recovered(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    # conftest's fixture plants GATAAGGATAAG into the positives of random sequences.
    data = make_dataset(task="binary", sizes=(600, 150, 150), length=60)
    model = {
        "kind": "cnn1d",
        "conv_layers": [{"filters": 8, "kernel_size": 12}],
        "global_pool": "max",
        "dense_layers": [{"units": 8}],
        "training": {"batch_size": 64, "epochs": 6, "patience": 2, "learning_rate": 0.01},
    }
    train_model(
        TrainingRun(
            data, check_model("planted", model), 1, tmp_path / "model.keras", tmp_path / "history.tsv"
        )
    )
    planted = Motif(
        "PLANTED", "GATAAGGATAAG", np.eye(4)[["ACGT".index(b) for b in "GATAAGGATAAG"]] * 0.97 + 0.0075, 1
    )
    database = tmp_path / "database.meme"
    write_meme([planted, *read_meme(JASPAR)], database)
    settings = dataclasses.replace(FAST, database=str(database))
    interpret_dna(data, tmp_path / "model.keras", outputs(tmp_path, DNA_OUTPUTS), settings)
    influence = pd.read_csv(tmp_path / "influence.tsv", sep="\t")
    assert influence.loc[0, "best_match"] == "PLANTED"  # the most influential filter is the planted motif
    tomtom = pd.read_csv(tmp_path / "tomtom.tsv", sep="\t")
    assert tomtom.loc[tomtom["target_id"] == "PLANTED", "q_value"].min() < 0.01


def test_the_deciding_table_feature_ranks_first(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(400, 4)), columns=["noise_a", "signal", "noise_b", "noise_c"])
    frame["label"] = np.where(frame["signal"] + 0.3 * rng.normal(size=400) > 0, "yes", "no")
    frame.to_csv(tmp_path / "t.csv", index=False)
    spec = {
        "modality": "table",
        "path": str(tmp_path / "t.csv"),
        "label_columns": ["label"],
        "task": "binary",
        "classes": ["no", "yes"],
    }
    spec = validate_config({"datasets": {"t": spec}, "models": {"m": {"kind": "mlp"}}})["datasets"]["t"]
    data = tmp_path / "prepared"
    prepare_table(dataset_settings("t", spec), 1, TableFiles.in_folder(data))
    model = {
        "kind": "mlp",
        "dense_layers": [{"units": 8}],
        "training": {"epochs": 30, "learning_rate": 0.01, "batch_size": 32, "patience": 5},
    }
    train_model(
        TrainingRun(data, check_model("m", model), 1, tmp_path / "model.keras", tmp_path / "history.tsv")
    )
    files = {
        "importance": str(tmp_path / "importance.tsv"),
        "importance_plot": str(tmp_path / "importance.png"),
    }
    table = interpret_table(
        data, tmp_path / "model.keras", files, InterpretSettings.from_config(permutation_repeats=5), seed=3
    )
    assert table.loc[0, "feature"] == "signal" and table.loc[0, "importance_mean"] > 0.2
    assert (table.loc[1:, "importance_mean"].abs() < 0.05).all()
    again = interpret_table(
        data, tmp_path / "model.keras", files, InterpretSettings.from_config(permutation_repeats=5), seed=3
    )
    pd.testing.assert_frame_equal(table, again)  # same seed, same numbers
    assert (tmp_path / "importance.png").stat().st_size > 5_000


def test_a_table_dataset_is_refused_by_the_dna_step(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    data = make_dataset(task="binary")
    with pytest.raises(InputError, match="modality.*expected a table dataset"):
        interpret_table(data, tmp_path / "missing.keras", {}, FAST, seed=1)


def write_image_dataset(root: Path, n: int = 96, size: int = 16) -> Path:
    """Tiles whose class is the bright half: left (class 'left') or right (class 'right')."""
    from biodl.core.files import save_npy, write_json, write_tsv

    rng = np.random.default_rng(0)
    splits, rows = {}, []
    for split in ("train", "validation", "test"):
        y = (np.arange(n) % 2).astype(np.float32)[:, None]
        x = rng.integers(0, 60, size=(n, size, size, 3)).astype(np.uint8)
        for i, right in enumerate(y[:, 0]):
            half = slice(size // 2, size) if right else slice(0, size // 2)
            x[i, :, half] += 150
        shard = f"shards/{split}-00000"
        save_npy(x, root / f"{shard}.x.npy")
        save_npy(y, root / f"{shard}.y.npy")
        splits[split] = {"n": n, "shards": [shard]}
        rows += [
            {
                "split": split,
                "shard": shard,
                "offset": i,
                "image": "synthetic",
                "group": split,
                "level": 0,
                "x": i * size,
                "y": 0,
                "tissue_fraction": 1.0,
                "label": "right" if v else "left",
            }
            for i, v in enumerate(y[:, 0])
        ]
    write_json(
        {
            "name": "halves",
            "modality": "image",
            "task": "binary",
            "classes": ["left", "right"],
            "targets": ["right"],
            "input_shape": [size, size, 3],
            "splits": splits,
            "seed": 0,
            "channel_mean": [70.0] * 3,
            "channel_std": [70.0] * 3,
        },
        root / "dataset.json",
    )
    write_tsv(pd.DataFrame(rows), root / "metadata.tsv")
    return root


def test_image_maps_are_written_and_grad_cam_finds_the_bright_half(tmp_path: Path) -> None:
    from biodl.interpret import image

    data = write_image_dataset(tmp_path / "halves")
    model = {
        "kind": "cnn2d",
        "conv_layers": [{"filters": 4, "kernel_size": 3, "pool_size": 2}],
        "dense_layers": [{"units": 4}],
        "augmentation": {"flips": False, "rotations": False},
        "training": {"epochs": 8, "learning_rate": 0.01, "batch_size": 16, "patience": 3},
    }
    train_model(
        TrainingRun(data, check_model("halves", model), 1, tmp_path / "model.keras", tmp_path / "history.tsv")
    )
    names = {
        k: str(tmp_path / f"{k}.png")
        for k in ("filter_grid", "feature_maps", "maximisation_images", "saliency_gradcam")
    }
    result = image.interpret_image(
        data,
        tmp_path / "model.keras",
        names,
        InterpretSettings.from_config(example_tiles=4, maximisation_steps=10),
    )
    assert result == {"filters": 4, "tiles": 4}
    for path in names.values():
        assert Path(path).stat().st_size > 5_000
    # The tiles the model scores highest as 'right' are right-bright; Grad-CAM should agree.
    from biodl.data.dataset import open_dataset
    from biodl.evaluation.inference import load_model
    from biodl.interpret.attribution import grad_cam

    dataset = open_dataset(data)
    tiles, units = image._example_tiles(
        dataset, load_model(tmp_path / "model.keras", dataset), InterpretSettings.from_config(example_tiles=4)
    )
    cams = grad_cam(load_model(tmp_path / "model.keras", dataset), tiles["x"], 0)
    right = tiles["x"][..., 8:, :].mean(axis=(1, 2, 3)) > tiles["x"][..., :8, :].mean(axis=(1, 2, 3))
    on_right = cams[..., 8:].mean(axis=(1, 2)) > cams[..., :8].mean(axis=(1, 2))
    assert right.any() and (on_right[right]).all()
