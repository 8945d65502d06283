"""ResNet for ImageNet: BasicBlock, Bottleneck and the five depths of the paper.

A residual block computes ``relu(F(x) + shortcut(x))``: the stacked layers
only have to learn the *residual* ``F(x) = H(x) - x`` of the mapping ``H``
they are meant to represent, and a block whose ``F`` is zero is an exact
identity. That is what lets a deeper network be at least as trainable as a
shallower one.

Attribute names (``conv1``, ``bn1``, ``layer1.0.downsample.0`` ...) are
torchvision's, so torchvision's state dicts load into these models as they
are and :mod:`cnnbook.compat` needs no key map.

Two choices the paper leaves open are options here:

* ``variant="v1.5"`` (default, torchvision's) puts a Bottleneck's stride on
  its 3x3 convolution; ``variant="v1"`` puts it on the first 1x1, as the
  paper and the original Caffe/Keras models do. The weights have the same
  shapes either way; only where the down-sampling happens differs.
* ``shortcut`` picks the paper's option A (zero-padding identity when the
  shape changes, no parameters), B (a 1x1 projection only when the shape
  changes; torchvision's) or C (a projection on every block).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cnnbook.models.registry import register

SHORTCUTS = ("A", "B", "C")
#: Where a Bottleneck puts its stride: on the first 1x1 (the paper, "v1") or the
#: 3x3 (torchvision, "v1.5").
VERSIONS = ("v1", "v1.5")


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution, padding 1, no bias (the batch norm after it has one)."""
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution without bias."""
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class PadShortcut(nn.Module):
    """Option A: an identity shortcut for a block that changes shape.

    When a block halves the resolution and adds channels, the input is
    subsampled by ``stride`` (every other pixel) and the new channels are
    zeros. It has no parameters, which is why the paper uses it
    for its CIFAR networks: a plain and a residual net then have exactly the
    same weights.
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int = 1) -> None:
        super().__init__()
        if out_planes < in_planes:
            raise ValueError(f"zero-padding cannot shrink {in_planes} channels to {out_planes}")
        self.extra = out_planes - in_planes
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]
        # F.pad lists (left, right) pairs from the last dimension backwards:
        # W, H, then C, where the zeros go after the existing channels.
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))

    def extra_repr(self) -> str:
        return f"stride={self.stride}, zero_channels={self.extra}"


def make_shortcut(kind: str, in_planes: int, out_planes: int, stride: int) -> nn.Module | None:
    """The shortcut of one block under option ``kind``; ``None`` means identity."""
    if kind not in SHORTCUTS:
        raise ValueError(f"shortcut must be one of {', '.join(SHORTCUTS)}, got {kind!r}")
    same_shape = stride == 1 and in_planes == out_planes
    if kind == "C" or (kind == "B" and not same_shape):
        return nn.Sequential(conv1x1(in_planes, out_planes, stride), nn.BatchNorm2d(out_planes))
    if kind == "A" and not same_shape:
        return PadShortcut(in_planes, out_planes, stride)
    return None


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut (ResNet-18/34, the CIFAR nets).

    ``residual=False`` drops the addition and gives the block of a *plain*
    network: the same layers and weights, without the shortcut.
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
    ) -> None:
        super().__init__()
        if downsample is not None and not residual:
            raise ValueError("a plain block (residual=False) has no shortcut to downsample")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.residual = residual
        self.stride = stride

    def last_bn(self) -> nn.BatchNorm2d:
        """The batch norm that ends the residual branch (zeroed by ``zero_init_residual``)."""
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4), plus a shortcut (ResNet-50/101/152).

    The 1x1 convolutions make the 3x3 one work on a quarter of the channels,
    so a Bottleneck costs about as much as a BasicBlock on four times fewer
    channels. ``stride_in_1x1=True`` is the paper's V1 placement of the
    stride; the default (on the 3x3) is torchvision's V1.5.
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
        stride_in_1x1: bool = False,
    ) -> None:
        super().__init__()
        if downsample is not None and not residual:
            raise ValueError("a plain block (residual=False) has no shortcut to downsample")
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = conv1x1(inplanes, planes, s1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, s3)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.residual = residual
        self.stride = stride

    def last_bn(self) -> nn.BatchNorm2d:
        """The batch norm that ends the residual branch (zeroed by ``zero_init_residual``)."""
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


