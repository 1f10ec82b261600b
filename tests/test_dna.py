"""Tests of biodl.interpret.dna: the DNA interpretation step on networks trained for seconds.

The CTCF test is the fast path of the demo: the shipped CTCF peaks against their shuffles, a
small motif CNN trained for a few epochs, its filters and TF-MoDISco patterns matched to JASPAR
2024 with the null calibration. The first run compiles memelite's Tomtom and modisco-lite into
the project's numba cache (.cache/numba), later runs load them.
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
from biodl.data.dna.prepare import prepare_dna
from biodl.data.shards import PreparedFiles
from biodl.interpret.dna import DnaRun, interpret_dna, sequence_name
from biodl.interpret.motifs import Motif, read_meme, write_meme
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
    "attributions": "attributions.npz",
    "tracks": "tracks",
    "patterns": "patterns.tsv",
    "pattern_logos": "pattern_logos.png",
    "marginalisation": "marginalisation.tsv",
    "marginalisation_plot": "marginalisation.png",
}
# Fewer logos, steps, sequences and Leiden runs than the defaults: checked, not admired.
FAST = InterpretSettings.from_config(
    database=str(JASPAR),
    numba_cache_dir=str(ROOT / ".cache" / "numba"),
    logo_filters=4,
    top_sequences=1,
    maximisation_steps=20,
    attribution_sequences=300,
    attribution_references=5,
    modisco_leiden_runs=4,
    null_motifs=50,
    marginal_backgrounds=40,
)
PLANTED = "GATAAGGATAAG"


def outputs(folder: Path) -> dict[str, str]:
    return {key: str(folder / name) for key, name in DNA_OUTPUTS.items()}


def run(data: Path, model: Path, database: Path = JASPAR, **extra: object) -> DnaRun:
    return DnaRun(data, (str(model),), str(database), seed=42, threads=2, **extra)  # type: ignore[arg-type]


def train(data: Path, folder: Path, model: dict[str, object], seed: int = 1) -> Path:
    train_model(
        TrainingRun(data, check_model("m", model), seed, folder / "model.keras", folder / "history.tsv")
    )
    return folder / "model.keras"


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
    return data, train(data, tmp, model, seed=42)


def test_ctcf_filters_patterns_and_insertions_point_at_ctcf(
    ctcf_run: tuple[Path, Path], tmp_path: Path
) -> None:
    data, model = ctcf_run
    result = interpret_dna(run(data, model), outputs(tmp_path), FAST)
    influence = pd.read_csv(tmp_path / "influence.tsv", sep="\t")
    assert sorted(influence["filter"]) == list(range(16)) and influence["influence"].is_monotonic_decreasing
    matched = influence[influence["matched"]]
    # The most influential matched filter is a CTCF matrix, far below the cut-off, and few
    # filters are matched to anything but CTCF (here 1 of 4: ZNF354A, a GC-rich zinc finger).
    assert matched.iloc[0]["best_match_name"] == "CTCF" and matched.iloc[0]["null_q"] <= 0.05
    assert matched.iloc[0]["rank"] <= 3
    assert (matched["best_match_name"] == "CTCF").mean() >= 0.7
    # Unmatched filters carry no best match; every matched one is informative enough.
    assert influence.loc[~influence["matched"], "best_match"].isna().all()
    assert (matched["core_bits"] >= FAST.min_information).all()
    assert set(influence["site_class"].dropna()) <= {"background", "CTCF"}
    assert influence.loc[0, "site_class"] == "CTCF"
    tomtom = pd.read_csv(tmp_path / "tomtom.tsv", sep="\t")
    assert {"null_q", "matched", "core_bits"} <= set(tomtom.columns)
    assert len(read_meme(tmp_path / "filters.meme")) == result["with_motif"]
    # TF-MoDISco: the largest pattern's best match is the CTCF core motif.
    patterns = pd.read_csv(tmp_path / "patterns.tsv", sep="\t")
    top = patterns[patterns["sign"] == "pos"].iloc[0]
    assert top["task"] == "CTCF" and top["matched"] and top["best_match"] == "MA0139.2", patterns
    assert top["n_seqlets"] >= 50
    # Inserting the matched CTCF motifs raises the CTCF logit; their shuffles do much less.
    effects = pd.read_csv(tmp_path / "marginalisation.tsv", sep="\t")
    ctcf = effects[effects["motif"].str.endswith(" CTCF")]
    assert len(ctcf) and (ctcf["effect_mean"] > 1.0).all()
    assert (ctcf["effect_mean"] > ctcf["control_mean"] + 1.0).all()
    with np.load(tmp_path / "attributions.npz") as saved:
        assert saved["CTCF/hypothetical"].shape == (300, 200, 4)
        np.testing.assert_allclose(
            saved["CTCF/contributions"], saved["CTCF/hypothetical"] * saved["CTCF/one_hot"], atol=1e-6
        )
    tracks = pd.read_csv(tmp_path / "tracks" / "tracks.tsv", sep="\t")
    assert tracks["windows"].tolist() == [0]  # FASTA sequences have no genome coordinates
    for name in (
        "filter_logos",
        "maximisation_logos",
        "attribution_logos",
        "pattern_logos",
        "marginalisation_plot",
    ):
        assert (tmp_path / DNA_OUTPUTS[name]).stat().st_size > 10_000


def test_an_untrained_network_has_almost_no_matched_filter(
    ctcf_run: tuple[Path, Path], tmp_path: Path
) -> None:
    """The specificity control. Sites come from CTCF peaks, so even random filters pick up some
    CTCF-like windows and Tomtom's own q calls many of them matches; the calibrated q must not."""
    import keras

    from biodl.data.dataset import open_dataset
    from biodl.models.networks import build_model

    data, _ = ctcf_run
    dataset = open_dataset(data)
    keras.utils.set_random_seed(0)
    model = build_model(
        check_model(
            "random",
            {"kind": "cnn1d", "conv_layers": [{"filters": 32, "kernel_size": 19}], "global_pool": "max"},
        ),
        dataset.input_shape,
        dataset.task,
        1,
    )
    model.save(tmp_path / "random.keras")
    settings = dataclasses.replace(FAST, top_tasks=1, attribution_sequences=100)
    interpret_dna(run(data, tmp_path / "random.keras"), outputs(tmp_path), settings)
    influence = pd.read_csv(tmp_path / "influence.tsv", sep="\t")
    assert influence["matched"].mean() <= 0.1


