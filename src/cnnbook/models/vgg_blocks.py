"""VGG built from blocks, the d2l way: ``vgg_block`` and ``conv_arch``.

A VGG block is ``num_convs`` 3x3 convolutions (padding 1, so the spatial
size is kept), each followed by ReLU, then a 2x2 max-pool that halves the
height and width. A whole VGG is a stack of such blocks followed by three
fully connected layers. ``conv_arch`` lists ``(num_convs, out_channels)``
per block, exactly as in the d2l chapter the book's first page follows.
The paper's configurations, with torchvision's layout, are in
:mod:`cnnbook.models.vgg`.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from cnnbook.models.registry import register

#: The five blocks of VGG-11 (configuration A of the paper).
VGG11_ARCH: tuple[tuple[int, int], ...] = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))


def vgg_block(num_convs: int, in_channels: int, out_channels: int) -> nn.Sequential:
    """``num_convs`` x (3x3 conv + ReLU), then a 2x2 max-pool with stride 2."""
    if num_convs < 1:
        raise ValueError(f"a VGG block needs at least one convolution, got {num_convs}")
    layers: list[nn.Module] = []
    for i in range(num_convs):
        layers.append(
            nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1)
        )
        layers.append(nn.ReLU(inplace=True))
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


class VGGBlocks(nn.Module):
    """A VGG assembled from :func:`vgg_block` s (the d2l layout).

    ``features`` holds one ``vgg_block`` per entry of ``conv_arch``; the head
    flattens and applies two hidden fully connected layers with dropout.
    The first hidden layer's width follows from ``image_size`` (the side of
    the square input): each block halves it, so 224 becomes 7 after five
    blocks.
    """

    def __init__(
        self,
        conv_arch: Sequence[tuple[int, int]] = VGG11_ARCH,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 224,
        hidden: int = 4096,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        blocks = []
        channels = in_channels
        size = image_size
        for num_convs, out_channels in conv_arch:
            blocks.append(vgg_block(num_convs, channels, out_channels))
            channels = out_channels
            size //= 2
        if size < 1:
            raise ValueError(
                f"image_size {image_size} is too small for {len(conv_arch)} blocks "
                f"(each halves it); use at least {2 ** len(conv_arch)}"
            )
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * size * size, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def scale_arch(conv_arch: Sequence[tuple[int, int]], ratio: int) -> tuple[tuple[int, int], ...]:
    """Divide every block's width by ``ratio`` (d2l trains VGG-11 at 1/4 width)."""
    return tuple((n, max(1, c // ratio)) for n, c in conv_arch)


@register("vgg11_blocks", input_size=(1, 224, 224))
def vgg11_blocks(
    num_classes: int = 10, in_channels: int = 1, image_size: int = 224, width_ratio: int = 1
) -> VGGBlocks:
    """VGG-11 from ``conv_arch`` for one-channel images, d2l style."""
    return VGGBlocks(scale_arch(VGG11_ARCH, width_ratio), in_channels, num_classes, image_size)


@register("vgg11_quarter", input_size=(1, 224, 224))
def vgg11_quarter(num_classes: int = 10, in_channels: int = 1, image_size: int = 224) -> VGGBlocks:
    """d2l's training model: VGG-11 with every block a quarter as wide."""
    return VGGBlocks(scale_arch(VGG11_ARCH, 4), in_channels, num_classes, image_size)


@register("vgg_mini", input_size=(1, 28, 28), min_image_size=8)
def vgg_mini(num_classes: int = 10, in_channels: int = 1, image_size: int = 28) -> VGGBlocks:
    """A three-block VGG small enough to train on 28x28 digits in seconds on a CPU."""
    return VGGBlocks(
        ((1, 16), (1, 32), (2, 64)), in_channels, num_classes, image_size, hidden=128, dropout=0.3
    )
