"""DanQ (Quang & Xie 2016, Nucleic Acids Research 44:e107), ``kind: danq``.

Published shape (1000 bp inputs, 919 outputs): one convolution of 320 filters of 26 (ReLU), max
pooling 13 (stride 13), dropout 0.2, a bidirectional LSTM of 320 units per direction over the
pooled positions (every position returned), dropout 0.5, flattened (75 positions x 640 at
1000 bp) into a dense layer of 925 (ReLU; the schema's default ``dense_layers``) and sigmoid
outputs. ``recurrent: gru`` swaps the LSTM for a GRU (Keras's ``reset_after`` GRU).

Here: filters and recurrent units are the published ones times ``width``; the convolution is
valid and the pooling published, so the positions follow the input length L: p = (L - 25) // 13
(1000 bp: 75, as published; 200 bp: 13). The shortest sequence it takes is 38 bp.

Parameter count with f = 320w filters, r = 320w recurrent units, dense units u and n outputs:
  (104 f + f) + 2 g (r (f + r) + r) + (2 p r u + u) + (u n + n)
where g = 4 for the LSTM (gates) and, for the GRU, 3 with a second bias: 2 (3 r (f + r) + 6 r).
Published width and head, one output: 46,076,411 at 1000 bp (46,926,479 with DanQ's 919
outputs), 9,372,411 at 200 bp; with the GRU 45,668,091 at 1000 bp.
"""

from __future__ import annotations

from typing import Any

import keras

from biodl.config.checks import check_fits
from biodl.config.models import ConvLayer, DanQModel
from biodl.models.layers import conv_block, recurrent_block, scaled


def conv_layers(settings: DanQModel) -> tuple[ConvLayer, ...]:
    """The published convolution and pooling, scaled by ``width``."""
    return (ConvLayer(scaled(320, settings.width), 26, 13, "max", 0.2, False),)


def features(settings: DanQModel, x: Any, weights: dict[str, Any]) -> Any:
    """DanQ's convolution and bidirectional recurrent layer over one-hot sequences ``x``, flattened."""
    layers = conv_layers(settings)
    check_fits(settings.name, layers, x.shape[1])
    x = conv_block(x, layers[0], settings.activation, weights, "conv1", dims=1)
    x = recurrent_block(x, settings.recurrent, scaled(320, settings.width), "recurrent")
    x = keras.layers.Dropout(0.5, name="recurrent_dropout")(x)
    return keras.layers.Flatten(name="flatten")(x)
