"""VGG-style networks that differ only in the choice of kernel.

Used by the "Why 3x3" experiment. Every network has the same number of
stages; a stage is a few same-padded convolutions, each followed by ReLU,
then a 2x2 max-pool. Only the convolutions inside a stage change:

* ``kernelnet_3x3``: two 3x3 convolutions per stage (VGG's choice),
* ``kernelnet_5x5``: one 5x5 convolution per stage, the same receptive
  field (two stacked 3x3 see 5x5) with the same widths and one ReLU fewer;
  a C -> C stage costs 25 C^2 weights instead of 18 C^2, but a stage that
  doubles the width (C/2 -> C) costs 12.5 C^2 instead of 9 C^2 / 2 + 9 C^2
  = 13.5 C^2, so which network is larger depends on the widths,
* ``kernelnet_5x5_matched``: the 5x5 network rescaled in width (narrower
  for the default widths) until its parameter count is as close as
  possible to ``kernelnet_3x3``'s, so that a
  difference in accuracy cannot be put down to size alone,
* ``kernelnet_5x5_macs``: the 5x5 network rescaled in width (wider for the
  default widths) until its multiply-accumulates per image are as close as
  possible to ``kernelnet_3x3``'s. Parameters and MACs disagree because
  they weigh the stages differently: a weight in the first stage is used
  at every pixel of the full-resolution map, one in the last stage at a
  sixty-fourth of them, and the two designs put their weights in
  different stages (see :func:`stage_costs`),
* ``kernelnet_3x3x3`` / ``kernelnet_7x7``: the three-layer case (7x7 field).

The head is global average pooling and one linear layer, so the networks
take any input size and the head adds only ``widths[-1] * classes`` weights:
the comparison is between the convolutional trunks.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from cnnbook.models.registry import register

#: Stage widths of the default networks: VGG's pattern (double the width at
#: each stage, keep it in the last) at a quarter of net B's first four stages.
#: Because the last stage keeps its width, its convolutions map C -> C
#: channels, the case where two 3x3 cost 18 C^2 and one 5x5 costs 25 C^2.
DEFAULT_WIDTHS: tuple[int, ...] = (16, 32, 64, 64)
#: The input of the kernel-size experiment's CIFAR-10 preset (its quick CPU preset
#: uses 16x16 grey texture patches; four 2x2 pools need at least 16x16).
KERNELNET_INPUT = (3, 32, 32)


class KernelNet(nn.Module):
    """Stages of ``kernels`` convolutions (e.g. ``(3, 3)`` or ``(5,)``) and a pooled linear head."""

    def __init__(
        self,
        kernels: Sequence[int] = (3, 3),
        widths: Sequence[int] = DEFAULT_WIDTHS,
        in_channels: int = 3,
        num_classes: int = 10,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        if not kernels or any(k < 1 or k % 2 == 0 for k in kernels):
            raise ValueError(f"kernels must be odd sizes (same padding), got {tuple(kernels)}")
        if not widths or any(w < 1 for w in widths):
            raise ValueError(f"widths must be positive, got {tuple(widths)}")
        self.kernels = tuple(kernels)
        self.widths = tuple(widths)
        stages = []
        channels = in_channels
        for width in widths:
            layers: list[nn.Module] = []
            for k in kernels:
                layers.append(nn.Conv2d(channels, width, k, padding=k // 2, bias=not batch_norm))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(width))
                layers.append(nn.ReLU(inplace=True))
                channels = width
            layers.append(nn.MaxPool2d(2, 2))
            stages.append(nn.Sequential(*layers))
        self.features = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))


def kernel_net_params(
    kernels: Sequence[int],
    widths: Sequence[int],
    in_channels: int,
    num_classes: int,
    batch_norm: bool = False,
) -> int:
    """Closed-form parameter count of :class:`KernelNet` (checked against the built model in the tests)."""
    total, channels = 0, in_channels
    for width in widths:
        for k in kernels:
            total += k * k * channels * width + (2 * width if batch_norm else width)
            channels = width
    return total + channels * num_classes + num_classes


def stage_costs(
    kernels: Sequence[int],
    widths: Sequence[int],
    in_channels: int,
    image_size: int,
    batch_norm: bool = False,
) -> list[dict]:
    """Closed-form cost of each stage of :class:`KernelNet` for one ``image_size`` input.

    Per stage: the side of its maps, its parameters, its multiply-accumulates
    and the number of values its convolutions write (``activations``, what
    the layers move through memory). MACs are counted as torchinfo counts
    them (a bias or a batch-norm parameter costs one per use), so the stages
    plus :func:`head_macs` add up to :func:`cnnbook.analysis.complexity.count_macs`.
    """
    rows, channels, side = [], in_channels, image_size
    for width in widths:
        params = macs = activations = 0
        for k in kernels:
            weights = k * k * channels * width
            params += weights + (2 * width if batch_norm else width)
            # a bias is added at every pixel; batch norm's scale and shift count once
            macs += weights * side * side + (2 * width if batch_norm else width * side * side)
            activations += width * side * side
            channels = width
        rows.append({"side": side, "params": params, "macs": macs, "activations": activations})
        side //= 2
    return rows


def head_macs(widths: Sequence[int], num_classes: int) -> int:
    """MACs of the pooled linear head (weights and biases, once per image)."""
    return widths[-1] * num_classes + num_classes


def kernel_net_macs(
    kernels: Sequence[int],
    widths: Sequence[int],
    in_channels: int,
    num_classes: int,
    image_size: int,
    batch_norm: bool = False,
) -> int:
    """Closed-form MACs per image of :class:`KernelNet` (checked against torchinfo in the tests)."""
    stages = stage_costs(kernels, widths, in_channels, image_size, batch_norm)
    return sum(s["macs"] for s in stages) + head_macs(widths, num_classes)


#: What :func:`matched_widths` can hold equal between two designs.
MATCH_BY = ("params", "macs")
#: The input side at which MACs are matched. Every stage's convolution MACs
#: grow with the square of the side, so a match at 16 holds at 32, 64, ...
#: (only the head's few MACs do not grow).
MATCH_IMAGE_SIZE = 16


def matched_widths(
    widths: Sequence[int] = DEFAULT_WIDTHS,
    kernels: Sequence[int] = (5,),
    reference: Sequence[int] = (3, 3),
    in_channels: int = 3,
    num_classes: int = 10,
    batch_norm: bool = False,
    by: str = "params",
) -> tuple[int, ...]:
    """Widths for a ``kernels`` network whose ``by`` best matches the ``reference`` one's.

    ``by`` is ``"params"`` or ``"macs"`` (per image, at :data:`MATCH_IMAGE_SIZE`).
    Scales every stage width by one common factor (rounded to integers) and
    keeps the factor whose count is closest to the reference network's, so
    the stages keep their 1:2:4 proportions.
    """
    if by not in MATCH_BY:
        raise ValueError(f"by must be one of {', '.join(MATCH_BY)}, got {by!r}")

    def cost(ks: Sequence[int], ws: Sequence[int]) -> int:
        if by == "params":
            return kernel_net_params(ks, ws, in_channels, num_classes, batch_norm)
        return kernel_net_macs(ks, ws, in_channels, num_classes, MATCH_IMAGE_SIZE, batch_norm)

    target = cost(reference, widths)

    def gap(scaled: tuple[int, ...]) -> int:
        return abs(cost(kernels, scaled) - target)

    # factors 0.001 .. 3.000; on a tie min() keeps the first, the smallest factor
    candidates = (tuple(max(1, round(w * step / 1000)) for w in widths) for step in range(1, 3001))
    return min(candidates, key=gap)


def _widths(widths) -> tuple[int, ...]:
    return tuple(widths) if widths is not None else DEFAULT_WIDTHS


@register("kernelnet_3x3", input_size=KERNELNET_INPUT, min_image_size=16)
def kernelnet_3x3(
    num_classes: int = 10, in_channels: int = 3, widths=None, batch_norm: bool = False
):
    """Two 3x3 convolutions per stage (receptive field of a stage: 5x5)."""
    return KernelNet((3, 3), _widths(widths), in_channels, num_classes, batch_norm)


@register("kernelnet_5x5", input_size=KERNELNET_INPUT, min_image_size=16)
def kernelnet_5x5(
    num_classes: int = 10, in_channels: int = 3, widths=None, batch_norm: bool = False
):
    """One 5x5 convolution per stage, same widths as ``kernelnet_3x3``."""
    return KernelNet((5,), _widths(widths), in_channels, num_classes, batch_norm)


@register("kernelnet_5x5_matched", input_size=KERNELNET_INPUT, min_image_size=16)
def kernelnet_5x5_matched(
    num_classes: int = 10, in_channels: int = 3, widths=None, batch_norm: bool = False
):
    """One 5x5 convolution per stage, narrowed to ``kernelnet_3x3``'s parameter count."""
    matched = matched_widths(_widths(widths), (5,), (3, 3), in_channels, num_classes, batch_norm)
    return KernelNet((5,), matched, in_channels, num_classes, batch_norm)