def init_weights(model: nn.Module, zero_init_residual: bool = False) -> None:
    """He initialisation (fan-out) for convolutions, BN as identity.

    With ``zero_init_residual`` the last BN of every residual branch starts
    at zero, so each block starts as an exact identity (Goyal et al., 2017).
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, (BasicBlock, Bottleneck)) and m.residual:
                nn.init.zeros_(m.last_bn().weight)


class ResNet(nn.Module):
    """The ImageNet ResNet: 7x7 stem, four stages, global pooling, one linear layer.

    ``layers`` gives the number of blocks per stage, e.g. ``(3, 4, 6, 3)``
    for ResNet-50. Stages 2-4 halve the resolution in their first block.
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: Sequence[int],
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        variant: str = "v1.5",
        shortcut: str = "B",
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"ResNet has four stages, got layers={list(layers)}")
        if variant not in VERSIONS:
            raise ValueError(f"variant must be one of {', '.join(VERSIONS)}, got {variant!r}")
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {', '.join(SHORTCUTS)}, got {shortcut!r}")
        self.variant = variant
        self.shortcut = shortcut
        self.inplanes = 64
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        init_weights(self, zero_init_residual)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        extra = {"stride_in_1x1": self.variant == "v1"} if block is Bottleneck else {}
        out_planes = planes * block.expansion
        stage = []
        for i in range(blocks):
            s = stride if i == 0 else 1
            down = make_shortcut(self.shortcut, self.inplanes, out_planes, s)
            stage.append(block(self.inplanes, planes, s, down, **extra))
            self.inplanes = out_planes
        return nn.Sequential(*stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


#: Blocks per stage for each depth (Table 1 of the paper).
CONFIGS: dict[int, tuple[type[BasicBlock] | type[Bottleneck], tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}


def _build(
    depth: int,
    num_classes: int,
    in_channels: int,
    zero_init_residual: bool,
    variant: str,
    shortcut: str,
) -> ResNet:
    block, layers = CONFIGS[depth]
    return ResNet(block, layers, num_classes, zero_init_residual, variant, shortcut, in_channels)


@register("resnet18")
def resnet18(
    num_classes: int = 1000,
    in_channels: int = 3,
    zero_init_residual: bool = False,
    variant: str = "v1.5",
    shortcut: str = "B",
) -> ResNet:
    """ResNet-18: BasicBlocks (2, 2, 2, 2)."""
    return _build(18, num_classes, in_channels, zero_init_residual, variant, shortcut)


@register("resnet34")
def resnet34(
    num_classes: int = 1000,
    in_channels: int = 3,
    zero_init_residual: bool = False,
    variant: str = "v1.5",
    shortcut: str = "B",
) -> ResNet:
    """ResNet-34: BasicBlocks (3, 4, 6, 3)."""
    return _build(34, num_classes, in_channels, zero_init_residual, variant, shortcut)


@register("resnet50")
def resnet50(
    num_classes: int = 1000,
    in_channels: int = 3,
    zero_init_residual: bool = False,
    variant: str = "v1.5",
    shortcut: str = "B",
) -> ResNet:
    """ResNet-50: Bottlenecks (3, 4, 6, 3)."""
    return _build(50, num_classes, in_channels, zero_init_residual, variant, shortcut)


@register("resnet101")
def resnet101(
    num_classes: int = 1000,
    in_channels: int = 3,
    zero_init_residual: bool = False,
    variant: str = "v1.5",
    shortcut: str = "B",
) -> ResNet:
    """ResNet-101: Bottlenecks (3, 4, 23, 3)."""
    return _build(101, num_classes, in_channels, zero_init_residual, variant, shortcut)


@register("resnet152")
def resnet152(
    num_classes: int = 1000,
    in_channels: int = 3,
    zero_init_residual: bool = False,
    variant: str = "v1.5",
    shortcut: str = "B",
) -> ResNet:
    """ResNet-152: Bottlenecks (3, 8, 36, 3)."""
    return _build(152, num_classes, in_channels, zero_init_residual, variant, shortcut)
