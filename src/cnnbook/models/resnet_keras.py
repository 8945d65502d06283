"""ResNet-50 written the way the classic Keras code writes it.

Keras' ResNet-50 is built from two functions: ``conv_block`` (a bottleneck
whose shortcut is a 1x1 projection, used first in every stage because the
shape changes there) and ``identity_block`` (a bottleneck whose shortcut is
the input itself). Here they are two modules, :class:`ConvBlock` and
:class:`IdentityBlock`, and the network is ``stage1`` (the stem) followed by
``stage2`` .. ``stage5``, one ConvBlock and then IdentityBlocks each.

It is the same network as torchvision's ``resnet50``, written differently;
:meth:`ResNet50Keras.torchvision_key_map` says which tensor is which, so
:mod:`cnnbook.compat` moves weights between the two and their outputs agree.

Two details differ from the Keras source on purpose, to match torchvision:
the stem's max-pool pads by one (56x56 after it, not 55x55), and by default
the stride of a ConvBlock sits on its 3x3 convolution ("V1.5"). Keras puts
it on the first 1x1 convolution ("V1"); pass ``variant="v1"`` for that.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnbook.models.registry import register
from cnnbook.models.resnet import VERSIONS, init_weights


def _bottleneck_branch(
    in_channels: int, kernel_size: int, filters: Sequence[int], stride: int, stride_in_1x1: bool
) -> nn.Sequential:
    """1x1 -> k x k -> 1x1 convolutions with BN, ReLU after the first two."""
    f1, f2, f3 = filters
    s1, s2 = (stride, 1) if stride_in_1x1 else (1, stride)
    return nn.Sequential(
        nn.Conv2d(in_channels, f1, 1, stride=s1, bias=False),
        nn.BatchNorm2d(f1),
        nn.ReLU(inplace=True),
        nn.Conv2d(f1, f2, kernel_size, stride=s2, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(f2),
        nn.ReLU(inplace=True),
        nn.Conv2d(f2, f3, 1, bias=False),
        nn.BatchNorm2d(f3),
    )


class ConvBlock(nn.Module):
    """A bottleneck with a projection shortcut (1x1 conv + BN), for a change of shape."""

    def __init__(
        self,
        in_channels: int,
        kernel_size: int,
        filters: Sequence[int],
        stride: int = 2,
        stride_in_1x1: bool = False,
    ) -> None:
        super().__init__()
        self.residual = _bottleneck_branch(in_channels, kernel_size, filters, stride, stride_in_1x1)
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, filters[2], 1, stride=stride, bias=False),
            nn.BatchNorm2d(filters[2]),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.residual(x) + self.shortcut(x))


class IdentityBlock(nn.Module):
    """A bottleneck whose shortcut is the input: shape in equals shape out."""

    def __init__(self, in_channels: int, kernel_size: int, filters: Sequence[int]) -> None:
        super().__init__()
        if filters[2] != in_channels:
            raise ValueError(
                f"an identity block must return its {in_channels} input channels, "
                f"but its last filter count is {filters[2]}"
            )
        self.residual = _bottleneck_branch(in_channels, kernel_size, filters, 1, False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.residual(x) + x)


#: (filters, number of IdentityBlocks after the ConvBlock, stride) for stage2..stage5.
STAGES = (
    ((64, 64, 256), 2, 1),
    ((128, 128, 512), 3, 2),
    ((256, 256, 1024), 5, 2),
    ((512, 512, 2048), 2, 2),
)

# Positions of the layers inside a residual branch (ReLUs sit at 2 and 5).
_BRANCH_NAMES = {"0": "conv1", "1": "bn1", "3": "conv2", "4": "bn2", "6": "conv3", "7": "bn3"}


class ResNet50Keras(nn.Module):
    """ResNet-50 as ``stage1`` (stem) + ``stage2..stage5`` of Conv/IdentityBlocks."""

    # Set by name in a loop in __init__; declared so their type is known.
    stage2: nn.Sequential
    stage3: nn.Sequential
    stage4: nn.Sequential
    stage5: nn.Sequential

    def __init__(self, num_classes: int = 1000, variant: str = "v1.5") -> None:
        super().__init__()
        if variant not in VERSIONS:
            raise ValueError(f"variant must be one of {', '.join(VERSIONS)}, got {variant!r}")
        self.stage1 = nn.Sequential(
            nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        channels = 64
        for i, (filters, identities, stride) in enumerate(STAGES, start=2):
            blocks: list[nn.Module] = [
                ConvBlock(channels, 3, filters, stride, stride_in_1x1=variant == "v1")
            ]
            blocks += [IdentityBlock(filters[2], 3, filters) for _ in range(identities)]
            setattr(self, f"stage{i}", nn.Sequential(*blocks))
            channels = filters[2]
        # Global average pooling: the Keras code's AveragePooling2D((7, 7)) assumes a
        # 224x224 input; the adaptive version gives the same result there and also
        # works for other sizes.
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage1(x)
        x = self.stage5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(torch.flatten(self.pool(x), 1))

    def torchvision_key_map(self) -> dict[str, str]:
        """Each of our state-dict keys mapped to its name in torchvision's ``resnet50``."""
        mapping = {}
        for key in self.state_dict():
            parts = key.split(".")
            if parts[0] == "stage1":
                tv = {"0": "conv1", "1": "bn1"}[parts[1]] + "." + parts[2]
            elif parts[0].startswith("stage"):
                layer = f"layer{int(parts[0][5:]) - 1}.{parts[1]}"
                if parts[2] == "residual":
                    tv = f"{layer}.{_BRANCH_NAMES[parts[3]]}.{parts[4]}"
                else:  # shortcut.0 / shortcut.1 -> downsample.0 / downsample.1
                    tv = f"{layer}.downsample.{parts[3]}.{parts[4]}"
            else:
                tv = key  # fc.weight, fc.bias
            mapping[key] = tv
        return mapping


@register("resnet50_keras")
def resnet50_keras(num_classes: int = 1000, variant: str = "v1.5") -> ResNet50Keras:
    """ResNet-50 from Keras-style ConvBlock/IdentityBlock (23,516,228 parameters for 4 classes)."""
    return ResNet50Keras(num_classes=num_classes, variant=variant)
