"""Tests of biodl.interpret.motifs: filter sites and matrices, MEME files, Tomtom matching against JASPAR."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from scipy.stats import false_discovery_control

from biodl.core.errors import InputError
from biodl.interpret.motifs import (
    Motif,
    SiteRule,
    background,
    bh_qvalues,
    filter_activations,
    filter_motifs,
    first_conv,
    information_content,
    match_motifs,
    read_meme,
    use_numba_cache,
    write_meme,
)

ROOT = Path(__file__).resolve().parents[1]
JASPAR = ROOT / "resources" / "jaspar" / "JASPAR2024_CORE_vertebrates_non-redundant.meme"
# The project's persistent cache: the first test run compiles Tomtom (a minute or two), later
# runs load it.
NUMBA_CACHE = ROOT / ".cache" / "numba"


def one_hot(sequence: str) -> np.ndarray:
    return np.eye(4, dtype=np.float32)[["ACGT".index(base) for base in sequence]]


def test_sites_are_the_windows_above_half_way_from_mean_to_max() -> None:
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(6, 20))]
    x[:, 5:9] = one_hot("GATC")  # the windows the filter "fires" on
    activations = np.zeros((6, 17, 2), dtype=np.float32)
    activations[:, 5, 0] = 4.0  # filter 0: six sites at position 5
    activations[0, 2, 0] = 1.0  # below the threshold (mean + 0.5 * (4 - mean))
    activations[:3, 0, 1] = 1.0  # filter 1: three sites only
    motifs = filter_motifs(x, activations, 4, SiteRule(threshold=0.5, pseudocount=0.0, min_sites=4))
    mean = activations[..., 0].mean()
    assert motifs[0].threshold == pytest.approx(mean + 0.5 * (4.0 - mean))
    assert motifs[0].n_sites == 6
    np.testing.assert_allclose(motifs[0].motif.probabilities, one_hot("GATC"))
    assert motifs[1].n_sites == 3 and motifs[1].motif is None  # too few sites: skipped


def test_pseudocounts_keep_every_base_possible() -> None:
    x = np.tile(one_hot("AAAA"), (3, 1, 1))
    activations = np.ones((3, 1, 1), dtype=np.float32)
    activations[0] = 2.0
    (motif,) = filter_motifs(x, activations, 4, SiteRule(threshold=0.0, pseudocount=1.0, min_sites=1))
    # Threshold 0: the mean (4/3); only sequence 0 passes. Counts 1 + 1 for A, 1 for the others.
    np.testing.assert_allclose(motif.motif.probabilities[0], [0.4, 0.2, 0.2, 0.2])


def test_activations_and_sequences_must_fit_the_filter_width() -> None:
    with pytest.raises(InputError, match="needs sequences of 23 bases"):
        filter_motifs(np.zeros((2, 20, 4)), np.zeros((2, 17, 3)), 7)


def test_information_content_against_the_background() -> None:
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    np.testing.assert_allclose(information_content(np.array([bg]), bg), [0.0], atol=1e-12)
    np.testing.assert_allclose(information_content(np.array([[0, 1.0, 0, 0]]), bg), [np.log2(1 / 0.2)])
    x = np.tile(one_hot("ACGT"), (2, 1, 1))
    np.testing.assert_allclose(background(x, pseudocount=0), [0.25] * 4)


def test_meme_round_trip(tmp_path: Path) -> None:
    motifs = [
        Motif("filter0", "filter0", np.array([[0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 0.5, 0.5]]), 12),
        Motif("MA0001.1", "AGL3", np.full((3, 4), 0.25), 4),
    ]
    write_meme(motifs, tmp_path / "m.meme", np.array([0.3, 0.2, 0.2, 0.3]))
    back = read_meme(tmp_path / "m.meme")
    assert [(m.id, m.name, m.n_sites) for m in back] == [("filter0", "", 12), ("MA0001.1", "AGL3", 4)]
    np.testing.assert_allclose(back[0].probabilities, motifs[0].probabilities)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "MEME version 4\n\nMOTIF m1\nletter-probability matrix: alength= 4 w= 2\n"
            "0.5 0.5 0 0\n0.5 0.2 0 0\n",
            "line 6.*row 2 of motif m1",
        ),
        (
            "MEME version 4\n\nMOTIF m1\nletter-probability matrix: alength= 4 w= 2\n0.5 0.5 0 0\n",
            "m1 ends before its 2 rows",
        ),
        ("MEME version 4\n\nMOTIF m1\nMOTIF m2\n", "line 4.*m1.*no letter-probability matrix"),
        ("MEME version 4\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n", "line 2.*DNA alphabet"),
        ("MEME version 4\n", "no MOTIF records"),
        (
            "MOTIF a\nletter-probability matrix: w= 1\n1 0 0 0\n"
            "MOTIF a\nletter-probability matrix: w= 1\n1 0 0 0\n",
            "a appears twice",
        ),
    ],
)
def test_bad_meme_files_are_refused_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.meme"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as error:
        read_meme(path)
    assert str(path) in str(error.value)


def test_jaspar_export_holds_the_2024_vertebrate_set_with_ctcf() -> None:
    motifs = read_meme(JASPAR)
    assert len(motifs) == 879  # JASPAR 2024 CORE vertebrates, non-redundant
    ctcf = [m for m in motifs if m.id.startswith("MA0139")]
    assert [(m.id, m.name, m.width) for m in ctcf] == [("MA0139.2", "CTCF", 15)]


def test_benjamini_hochberg_matches_scipy() -> None:
    p = np.random.default_rng(3).uniform(0, 0.2, 50) ** 2
    np.testing.assert_allclose(bh_qvalues(p), false_discovery_control(p, method="bh"))


def test_first_conv_finds_the_activation_after_batch_norm() -> None:
    inputs = keras.Input((12, 4))
    h = keras.layers.Conv1D(3, 5, name="conv1")(inputs)
    h = keras.layers.BatchNormalization(name="conv1_batch_norm")(h)
    h = keras.layers.Activation("relu", name="conv1_activation")(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalMaxPooling1D()(h)))
    conv, output = first_conv(model)
    assert (conv.name, output.name) == ("conv1", "conv1_activation")
    a = filter_activations(model, np.random.default_rng(0).random((2, 12, 4)).astype("float32"))
    assert a.shape == (2, 8, 3) and (a >= 0).all()


def test_a_model_without_convolution_is_refused() -> None:
    inputs = keras.Input((5,))
    with pytest.raises(InputError, match="no convolution"):
        first_conv(keras.Model(inputs, keras.layers.Dense(1)(inputs)))


@pytest.fixture(scope="module")
def jaspar() -> list[Motif]:
    use_numba_cache(NUMBA_CACHE)
    return read_meme(JASPAR)


def test_tomtom_reports_offset_and_orientation_of_a_cut_out_motif(jaspar: list[Motif]) -> None:
    ctcf = next(m for m in jaspar if m.id == "MA0139.2")
    part = Motif("part", "part", ctcf.probabilities[3:12])  # columns 3..11 of CTCF
    flipped = Motif("flipped", "flipped", part.reverse_complement().probabilities)
    padded = Motif("padded", "padded", np.vstack([np.full((4, 4), 0.25), ctcf.probabilities]))
    table, best = match_motifs([part, flipped, padded], jaspar, max_q=0.01)
    got = best.set_index("filter")
    assert (got["target_id"] == "MA0139.2").all()
    assert got.loc["part", ["offset", "orientation"]].tolist() == [3, "+"]
    assert got.loc["flipped", ["offset", "orientation"]].tolist() == [3, "-"]
    assert got.loc["padded", ["offset", "orientation"]].tolist() == [-4, "+"]
    assert (table["q_value"] <= 0.01).all() and set(table["filter"]) == {"part", "flipped", "padded"}
    assert (got["q_value"] < 1e-6).all()
    np.testing.assert_allclose(got["e_value"], got["p_value"] * len(jaspar))


def test_an_uninformative_matrix_does_not_match_the_ctcf_core_motif(jaspar: list[Motif]) -> None:
    # memelite's p-values are generous to flat queries against long flat targets (a uniform
    # matrix "matches" the 33-column CTCF MA1930.2), but not against MA0139.2's core.
    noise = Motif("noise", "noise", np.full((10, 4), 0.25))
    table, _ = match_motifs([noise], jaspar, max_q=0.05)
    assert "MA0139.2" not in set(table["target_id"])
