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

    ``width`` is the first stage's channel count (16 in the paper; the
    stages use ``width``, ``2 * width``, ``4 * width``). A smaller width makes
    the quick experiments of the book cheaper without changing the depth.
    """

    def __init__(
        self,
        depth: int,
        num_classes: int = 10,
        residual: bool = True,
        shortcut: str = "A",
        in_channels: int = 3,
        width: int = 16,
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
        self.shortcut = shortcut if residual else None
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
            down = make_shortcut(self.shortcut, self.inplanes, planes, s) if self.residual else None
            stage.append(BasicBlock(self.inplanes, planes, s, down, residual=self.residual))
            self.inplanes = planes
        return nn.Sequential(*stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _register(depth: int) -> None:
    def residual_net(num_classes: int = 10, **options) -> CifarResNet:
        return CifarResNet(depth, num_classes, residual=True, **options)

    def plain_net(num_classes: int = 10, **options) -> CifarResNet:
        if "shortcut" in options or "zero_init_residual" in options:
            raise ValueError(
                "a plain network has no shortcuts; drop 'shortcut'/'zero_init_residual'"
            )
        return CifarResNet(depth, num_classes, residual=False, **options)

    residual_net.__doc__ = f"ResNet-{depth} for 32x32 images (option A shortcuts by default)."
    plain_net.__doc__ = f"Plain-{depth}: ResNet-{depth}'s layers without shortcuts."
    residual_net.__name__ = f"cifar_resnet{depth}"
    plain_net.__name__ = f"cifar_plain{depth}"
    globals()[residual_net.__name__] = register(residual_net.__name__, CIFAR_INPUT)(residual_net)
    globals()[plain_net.__name__] = register(plain_net.__name__, CIFAR_INPUT)(plain_net)


for _depth in DEPTHS:
    _register(_depth)
