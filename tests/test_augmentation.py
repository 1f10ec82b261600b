"""biodl.models.augmentation: training-only augmentation layers (tile symmetries, brightness and
contrast; DNA reverse complement and shifts), seeded from the Keras seed."""

from __future__ import annotations

import keras
import numpy as np
from test_networks import tile_model

from biodl.config.models import check_model
from biodl.models.networks import build_model


def test_flips_and_rotations_draw_only_symmetries_of_the_square() -> None:
    keras.utils.set_random_seed(3)
    model = tile_model({"flips": True, "rotations": True, "shift": 0, "brightness": 0, "contrast": 0})
    augment = keras.Sequential(
        [model.get_layer(name) for name in ("flip_horizontal", "flip_vertical", "rotations")]
    )
    tile = np.arange(8 * 8 * 3, dtype="float32").reshape(1, 8, 8, 3)
    symmetries = [
        np.rot90(t, k, axes=(0, 1)) for t in (tile[0], tile[0].transpose(1, 0, 2)) for k in range(4)
    ]
    seen = set()
    for _ in range(40):
        out = np.asarray(augment(np.repeat(tile, 4, axis=0), training=True))
        for sample in out:
            matches = [i for i, s in enumerate(symmetries) if np.array_equal(sample, s)]
            assert len(matches) == 1, "an augmented tile must be a rotation or reflection of the original"
            seen.add(matches[0])
    assert seen == set(range(8))  # all eight symmetries are drawn


def test_brightness_and_contrast_keep_pixels_in_range_and_change_them_only_in_training() -> None:
    keras.utils.set_random_seed(4)
    model = tile_model({"flips": False, "rotations": False, "shift": 0, "brightness": 0.3, "contrast": 0.3})
    jitter = keras.Sequential([model.get_layer("brightness"), model.get_layer("contrast")])
    tiles = np.random.default_rng(1).uniform(0, 255, (6, 8, 8, 3)).astype("float32")
    trained = np.asarray(jitter(tiles, training=True))
    assert trained.min() >= 0 and trained.max() <= 255
    assert not np.allclose(trained, tiles)
    np.testing.assert_array_equal(np.asarray(jitter(tiles, training=False)), tiles)


def _one_hot(n: int, length: int) -> np.ndarray:
    return np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, (n, length))]


def test_dna_augmentation_reverse_complements_and_shifts_in_training_only() -> None:
    keras.utils.set_random_seed(2)
    config = {
        "kind": "cnn1d",
        "conv_layers": [{"filters": 2, "kernel_size": 3}],
        "augmentation": {"reverse_complement": True, "shift": 3},
    }
    model = build_model(check_model("m", config), (30, 4), "binary", 1)
    x = _one_hot(64, 30)
    rc, shift = model.get_layer("reverse_complement"), model.get_layer("shift")
    np.testing.assert_array_equal(rc(x, training=False), x)
    np.testing.assert_array_equal(shift(x, training=False), x)
    flipped = np.asarray(rc(x, training=True))
    # A, C, G, T: the complement is the reversed channel order (see biodl.data.dna.encode).
    reverse = [np.array_equal(f, s[::-1, ::-1]) for f, s in zip(flipped, x, strict=True)]
    assert all(r or np.array_equal(f, s) for r, f, s in zip(reverse, flipped, x, strict=True))
    assert 16 < sum(reverse) < 48
    moved = np.asarray(shift(x, training=True))
    shifts = []
    for m, s in zip(moved, x, strict=True):
        found = [
            k
            for k in range(-3, 4)
            if np.array_equal(m[max(k, 0) : 30 + min(k, 0)], s[max(-k, 0) : 30 - max(k, 0)])
            and not m[: max(k, 0)].any()
            and not m[30 + min(k, 0) :].any()
        ]
        assert len(found) >= 1
        shifts.append(found[0])
    assert set(shifts) == {-3, -2, -1, 0, 1, 2, 3}
    keras.utils.set_random_seed(2)
    again = build_model(check_model("m", config), (30, 4), "binary", 1)
    np.testing.assert_array_equal(
        again.get_layer("reverse_complement")(x, training=True), flipped
    )  # seeded from the Keras seed
