"""Training-time augmentation layers: random reverse complements and shifts of DNA, flips,
rotations by 90 degrees, shifts and brightness/contrast jitter of image tiles.

Contract: every layer is active in training only (identity at inference) and draws from its own
seeded generator, so training is reproducible; ``dna_augmentation(settings, x)`` and
``image_augmentation(settings, x, square)`` add the layers a model's ``augmentation`` settings ask
for to a functional graph. ``no_augmentation(augmentation)`` is the same settings with every
augmentation switched off (the tiny-subset check trains without them; the model a run saves has
none, since they are identity at inference).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from biodl.config.models import DnaAugmentation, ImageAugmentation


class SeededRandomLayer(keras.layers.Layer):
    """A training-only random layer: its draws come from a seed generator built from ``seed``
    (None: from the Keras global seed), and ``call`` passes inputs through when not training."""

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        return self.transform(inputs) if training else inputs

    def transform(self, inputs: Any) -> Any:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="biodl")
class RandomRotation90(SeededRandomLayer):
    """In training, each square tile is transposed with probability 1/2; with random horizontal
    and vertical flips this draws uniformly from the 8 rotations and reflections of a square."""

    def transform(self, inputs: Any) -> Any:
        transpose = keras.random.uniform((ops.shape(inputs)[0], 1, 1, 1), seed=self.generator) < 0.5
        return ops.where(transpose, ops.transpose(inputs, (0, 2, 1, 3)), inputs)


@keras.saving.register_keras_serializable(package="biodl")
class RandomReverseComplement(SeededRandomLayer):
    """In training, each one-hot sequence is replaced by its reverse complement with probability
    1/2: positions reversed and, the channels being A, C, G, T, the channels reversed too."""

    def transform(self, inputs: Any) -> Any:
        flip = keras.random.uniform((ops.shape(inputs)[0], 1, 1), seed=self.generator) < 0.5
        return ops.where(flip, ops.flip(inputs, axis=(1, 2)), inputs)


@keras.saving.register_keras_serializable(package="biodl")
class RandomShift(SeededRandomLayer):
    """In training, each sequence moves by a random whole number of bases in [-max_shift,
    max_shift]; the bases moved out are lost and the vacated end reads as N (all zeros)."""

    def __init__(self, max_shift: int, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed, **kwargs)
        self.max_shift = max_shift

    def transform(self, inputs: Any) -> Any:
        m = self.max_shift
        length = ops.shape(inputs)[1]
        shifts = keras.random.randint((ops.shape(inputs)[0], 1), -m, m + 1, seed=self.generator)
        padded = ops.pad(inputs, ((0, 0), (m, m), (0, 0)))
        positions = (
            ops.expand_dims(ops.arange(length) + m, 0) - shifts
        )  # output base i reads input base i - shift
        return ops.take_along_axis(padded, ops.expand_dims(positions, -1), axis=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_shift": self.max_shift}


def dna_augmentation(settings: DnaAugmentation, x: Any) -> Any:
    """Training-only strand and position changes of one-hot DNA; identity when predicting."""
    if settings.reverse_complement:
        x = RandomReverseComplement(name="reverse_complement")(x)
    if settings.shift > 0:
        x = RandomShift(settings.shift, name="shift")(x)
    return x


def image_augmentation(settings: ImageAugmentation, x: Any, square: bool) -> Any:
    """Keras random layers: active in training only, identity when predicting."""
    if settings.flips:
        # Two layers: "horizontal_and_vertical" draws one decision for both flips.
        x = keras.layers.RandomFlip("horizontal", name="flip_horizontal")(x)
        x = keras.layers.RandomFlip("vertical", name="flip_vertical")(x)
    if settings.rotations and square:
        x = RandomRotation90(name="rotations")(x)
    if settings.shift > 0:
        x = keras.layers.RandomTranslation(settings.shift, settings.shift, fill_mode="reflect", name="shift")(
            x
        )
    if settings.brightness > 0:
        x = keras.layers.RandomBrightness(settings.brightness, value_range=(0, 255), name="brightness")(x)
    if settings.contrast > 0:
        x = keras.layers.RandomContrast(settings.contrast, value_range=(0, 255), name="contrast")(x)
    return x


def no_augmentation(
    augmentation: DnaAugmentation | ImageAugmentation,
) -> DnaAugmentation | ImageAugmentation:
    """Every augmentation switched off (every field named, so a new one cannot be missed)."""
    if isinstance(augmentation, DnaAugmentation):
        return DnaAugmentation(reverse_complement=False, shift=0, average_strands=False)
    return ImageAugmentation(flips=False, rotations=False, shift=0, brightness=0, contrast=0)
