"""YOLOv5's C3 block, and a small classifier built from it.

C3 ("CSP bottleneck with 3 convolutions") splits its input into two 1x1
branches: ``cv1`` feeds a chain of ``n`` bottlenecks, ``cv2`` passes the
input by with only a 1x1 convolution; the two are concatenated and ``cv3``
mixes them. Each bottleneck of the chain may carry a residual ``shortcut``
(``x + cv2(cv1(x))``). YOLOv5 turns it on in the backbone and off in the
neck, which is the direct answer to "can the residual module be fused into
C3?": it already is, as an option. ``block="resnet"`` goes one step further
and puts ResNet's own :class:`~cnnbook.models.resnet.BasicBlock` in the chain.

Names (``cv1``, ``cv2``, ``cv3``, ``m``) follow YOLOv5's ``common.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnbook.models.registry import register
from cnnbook.models.resnet import BasicBlock

BLOCKS = ("yolo", "resnet")


class ConvBNAct(nn.Module):
    """Convolution (same padding, no bias) + batch norm + SiLU: YOLOv5's ``Conv``."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, padding=k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class C3Bottleneck(nn.Module):
    """1x1 then 3x3 convolution; adds the input back when ``shortcut`` and shapes allow."""

    def __init__(self, c1: int, c2: int, shortcut: bool = True, e: float = 0.5) -> None:
        super().__init__()
        hidden = int(c2 * e)
        self.cv1 = ConvBNAct(c1, hidden, 1)
        self.cv2 = ConvBNAct(hidden, c2, 3)
        self.add = shortcut and c1 == c2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3(nn.Module):
    """Split, run ``n`` bottlenecks on one half, concatenate, mix.

    ``c_ = int(c2 * e)`` channels go through each branch. The bottlenecks
    of the chain keep ``c_`` channels (YOLOv5 builds them with ``e=1.0``).
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        shortcut: bool = True,
        e: float = 0.5,
        block: str = "yolo",
    ) -> None:
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"block must be one of {', '.join(BLOCKS)}, got {block!r}")
        c_ = int(c2 * e)
        self.cv1 = ConvBNAct(c1, c_, 1)
        self.cv2 = ConvBNAct(c1, c_, 1)
        self.cv3 = ConvBNAct(2 * c_, c2, 1)
        chain: list[nn.Module]
        if block == "yolo":
            chain = [C3Bottleneck(c_, c_, shortcut, e=1.0) for _ in range(n)]
        else:
            chain = [BasicBlock(c_, c_, residual=shortcut) for _ in range(n)]
        self.m = nn.Sequential(*chain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), dim=1))


class C3Net(nn.Module):
    """A small image classifier: a stem, then (stride-2 conv + C3) per stage.

    ``widths`` and ``depths`` give each stage's channels and number of
    bottlenecks in its C3; ``shortcut`` switches the residual additions of
    every bottleneck on or off, with no change in parameters.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        widths: Sequence[int] = (16, 32, 64),
        depths: Sequence[int] = (1, 2, 1),
        shortcut: bool = True,
        block: str = "yolo",
    ) -> None:
        super().__init__()
        if len(widths) != len(depths) or not widths:
            raise ValueError("widths and depths need one entry per stage")
        self.stem = ConvBNAct(in_channels, widths[0], 3)
        stages, c = [], widths[0]
        for w, n in zip(widths, depths, strict=True):
            stages.append(
                nn.Sequential(ConvBNAct(c, w, 3, s=2), C3(w, w, n, shortcut, block=block))
            )
            c = w
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.fc(torch.flatten(self.pool(x), 1))


@register("c3_net", input_size=(3, 32, 32), min_image_size=8)
def c3_net(
    num_classes: int = 10,
    in_channels: int = 3,
    widths: Sequence[int] = (16, 32, 64),
    depths: Sequence[int] = (1, 2, 1),
    shortcut: bool = True,
    block: str = "yolo",
) -> C3Net:
    """Three C3 stages (16, 32, 64 channels); ``shortcut=False`` removes the residuals."""
    return C3Net(num_classes, in_channels, widths, depths, shortcut, block)
