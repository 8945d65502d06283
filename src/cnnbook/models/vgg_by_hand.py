"""VGG-16 written out layer by layer, the way a learner first types it.

No loops and no configuration list: five ``nn.Sequential`` blocks of 3x3
convolutions (padding 1, so the size is kept) and ReLUs, each closed by a
2x2 max-pool, then three fully connected layers. It computes exactly what
torchvision's ``vgg16`` computes; only the names differ (``block3.4``
instead of ``features.14``), and :meth:`VGG16ByHand.torchvision_key_map`
translates them so :mod:`cnnbook.compat` can swap weights both ways.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnbook.models.registry import register
from cnnbook.models.vgg import init_torchvision_style

#: Where torchvision's ``features`` keeps the 13 convolutions of VGG-16: each
#: conv is followed by a ReLU (one index), each block by a max-pool (one more).
TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)


class VGG16ByHand(nn.Module):
    """VGG-16 (configuration D) with readable names: ``block1`` .. ``block5``, ``classifier``."""

    def __init__(
        self, num_classes: int = 1000, dropout: float = 0.5, init_weights: bool = True
    ) -> None:
        super().__init__()
        # Block 1: 224x224x3 -> 112x112x64
        self.block1 = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        # Block 2: -> 56x56x128
        self.block2 = nn.Sequential(
            nn.Conv2d(64, 128, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 128, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        # Block 3: -> 28x28x256
        self.block3 = nn.Sequential(
            nn.Conv2d(128, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        # Block 4: -> 14x14x512
        self.block4 = nn.Sequential(
            nn.Conv2d(256, 512, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(512, 512, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(512, 512, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        # Block 5: -> 7x7x512
        self.block5 = nn.Sequential(
            nn.Conv2d(512, 512, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(512, 512, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(512, 512, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        # At 224x224 this pool does nothing (the map is already 7x7). For other
        # input sizes it averages (or repeats) to 7x7, so the first linear layer
        # always receives 512 * 7 * 7 = 25,088 numbers, as in torchvision.
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:  # the same starting distribution as torchvision's vgg16
            init_torchvision_style(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block1(x)
        x = self.block2(x)
        x = self.block3(x)
        x = self.block4(x)
        x = self.block5(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)  # (N, 512, 7, 7) -> (N, 25088), batch kept
        return self.classifier(x)

    def torchvision_key_map(self) -> dict[str, str]:
        """Our state-dict keys -> torchvision ``vgg16``'s (``classifier`` is already equal)."""
        ours = [
            f"{name}.{idx}"
            for name, block in self.named_children()
            if name.startswith("block")
            for idx, layer in block.named_children()
            if isinstance(layer, nn.Conv2d)
        ]
        mapping = {}
        for our_prefix, tv_index in zip(ours, TORCHVISION_CONV_INDICES, strict=True):
            for kind in ("weight", "bias"):
                mapping[f"{our_prefix}.{kind}"] = f"features.{tv_index}.{kind}"
        for key in self.classifier.state_dict():
            mapping[f"classifier.{key}"] = f"classifier.{key}"
        return mapping


@register("vgg16_by_hand")
def vgg16_by_hand(
    num_classes: int = 1000, dropout: float = 0.5, init_weights: bool = True
) -> VGG16ByHand:
    """VGG-16 spelled out block by block, for ``num_classes`` outputs."""
    return VGG16ByHand(num_classes, dropout, init_weights)
