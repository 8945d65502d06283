"""The paper's whole VGG family, with torchvision's layout.

The paper's Table 1 as data (:data:`CFGS`) and one config-driven
:class:`VGG` whose module names (``features``, ``avgpool``, ``classifier``)
and initialisation are torchvision's, so torchvision's weights load into it
unchanged. It registers torchvision's eight names
(``vgg11`` .. ``vgg19_bn``) and the two columns torchvision leaves out,
``vgg_a_lrn`` and ``vgg_c`` (plus ``vgg_c_bn``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnbook.models.registry import register

# ---------------------------------------------------------------------------
# The paper's configurations, with torchvision's module names
# ---------------------------------------------------------------------------

#: Table 1 of Simonyan & Zisserman (2015), one list per column. An ``int`` is
#: a 3x3 convolution (padding 1) with that many output channels, ``(c, 1)`` a
#: 1x1 convolution with ``c`` outputs, ``"M"`` a 2x2 max-pool with stride 2 and
#: ``"LRN"`` local response normalisation. A, B, D and E are the lists of
#: torchvision's ``vgg.py``; A-LRN and C complete the paper's table.
# fmt: off
CFGS: dict[str, list] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "A-LRN": [64, "LRN", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, (256, 1), "M",
          512, 512, (512, 1), "M", 512, 512, (512, 1), "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
          512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
          512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
# fmt: on

#: Weight layers (convolutions + 3 fully connected) of each configuration, as
#: the paper counts them: VGG-11 is A, VGG-16 is C or D, VGG-19 is E.
DEPTH = {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16, "E": 19}


def make_layers(
    cfg: Sequence, batch_norm: bool = False, in_channels: int = 3, width_mult: float = 1.0
) -> nn.Sequential:
    """The convolutional trunk (torchvision's ``features``) for one config.

    Each convolution is followed by ``BatchNorm2d`` (if ``batch_norm``) and
    ReLU, so the module indices are exactly torchvision's and its weights
    load by name. ``width_mult`` multiplies every channel count (0.25 gives a
    quarter-width network); the layer structure does not change.
    """
    layers: list[nn.Module] = []
    channels = in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        elif v == "LRN":
            # AlexNet's parameters, which the paper says it reuses. PyTorch (like
            # Caffe) divides alpha by ``size`` inside the formula.
            layers.append(nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0))
        else:
            out, kernel = (v, 3) if isinstance(v, int) else v
            out = max(1, round(out * width_mult))
            layers.append(nn.Conv2d(channels, out, kernel_size=kernel, padding=kernel // 2))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU(inplace=True))
            channels = out
    return nn.Sequential(*layers)


def out_channels(features: nn.Module) -> int:
    """Channels leaving a trunk: those of its last convolution."""
    convs = [m for m in features.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("the feature extractor has no Conv2d layer")
    return convs[-1].out_channels


def init_torchvision_style(model: nn.Module) -> nn.Module:
    """torchvision's VGG initialisation, applied in place.

    Convolutions get He (Kaiming) normal weights scaled by fan-out, which
    keeps the gradients' variance steady through the ReLU stack on the
    backward pass (fan-in would keep the activations' instead); linear layers get N(0, 0.01) as in
    the paper's shallow net A; biases start at zero and batch norm at the
    identity.
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
    return model


def classifier_head(
    in_features: int, num_classes: int, hidden: Sequence[int] = (4096, 4096), dropout: float = 0.5
) -> nn.Sequential:
    """Fully connected layers: (Linear, ReLU, Dropout) per hidden width, then Linear.

    With the default ``hidden`` the indices 0..6 are torchvision's
    ``classifier``; ``hidden=()`` leaves a single linear layer.
    """
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU(inplace=True), nn.Dropout(p=dropout)]
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """A VGG with torchvision's layout: ``features``, ``avgpool``, ``classifier``.

    ``avgpool`` is an adaptive average pool to ``pool_size`` x ``pool_size``.
    At 224x224 the trunk already gives 7x7, so it does nothing; at other
    sizes it makes the head's input size fixed, which is why any input of at
    least 32x32 works. ``pool_size=1`` turns it into global average pooling.
    """

    def __init__(
        self,
        features: nn.Module,
        num_classes: int = 1000,
        hidden: Sequence[int] = (4096, 4096),
        dropout: float = 0.5,
        pool_size: int = 7,
        init_weights: bool = True,
    ) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        in_features = out_channels(features) * pool_size * pool_size
        self.classifier = classifier_head(in_features, num_classes, hidden, dropout)
        if init_weights:
            init_torchvision_style(self)

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def vgg(
    cfg: str,
    batch_norm: bool = False,
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """Build configuration ``cfg`` (a key of :data:`CFGS`) with torchvision's head."""
    if cfg not in CFGS:
        raise ValueError(f"unknown VGG configuration {cfg!r}; choose one of: {', '.join(CFGS)}")
    if width_mult <= 0:
        raise ValueError(f"width_mult must be positive, got {width_mult}")
    features = make_layers(CFGS[cfg], batch_norm, in_channels, width_mult)
    return VGG(features, num_classes=num_classes, dropout=dropout, init_weights=init_weights)


#: Registry name -> (configuration, batch norm). torchvision's eight names,
#: plus the columns of Table 1 that torchvision does not ship.
NAMES: dict[str, tuple[str, bool]] = {
    "vgg11": ("A", False),
    "vgg11_bn": ("A", True),
    "vgg13": ("B", False),
    "vgg13_bn": ("B", True),
    "vgg16": ("D", False),
    "vgg16_bn": ("D", True),
    "vgg19": ("E", False),
    "vgg19_bn": ("E", True),
    "vgg_a_lrn": ("A-LRN", False),
    "vgg_c": ("C", False),
    "vgg_c_bn": ("C", True),
}

# One builder per name, spelled out as torchvision does, so each is found by
# grep and listed in the API reference. All take the same options.


@register("vgg11")
def vgg11(
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """Configuration A."""
    return vgg("A", False, num_classes, in_channels, width_mult, dropout, init_weights)


@register("vgg11_bn")
def vgg11_bn(
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """Configuration A with batch norm."""
    return vgg("A", True, num_classes, in_channels, width_mult, dropout, init_weights)


@register("vgg13")
def vgg13(
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """Configuration B."""
    return vgg("B", False, num_classes, in_channels, width_mult, dropout, init_weights)


@register("vgg13_bn")
def vgg13_bn(
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """Configuration B with batch norm."""
    return vgg("B", True, num_classes, in_channels, width_mult, dropout, init_weights)


@register("vgg16")
def vgg16(
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """Configuration D."""
    return vgg("D", False, num_classes, in_channels, width_mult, dropout, init_weights)


@register("vgg16_bn")
def vgg16_bn(
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """Configuration D with batch norm."""
    return vgg("D", True, num_classes, in_channels, width_mult, dropout, init_weights)


@register("vgg19")
def vgg19(
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """Configuration E."""
    return vgg("E", False, num_classes, in_channels, width_mult, dropout, init_weights)


@register("vgg19_bn")
def vgg19_bn(
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """Configuration E with batch norm."""
    return vgg("E", True, num_classes, in_channels, width_mult, dropout, init_weights)


@register("vgg_a_lrn")
def vgg_a_lrn(
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """Configuration A-LRN."""
    return vgg("A-LRN", False, num_classes, in_channels, width_mult, dropout, init_weights)


@register("vgg_c")
def vgg_c(
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """Configuration C."""
    return vgg("C", False, num_classes, in_channels, width_mult, dropout, init_weights)


@register("vgg_c_bn")
def vgg_c_bn(
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """Configuration C with batch norm."""
    return vgg("C", True, num_classes, in_channels, width_mult, dropout, init_weights)
