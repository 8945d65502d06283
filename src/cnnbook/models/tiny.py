"""The smallest useful CNN: one convolution, pooling and a linear layer.

It trains in milliseconds, so the tests, the DDP demonstration of the
"Scaling up" page and the benchmarks' sanity runs exercise the real engine
(batch norm included) without waiting for a real network.
"""

from __future__ import annotations

from torch import nn

from cnnbook.models.registry import register


@register("tiny_cnn", input_size=(3, 8, 8), min_image_size=2)
def tiny_cnn(
    num_classes: int = 4, in_channels: int = 3, batch_norm: bool = False, dropout: float = 0.0
) -> nn.Sequential:
    """Conv 3x3 (8 channels) [+ BatchNorm] + ReLU, 2x2 average pool, [Dropout], Linear.

    The indices are stable: ``0`` is the convolution and, with
    ``batch_norm``, ``1`` its batch norm.
    """
    layers: list[nn.Module] = [nn.Conv2d(in_channels, 8, 3, padding=1)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(8))
    layers += [nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(8 * 2 * 2, num_classes))
    return nn.Sequential(*layers)
