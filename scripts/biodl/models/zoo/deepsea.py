"""DeepSEA (Zhou & Troyanskaya 2015, Nature Methods 12:931-934), ``kind: deepsea``.

Published shape (1000 bp inputs, 919 chromatin-feature outputs): convolutions of 320 filters of
8 (ReLU, max pool 4, dropout 0.2), 480 of 8 (ReLU, max pool 4, dropout 0.2), 960 of 8 (ReLU,
dropout 0.5), flattened (53 positions x 960 at 1000 bp) into a dense layer of 925 (ReLU; the
schema's default ``dense_layers``) and sigmoid outputs.

Here: the filters are the published ones times ``width``; valid convolutions and the published
pooling, so the flattened positions follow the input length L: p1 = (L - 7) // 4,
p2 = (p1 - 7) // 4, p3 = p2 - 7 (1000 bp: 53, as published; 200 bp: 3). The shortest sequence
it takes is 163 bp.

Parameter count with f1, f2, f3 = 320w, 480w, 960w, dense units u and n outputs:
  (32 f1 + f1) + (8 f1 f2 + f2) + (8 f2 f3 + f3) + (p3 f3 u + u) + (u n + n).
Published width and head, one output: 51,993,051 at 1000 bp (52,843,119 with DeepSEA's 919
outputs), 7,593,051 at 200 bp.
"""

from __future__ import annotations

from typing import Any

from biodl.config.models import ConvLayer, DeepSeaModel
from biodl.models.layers import flat_convolutions, scaled


def conv_layers(settings: DeepSeaModel) -> tuple[ConvLayer, ...]:
    """The published convolutions, scaled by ``width``."""
    return tuple(
        ConvLayer(scaled(filters, settings.width), 8, pool, "max", dropout, False)
        for filters, pool, dropout in ((320, 4, 0.2), (480, 4, 0.2), (960, 1, 0.5))
    )


def features(settings: DeepSeaModel, x: Any, weights: dict[str, Any]) -> Any:
    """DeepSEA's convolutions of one-hot sequences ``x``, flattened."""
    return flat_convolutions(x, settings, conv_layers(settings), weights)