@register("kernelnet_5x5_macs", input_size=KERNELNET_INPUT, min_image_size=16)
def kernelnet_5x5_macs(
    num_classes: int = 10, in_channels: int = 3, widths=None, batch_norm: bool = False
):
    """One 5x5 convolution per stage, rescaled to ``kernelnet_3x3``'s MACs per image."""
    matched = matched_widths(
        _widths(widths), (5,), (3, 3), in_channels, num_classes, batch_norm, by="macs"
    )
    return KernelNet((5,), matched, in_channels, num_classes, batch_norm)


@register("kernelnet_3x3x3", input_size=KERNELNET_INPUT, min_image_size=16)
def kernelnet_3x3x3(
    num_classes: int = 10, in_channels: int = 3, widths=None, batch_norm: bool = False
):
    """Three 3x3 convolutions per stage (receptive field of a stage: 7x7)."""
    return KernelNet((3, 3, 3), _widths(widths), in_channels, num_classes, batch_norm)


@register("kernelnet_7x7", input_size=KERNELNET_INPUT, min_image_size=16)
def kernelnet_7x7(
    num_classes: int = 10, in_channels: int = 3, widths=None, batch_norm: bool = False
):
    """One 7x7 convolution per stage, same widths as ``kernelnet_3x3x3``."""
    return KernelNet((7,), _widths(widths), in_channels, num_classes, batch_norm)
