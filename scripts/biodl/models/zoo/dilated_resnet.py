"""A dilated residual network in the style of BPNet (Avsec et al. 2021, Nature Genetics 53:354),
ChromBPNet (Pampari et al. 2024) and Basenji (Kelley et al. 2018), ``kind: dilated_resnet``.

Shape: a valid convolution of ``filters`` filters of ``first_kernel`` (ReLU), then ``layers``
residual blocks (``biodl.models.layers.residual_block``): block i adds to its input a
same-padded convolution of ``filters`` filters of ``kernel_size`` with dilation 2^i (ReLU,
optional ``dropout``), so the receptive field grows exponentially while every block keeps the
positions; then global ``average`` (or ``max``) pooling over the positions, ``dense_layers``
(none by default) and the output. Defaults are BPNet's: 64 filters, a first kernel of 21
(ChromBPNet's), kernel 3, 9 blocks (dilations 2 to 512). ChromBPNet's bias-free model is
``filters: 512, layers: 8``.

Scaled to the input length: a dilation whose span (kernel_size - 1) * d + 1 would exceed the
positions after the first convolution (P = L - first_kernel + 1) is capped at the largest power of
two whose span fits (``dilations``), so no block only reads padding (200 bp, defaults: 2, 4, ...,
64, 64, 64, 64; 1000 bp: 2, ..., 256, 256). The shortest sequence it takes is ``first_kernel``.

Parameter count with F filters, first kernel k1, kernel k, B blocks, dense units u_1..u_m and n
outputs: (4 k1 F + F) + B (k F^2 + F) + dense layers + (u_m n + n) (u_m = F without dense layers).
Defaults, one output: 5,440 + 9 x 12,352 + 65 = 116,673 at any length.
"""

from __future__ import annotations

from typing import Any

import keras

from biodl.config.checks import check_fits
from biodl.config.models import ConvLayer, DilatedResNetModel
from biodl.models.layers import ResidualSpec, conv_block, residual_block


def dilations(settings: DilatedResNetModel, length: int) -> tuple[int, ...]:
    """Dilation of each residual block: 2^i, capped so its span fits the positions it reads."""
    positions = length - settings.first_kernel + 1
    cap = 1
    while (settings.kernel_size - 1) * cap * 2 + 1 <= positions:
        cap *= 2
    return tuple(min(2**i, cap) for i in range(1, settings.layers + 1))


def features(settings: DilatedResNetModel, x: Any, weights: dict[str, Any]) -> Any:
    """The first convolution, the residual blocks and global pooling of one-hot sequences ``x``."""
    first = ConvLayer(settings.filters, settings.first_kernel, 1, "max", 0.0, False)
    check_fits(settings.name, (first,), x.shape[1])
    schedule = dilations(settings, x.shape[1])
    x = conv_block(x, first, settings.activation, weights, "conv1", dims=1)
    for i, dilation in enumerate(schedule, start=1):
        spec = ResidualSpec(settings.filters, settings.kernel_size, dilation, settings.dropout)
        x = residual_block(x, spec, settings.activation, weights, f"residual{i}")
    if settings.global_pool == "max":
        return keras.layers.GlobalMaxPooling1D(name="global_max_pool")(x)
    return keras.layers.GlobalAveragePooling1D(name="global_average_pool")(x)
