"""Basset (Kelley, Snoek & Rinn 2016, Genome Research 26:990-999), ``kind: basset``.

Published shape (600 bp inputs, 164 DNase-seq outputs): three convolutions, each followed by
batch normalisation, ReLU and max pooling — 300 filters of 19 (pool 3), 200 of 11 (pool 4),
200 of 7 (pool 4) — flattened (10 positions x 200 at 600 bp) into two dense layers of 1000
(batch norm, ReLU, dropout 0.3; the schema's default ``dense_layers``) and sigmoid outputs.

Here: the filters are the published ones times ``width`` (``biodl.models.layers.scaled``); the
convolutions are valid and the pooling published, so the positions flattened into the dense head
follow the input length L: p1 = (L - 18) // 3, p2 = (p1 - 10) // 4, p3 = (p2 - 6) // 4 (600 bp: 10,
as published; 200 bp: 1; 1000 bp: 18). The shortest sequence it takes is 168 bp.

Parameter count (Keras ``count_params``, batch norm's moving statistics included), with
f1, f2, f3 = 300w, 200w, 200w, dense units u1, u2 and n outputs:
  (76 f1 + f1) + 4 f1 + (11 f1 f2 + f2) + 4 f2 + (7 f2 f3 + f3) + 4 f3
  + (p3 f3 u1 + u1) + 4 u1 + (u1 u2 + u2) + 4 u2 + (u2 n + n).
Published width and head, one output: 3,977,301 at 600 bp (1,977,301 + 200,000 p3), 2,177,301
at 200 bp, 5,577,301 at 1000 bp.
"""

from __future__ import annotations

from typing import Any

from biodl.config.models import BassetModel, ConvLayer
from biodl.models.layers import flat_convolutions, scaled


def conv_layers(settings: BassetModel) -> tuple[ConvLayer, ...]:
    """The published convolutions, scaled by ``width``."""
    return tuple(
        ConvLayer(scaled(filters, settings.width), kernel, pool, "max", 0.0, True)
        for filters, kernel, pool in ((300, 19, 3), (200, 11, 4), (200, 7, 4))
    )


def features(settings: BassetModel, x: Any, weights: dict[str, Any]) -> Any:
    """Basset's convolutions of one-hot sequences ``x``, flattened."""
    return flat_convolutions(x, settings, conv_layers(settings), weights)
