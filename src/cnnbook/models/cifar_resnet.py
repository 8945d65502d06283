"""The CIFAR-10 networks of the ResNet paper (section 4.2): depth 6n + 2.

A 3x3 convolution with 16 filters, then three stages of ``n`` BasicBlocks
on 32x32, 16x16 and 8x8 maps with 16, 32 and 64 filters, global average
pooling and one linear layer: ``6n + 2`` weighted layers in all. The paper
uses option A shortcuts (zero-padding identity, no parameters), so a
residual net and the *plain* net of the same depth have exactly the same
weights; the only difference is the addition. That makes the pair a clean
experiment on what the shortcut alone does.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnbook.models.registry import register
from cnnbook.models.resnet import SHORTCUTS, BasicBlock, conv3x3, init_weights, make_shortcut

#: The depths in the paper's Table 6.
DEPTHS = (20, 32, 44, 56, 110)
#: The images the networks were designed for: CIFAR-10, 3 x 32 x 32.
CIFAR_INPUT = (3, 32, 32)


class CifarResNet(nn.Module):
    """A 6n+2-layer CIFAR network; ``residual=False`` gives the plain counterpart.

    ``base_channels`` is the first stage's channel count (16 in the paper;
    the stages use ``base_channels``, twice and four times as many). Fewer
    channels make the quick experiments of the book cheaper without changing
    the depth.
    """

    def __init__(
        self,
        depth: int,
        num_classes: int = 10,
        residual: bool = True,
        shortcut: str = "A",
        in_channels: int = 3,
        base_channels: int = 16,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(
                f"depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110...), got {depth}"
            )
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {', '.join(SHORTCUTS)}, got {shortcut!r}")
        n = (depth - 2) // 6
        self.depth = depth
        self.residual = residual
        # None for a plain net: it has no shortcuts at all, not even identities.
        self.shortcut: str | None = shortcut if residual else None
        width = base_channels
        self.conv1 = conv3x3(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.inplanes = width
        self.layer1 = self._make_layer(width, n, 1)
        self.layer2 = self._make_layer(2 * width, n, 2)
        self.layer3 = self._make_layer(4 * width, n, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(4 * width, num_classes)
        init_weights(self, zero_init_residual and residual)

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        stage = []
        for i in range(blocks):
            s = stride if i == 0 else 1
            down = None
            if self.shortcut is not None:
                down = make_shortcut(self.shortcut, self.inplanes, planes, s)
            stage.append(BasicBlock(self.inplanes, planes, s, down, residual=self.residual))
            self.inplanes = planes
        return nn.Sequential(*stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _cifar_net(
    depth: int,
    residual: bool,
    num_classes: int,
    in_channels: int,
    base_channels: int,
    shortcut: str = "A",
    zero_init_residual: bool = False,
) -> CifarResNet:
    return CifarResNet(
        depth, num_classes, residual, shortcut, in_channels, base_channels, zero_init_residual
    )


# One builder per name, spelled out so each is found by grep and listed in the
# API reference. The residual nets take the shortcut options; the plain nets
# have no shortcut to configure.


@register("cifar_resnet20", input_size=CIFAR_INPUT, min_image_size=8)
def cifar_resnet20(
    num_classes: int = 10,
    in_channels: int = 3,
    base_channels: int = 16,
    shortcut: str = "A",
    zero_init_residual: bool = False,
) -> CifarResNet:
    """ResNet-20 for 32x32 images (option A shortcuts by default)."""
    return _cifar_net(
        20, True, num_classes, in_channels, base_channels, shortcut, zero_init_residual
    )


@register("cifar_resnet32", input_size=CIFAR_INPUT, min_image_size=8)
def cifar_resnet32(
    num_classes: int = 10,
    in_channels: int = 3,
    base_channels: int = 16,
    shortcut: str = "A",
    zero_init_residual: bool = False,
) -> CifarResNet:
    """ResNet-32 for 32x32 images (option A shortcuts by default)."""
    return _cifar_net(
        32, True, num_classes, in_channels, base_channels, shortcut, zero_init_residual
    )


@register("cifar_resnet44", input_size=CIFAR_INPUT, min_image_size=8)
def cifar_resnet44(
    num_classes: int = 10,
    in_channels: int = 3,
    base_channels: int = 16,
    shortcut: str = "A",
    zero_init_residual: bool = False,
) -> CifarResNet:
    """ResNet-44 for 32x32 images (option A shortcuts by default)."""
    return _cifar_net(
        44, True, num_classes, in_channels, base_channels, shortcut, zero_init_residual
    )


@register("cifar_resnet56", input_size=CIFAR_INPUT, min_image_size=8)
def cifar_resnet56(
    num_classes: int = 10,
    in_channels: int = 3,
    base_channels: int = 16,
    shortcut: str = "A",
    zero_init_residual: bool = False,
) -> CifarResNet:
    """ResNet-56 for 32x32 images (option A shortcuts by default)."""
    return _cifar_net(
        56, True, num_classes, in_channels, base_channels, shortcut, zero_init_residual
    )


@register("cifar_resnet110", input_size=CIFAR_INPUT, min_image_size=8)
def cifar_resnet110(
    num_classes: int = 10,
    in_channels: int = 3,
    base_channels: int = 16,
    shortcut: str = "A",
    zero_init_residual: bool = False,
) -> CifarResNet:
    """ResNet-110 for 32x32 images (option A shortcuts by default)."""
    return _cifar_net(
        110, True, num_classes, in_channels, base_channels, shortcut, zero_init_residual
    )


@register("cifar_plain20", input_size=CIFAR_INPUT, min_image_size=8)
def cifar_plain20(
    num_classes: int = 10, in_channels: int = 3, base_channels: int = 16
) -> CifarResNet:
    """Plain-20: ResNet-20's layers without shortcuts."""
    return _cifar_net(20, False, num_classes, in_channels, base_channels)


@register("cifar_plain32", input_size=CIFAR_INPUT, min_image_size=8)
def cifar_plain32(
    num_classes: int = 10, in_channels: int = 3, base_channels: int = 16
) -> CifarResNet:
    """Plain-32: ResNet-32's layers without shortcuts."""
    return _cifar_net(32, False, num_classes, in_channels, base_channels)


@register("cifar_plain44", input_size=CIFAR_INPUT, min_image_size=8)
def cifar_plain44(
    num_classes: int = 10, in_channels: int = 3, base_channels: int = 16
) -> CifarResNet:
    """Plain-44: ResNet-44's layers without shortcuts."""
    return _cifar_net(44, False, num_classes, in_channels, base_channels)


@register("cifar_plain56", input_size=CIFAR_INPUT, min_image_size=8)
def cifar_plain56(
    num_classes: int = 10, in_channels: int = 3, base_channels: int = 16
) -> CifarResNet:
    """Plain-56: ResNet-56's layers without shortcuts."""
    return _cifar_net(56, False, num_classes, in_channels, base_channels)


@register("cifar_plain110", input_size=CIFAR_INPUT, min_image_size=8)
def cifar_plain110(
    num_classes: int = 10, in_channels: int = 3, base_channels: int = 16
) -> CifarResNet:
    """Plain-110: ResNet-110's layers without shortcuts."""
    return _cifar_net(110, False, num_classes, in_channels, base_channels)
