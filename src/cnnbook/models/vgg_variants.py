"""VGG-16 made lighter or smaller: other heads, a width multiplier, 32x32 input.

Almost 90% of VGG-16's parameters sit in its three fully connected layers,
and 74% in the first one alone (25,088 x 4,096 weights). So the cheapest
way to slim VGG-16 is a smaller head; a width multiplier thins the
convolutions instead, which is where the computation is.

* ``vgg16_slim``: the 13 convolutions of VGG-16 with one of three heads,
  ``"full"`` (torchvision's 4096-4096), ``"slim"`` (1024-256, with dropout:
  40,668,995 parameters for 3 classes) or ``"gap"`` (global average
  pooling straight into one linear layer), and ``width_mult`` to scale every
  convolution's channels.
* ``vgg16_cifar``: VGG-16 with batch norm for 32x32 images. After five
  pools a 32x32 image is 1x1, so the head is 512-512-K instead of
  25088-4096-4096-K.
"""

from __future__ import annotations

from cnnbook.models.registry import register
from cnnbook.models.vgg import CFGS, VGG, make_layers

#: Head name -> (hidden widths, adaptive pool size before the head).
HEADS: dict[str, tuple[tuple[int, ...], int]] = {
    "full": ((4096, 4096), 7),
    "slim": ((1024, 256), 7),
    "gap": ((), 1),
}


def _check_width(width_mult: float) -> None:
    if width_mult <= 0:
        raise ValueError(f"width_mult must be positive, got {width_mult}")


@register("vgg16_slim")
def vgg16_slim(
    num_classes: int = 1000,
    head: str = "slim",
    width_mult: float = 1.0,
    batch_norm: bool = False,
    dropout: float = 0.5,
    in_channels: int = 3,
    init_weights: bool = True,
) -> VGG:
    """VGG-16 with a lighter ``head`` (see :data:`HEADS`) and ``width_mult`` x the channels.

    ``width_mult`` scales the convolutions only; the head's input follows
    from the last convolution (``512 * width_mult * 7 * 7`` for the full and
    slim heads, ``512 * width_mult`` for the GAP head).
    """
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose one of: {', '.join(HEADS)}")
    _check_width(width_mult)
    hidden, pool_size = HEADS[head]
    features = make_layers(CFGS["D"], batch_norm, in_channels, width_mult)
    return VGG(features, num_classes, hidden, dropout, pool_size, init_weights)


@register("vgg16_cifar", input_size=(3, 32, 32))
def vgg16_cifar(
    num_classes: int = 10,
    width_mult: float = 1.0,
    dropout: float = 0.5,
    in_channels: int = 3,
    init_weights: bool = True,
) -> VGG:
    """VGG-16 with batch norm and a 512-512-``num_classes`` head, for 32x32 images.

    ``width_mult`` scales the convolutions and the two hidden layers alike.

    The adaptive pool to 1x1 does nothing at 32x32 and lets larger inputs
    through (it then averages the final map, like a GAP head).
    """
    _check_width(width_mult)
    features = make_layers(
        CFGS["D"], batch_norm=True, in_channels=in_channels, width_mult=width_mult
    )
    hidden = (round(512 * width_mult),) * 2
    return VGG(features, num_classes, hidden, dropout, pool_size=1, init_weights=init_weights)