def test_a_planted_motif_is_recovered_and_placed_on_the_genome(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    # conftest's fixture plants GATAAGGATAAG into the positives of random sequences, at
    # chr{1,2,3}:index*100.
    data = make_dataset(task="binary", sizes=(600, 150, 150), length=100)
    model = train(
        data,
        tmp_path,
        {
            "kind": "cnn1d",
            "conv_layers": [{"filters": 8, "kernel_size": 12}],
            "global_pool": "max",
            "dense_layers": [{"units": 8}],
            "training": {"batch_size": 64, "epochs": 6, "patience": 2, "learning_rate": 0.01},
        },
    )
    planted = Motif("PLANTED", PLANTED, np.eye(4)[["ACGT".index(b) for b in PLANTED]] * 0.97 + 0.0075, 1)
    database = tmp_path / "database.meme"
    write_meme([planted, *read_meme(JASPAR)], database)
    genome = tmp_path / "genome.fa"
    rng = np.random.default_rng(0)
    genome.write_text("".join(f">chr{c}\n{''.join(rng.choice(list('ACGT'), 61_000))}\n" for c in (1, 2, 3)))
    out = tmp_path / "out"
    settings = dataclasses.replace(FAST, mutagenesis_regions=("test_7",))
    interpret_dna(run(data, model, database, genome=str(genome)), outputs(out), settings)
    influence = pd.read_csv(out / "influence.tsv", sep="\t")
    assert influence.loc[0, "best_match"] == "PLANTED" and influence.loc[0, "site_class"] == "bound"
    patterns = pd.read_csv(out / "patterns.tsv", sep="\t")
    assert patterns.iloc[0]["best_match"] == "PLANTED"
    effects = pd.read_csv(out / "marginalisation.tsv", sep="\t").set_index("motif")
    assert effects.loc["PLANTED GATAAGGATAAG", "effect_mean"] > 2.0
    tracks = pd.read_csv(out / "tracks" / "tracks.tsv", sep="\t")
    assert tracks["bigwig"].tolist() == ["bound.bw"] and tracks["windows"].iloc[0] == 300

    import pyBigWig

    bw = pyBigWig.open(str(out / "tracks" / "bound.bw"))
    assert set(bw.chroms()) <= {"chr1", "chr2", "chr3"} and bw.header()["nBasesCovered"] > 0
    bw.close()


def test_a_multilabel_dataset_is_explained_per_target(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    # Two targets, each with its own planted motif (GATAAGGATAAG, CACGTGCACGTG).
    data = make_dataset(task="multilabel", sizes=(800, 150, 150), length=100)
    model = train(
        data,
        tmp_path,
        {
            "kind": "cnn1d",
            "conv_layers": [{"filters": 16, "kernel_size": 12}],
            "global_pool": "max",
            "dense_layers": [{"units": 16}],
            "training": {"batch_size": 32, "epochs": 15, "patience": 5, "learning_rate": 0.005},
        },
    )
    planted = [
        Motif(name, seq, np.eye(4)[["ACGT".index(b) for b in seq]] * 0.97 + 0.0075, 1)
        for name, seq in (("SITE_A", "GATAAGGATAAG"), ("SITE_B", "CACGTGCACGTG"))
    ]
    database = tmp_path / "database.meme"
    write_meme([*planted, *read_meme(JASPAR)], database)
    settings = dataclasses.replace(FAST, top_tasks=2, attribution_sequences=250)
    out = tmp_path / "out"
    interpret_dna(run(data, model, database), outputs(out), settings)
    influence = pd.read_csv(out / "influence.tsv", sep="\t")
    by_match = influence[influence["matched"]].groupby("best_match")["site_class"].first()
    # Each factor's filter is found and its sites come from that factor's positives.
    assert by_match.get("SITE_A") == "site_a" and by_match.get("SITE_B") == "site_b"
    patterns = pd.read_csv(out / "patterns.tsv", sep="\t")
    tops = patterns[patterns["sign"] == "pos"].groupby("task").head(1).set_index("task")["best_match"]
    assert tops.to_dict() == {"site_a": "SITE_A", "site_b": "SITE_B"}, patterns
    with np.load(out / "attributions.npz") as saved:
        assert {"site_a/hypothetical", "site_b/hypothetical"} <= set(saved.files)
    effects = pd.read_csv(out / "marginalisation.tsv", sep="\t")
    assert set(effects["task"]) == {"site_a", "site_b"}
    a = effects[effects["motif"].str.startswith("SITE_A")].set_index("task")["effect_mean"]
    assert a["site_a"] > 1.0 and a["site_a"] > a["site_b"]


def test_mutagenesis_regions_are_found_by_name_or_coordinates(make_dataset: Callable[..., Path]) -> None:
    from biodl.core.errors import InputError
    from biodl.data.dataset import open_dataset
    from biodl.interpret.dna import _chosen_rows

    dataset = open_dataset(make_dataset(task="binary"))  # test_i sits at chr{i % 3 + 1}:i*100, 50 bases
    settings = dataclasses.replace(FAST, mutagenesis_regions=("test_4", "chr1:310-320"))
    assert _chosen_rows(dataset, settings) == [4, 3]
    with pytest.raises(InputError, match="mutagenesis_regions.*'chr9:1-10' names no sequence"):
        _chosen_rows(dataset, dataclasses.replace(FAST, mutagenesis_regions=("chr9:1-10",)))


@pytest.mark.parametrize(
    ("chrom", "start", "end", "strand", "name", "expected"),
    [
        # A genome window: 0-based start, the 20 bases shown from offset 30, 1-based inclusive.
        ("chrII", 1000, 1300, "+", "YBL013W", "chrII:1031-1050(+)"),
        ("chrII", 1000, 1300, ".", "peak1", "chrII:1031-1050(+)"),
        # Read reverse-complemented: offset 30 is 30 bases in from the window's end.
        ("chrII", 1000, 1300, "-", "YBL014C", "chrII:1251-1270(-)"),
        # A FASTA record has no coordinates: its id and the bases shown.
        (".", -1, -1, "+", "chr11:190037-190237", "chr11:190037-190237 bases 31-50"),
    ],
)
def test_attribution_panels_are_named_by_coordinates_or_record(chrom, start, end, strand, name, expected):
    row = pd.Series({"chrom": chrom, "start": start, "end": end, "strand": strand, "name": name})
    assert sequence_name(row, 30, 20) == expected
