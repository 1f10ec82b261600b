"""The model zoo: named DNA architectures with published shapes, one module each (``basset``,
``deepsea``, ``danq``, ``dilated_resnet``).

Contract: ``zoo_features(settings, x, weights)`` applies the architecture of ``settings`` (a
``biodl.config.models.ZooModel``) to ``x``, the one-hot sequences ``(batch, length, 4)`` after the
DNA augmentation layers, and returns the features that ``dense_layers`` and the output layer of
``biodl.models.networks`` follow; ``weights`` are the convolution kernels' initialiser, penalty and
max-norm constraint. A sequence too short for an architecture's valid convolutions and pooling is
refused with ``InputError`` on the model's ``kind``, naming the sequence length and the convolution
of the architecture (counted from 1) that does not fit. Each
module's docstring gives the published shape, how it is scaled to the input length and ``width``,
and its parameter count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from biodl.config.models import ZooModel
from biodl.core.errors import InputError
from biodl.models.zoo import basset, danq, deepsea, dilated_resnet

ARCHITECTURES: dict[str, Callable[[Any, Any, dict[str, Any]], Any]] = {
    "basset": basset.features,
    "deepsea": deepsea.features,
    "danq": danq.features,
    "dilated_resnet": dilated_resnet.features,
}


def zoo_features(settings: ZooModel, x: Any, weights: dict[str, Any]) -> Any:
    """The architecture's features of ``x`` (see the module contract)."""
    try:
        return ARCHITECTURES[settings.kind](settings, x, weights)
    except InputError as error:
        convolution = int(error.where[len("conv_layers[") : -1]) + 1 if error.where else 1
        raise InputError(
            f"model {settings.name}",
            "kind",
            f"the {x.shape[1]}-base sequences are too short for {settings.kind}'s convolution "
            f"{convolution}: {error.problem}",
        ) from None
