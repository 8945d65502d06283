"""The pre-activation residual block and CIFAR networks built from it (He et al., 2016b).

The original block computes ``relu(x + BN(conv(relu(BN(conv(x))))))``: the
addition is followed by a ReLU, so the shortcut is not a clean identity
from one block to the next. "Identity Mappings in Deep Residual Networks"
(arXiv 1603.05027) moves batch norm and ReLU *before* each convolution:

    out = x + conv(relu(BN(conv(relu(BN(x))))))

Nothing follows the addition, so a signal (and its gradient) passes from
any block to any later one through additions alone. The network then needs
one batch norm and ReLU after the last block, before the pooling, and its
stem is a bare convolution (the first block's BN-ReLU follows it).
"""

from __future__ import annotations

import torch
from torch import nn

from cnnbook.models.cifar_resnet import CIFAR_INPUT
from cnnbook.models.registry import register
from cnnbook.models.resnet import SHORTCUTS, conv3x3, make_shortcut


class PreActBasicBlock(nn.Module):
    """BN-ReLU-conv3x3, BN-ReLU-conv3x3, plus the shortcut, with nothing after the addition."""

    expansion = 1

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.relu = nn.ReLU(inplace=False)  # x itself feeds the shortcut: not in place
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        return out + (x if self.downsample is None else self.downsample(x))


class PreActCifarResNet(nn.Module):
    """A 6n+2-layer CIFAR network of :class:`PreActBasicBlock` s (stages of 16, 32, 64)."""

    def __init__(
        self,
        depth: int,
        num_classes: int = 10,
        in_channels: int = 3,
        base_channels: int = 16,
        shortcut: str = "A",
    ) -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth must be 6n + 2 (20, 32, 44, 56, 110...), got {depth}")
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {', '.join(SHORTCUTS)}, got {shortcut!r}")
        n, width = (depth - 2) // 6, base_channels
        self.conv1 = conv3x3(in_channels, width)  # no BN-ReLU: the first block starts with them
        stages, inplanes = [], width
        for i, planes in enumerate((width, 2 * width, 4 * width)):
            blocks: list[nn.Module] = []
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                down = make_shortcut(shortcut, inplanes, planes, stride)
                blocks.append(PreActBasicBlock(inplanes, planes, stride, down))
                inplanes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.bn = nn.BatchNorm2d(inplanes)  # the activation the last block leaves out
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer3(self.layer2(self.layer1(self.conv1(x))))
        return self.fc(torch.flatten(self.avgpool(self.relu(self.bn(x))), 1))


@register("cifar_preact_resnet20", input_size=CIFAR_INPUT, min_image_size=8)
def cifar_preact_resnet20(
    num_classes: int = 10, in_channels: int = 3, base_channels: int = 16, shortcut: str = "A"
) -> PreActCifarResNet:
    """Pre-activation ResNet-20 for 32x32 images."""
    return PreActCifarResNet(20, num_classes, in_channels, base_channels, shortcut)


@register("cifar_preact_resnet110", input_size=CIFAR_INPUT, min_image_size=8)
def cifar_preact_resnet110(
    num_classes: int = 10, in_channels: int = 3, base_channels: int = 16, shortcut: str = "A"
) -> PreActCifarResNet:
    """Pre-activation ResNet-110, the depth of the paper's CIFAR-10 comparison (Table 3)."""
    return PreActCifarResNet(110, num_classes, in_channels, base_channels, shortcut)
