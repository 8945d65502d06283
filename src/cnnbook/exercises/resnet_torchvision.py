"""Exercises of "Inside torchvision: resnet.py" and of the C3 page.

Closed forms next to counts on real modules: the tests check one against
the other, and torchvision's own numbers exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torchvision.models import resnet as tv_resnet

from cnnbook.analysis.complexity import count_params
from cnnbook.analysis.torchvision_facts import meta_model, meta_shapes
from cnnbook.analysis.torchvision_facts import resnet as facts
from cnnbook.models.c3 import C3, C3Net

# --- Inside torchvision: V1 and V1.5 -------------------------------------------------


@dataclass(frozen=True)
class StrideMove:
    """One stage's first bottleneck: its 1x1 and the map sides before and after the stride."""

    block: str
    in_channels: int
    planes: int
    side_in: int
    side_out: int

    @property
    def macs_saved_by_v1(self) -> int:
        # V1 runs the first 1x1 on the strided map; everything else is the same in both.
        return self.in_channels * self.planes * (self.side_in**2 - self.side_out**2)


def stride_moves(image_size: int = 224) -> list[StrideMove]:
    """The three blocks whose MACs differ between V1 and V1.5, read off torchvision's ResNet-50."""
    model = meta_model(tv_resnet.resnet50)
    shapes = meta_shapes(model, facts.STAGES, image_size)
    moves = []
    for previous, stage in zip(facts.STAGES, facts.STAGES[1:], strict=False):
        conv1 = getattr(model, stage)[0].conv1
        moves.append(
            StrideMove(
                f"{stage}.0",
                conv1.in_channels,
                conv1.out_channels,
                shapes[previous][-1],
                shapes[stage][-1],
            )
        )
    return moves


def torchvision_gmacs() -> float:
    """torchvision's published cost of ResNet-50 (V1.5) at 224, in GMACs (its ``_ops``)."""
    return float(tv_resnet.ResNet50_Weights.IMAGENET1K_V2.meta["_ops"])


def stride_moves_text() -> str:
    moves = stride_moves()
    lines = [
        f"{m.block}: {m.in_channels} x {m.planes} x ({m.side_in}^2 - {m.side_out}^2) = "
        f"{m.macs_saved_by_v1:,}"
        for m in moves
    ]
    saved = sum(m.macs_saved_by_v1 for m in moves)
    v15 = torchvision_gmacs()
    return (
        "Only the first 1x1 convolution changes: V1 runs it on the strided (output) map, "
        "V1.5 on the full input map; the 3x3 runs on the output map in both.\n\n"
        + "; ".join(lines)
        + ".\n\n"
        "The three are equal: each stage doubles the channels and halves the side, so "
        f"in_channels x planes grows 4-fold while the pixel count shrinks 4-fold. V1 saves "
        f"{saved / 1e9:.3f} GMACs in all: {v15:.3f} (torchvision) - {saved / 1e9:.3f} = "
        f"{v15 - saved / 1e9:.3f} GMACs, about {saved / 1e9 / v15:.1%} less, for a small "
        "loss of accuracy."
    )


@dataclass(frozen=True)
class ZeroInit:
    """torchvision's default and what ``zero_init_residual=True`` zeroes."""

    default: object
    zeroed: dict[str, list[str]]


def _zeroed_norms(model: nn.Module) -> list[str]:
    return [
        name
        for name, m in model.named_modules()
        if isinstance(m, nn.BatchNorm2d) and not bool(m.weight.any())
    ]


def zero_init() -> ZeroInit:
    """Build ResNet-18 and -50 with ``zero_init_residual=True`` and list the all-zero norms."""
    torch.manual_seed(0)
    zeroed = {
        name: _zeroed_norms(getattr(tv_resnet, name)(zero_init_residual=True))
        for name in ("resnet18", "resnet50")
    }
    return ZeroInit(facts.zero_init_default(), zeroed)


def zero_init_text() -> str:
    z = zero_init()
    counts = "; ".join(
        f"{name}: {len(norms)} ({norms[0]} ... {norms[-1]})" for name, norms in z.zeroed.items()
    )
    return (
        f"The default is zero_init_residual={z.default}. With True, the last batch norm of "
        f"every residual branch starts with weight 0, one per block: {counts}.\n\n"
        "The branch then outputs zeros, so a block computes relu(shortcut(x)). Where the "
        "shortcut is the identity its input comes out of a ReLU and is never negative, so "
        "the block is exactly the identity; only the projected shortcuts at the start of "
        "stages 2 to 4 change the signal. At the first step the network behaves like a "
        "much shallower one."
    )


@dataclass(frozen=True)
class Downsampling:
    """The stride-2 layers of torchvision's ResNet-50 and what they do to a 224 image."""

    main_path: list[str]
    shortcuts: list[str]
    factor: int
    output_side: int
    dilated_output_side: int


def downsampling(image_size: int = 224) -> Downsampling:
    """Every stride-2 module of ResNet-50, and the traced output side with and without dilation."""
    model = meta_model(tv_resnet.resnet50)
    strided = [
        name
        for name, m in model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d)) and m.stride in (2, (2, 2))
    ]
    main = [n for n in strided if "downsample" not in n]
    side = meta_shapes(model, ["layer4"], image_size)["layer4"][-1]
    dilated = meta_model(tv_resnet.resnet50, replace_stride_with_dilation=[False, True, True])
    dilated_side = meta_shapes(dilated, ["layer4"], image_size)["layer4"][-1]
    return Downsampling(
        main, [n for n in strided if "downsample" in n], 2 ** len(main), side, dilated_side
    )


def downsampling_text() -> str:
    d = downsampling()
    return (
        f"On the main path: {', '.join(d.main_path)}. On the shortcuts: "
        f"{', '.join(d.shortcuts)} (in parallel with the 3x3s, so they do not add up).\n\n"
        f"{len(d.main_path)} halvings give a factor of {d.factor}: a 224 x 224 image "
        f"leaves layer4 as a {d.output_side} x {d.output_side} map. In every bottleneck "
        "the stride sits on conv2, the 3x3 (V1.5). With replace_stride_with_dilation="
        "[False, True, True] the last two stages dilate instead of striding and the map "
        f"stays {d.dilated_output_side} x {d.dilated_output_side}, as segmentation models "
        "want."
    )


# --- C3 ------------------------------------------------------------------------------


@dataclass(frozen=True)
class C3Cost:
    """Parameters of one C3 with and without its shortcuts, and with ResNet's BasicBlock."""

    c: int
    n: int
    with_shortcut: int
    without_shortcut: int
    resnet_block: int


def c3_cost(c: int = 64, n: int = 3) -> C3Cost:
    """``C3(c, c, n)`` counted three ways."""
    with torch.device("meta"):
        counts = [
            count_params(C3(c, c, n, shortcut=True)),
            count_params(C3(c, c, n, shortcut=False)),
            count_params(C3(c, c, n, block="resnet")),
        ]
    return C3Cost(c, n, *counts)


def c3_cost_text() -> str:
    k = c3_cost()
    hidden = k.c // 2
    return (
        f"C3({k.c}, {k.c}, n={k.n}) has {k.with_shortcut:,} parameters with its shortcuts "
        f"and {k.without_shortcut:,} without: the same, because an addition has no weights. "
        "Only the forward pass differs.\n\n"
        f"Each YOLO bottleneck in the chain has a 1x1 and a 3x3 on c_ = {hidden} channels, "
        f"10 x {hidden}^2 weights; ResNet's BasicBlock has two 3x3s, 18 x {hidden}^2. With "
        f"block='resnet' the C3 grows to {k.resnet_block:,} parameters "
        f"(+{k.resnet_block - k.with_shortcut:,})."
    )


@dataclass(frozen=True)
class AdditionCost:
    """Element additions of the shortcuts of one C3 next to its convolution MACs."""

    n: int
    hidden: int
    side: int
    additions: int
    conv_macs: int


def c3_addition_cost(c: int = 64, n: int = 3, image_size: int = 32) -> AdditionCost:
    """Closed forms for ``C3(c, c, n)`` on a ``c x image_size x image_size`` input."""
    hidden, pixels = c // 2, image_size**2
    additions = n * hidden * pixels
    # cv1, cv2 (c -> c_), cv3 (2c_ -> c), then per bottleneck a 1x1 and a 3x3 on c_.
    conv = (2 * c * hidden + 2 * hidden * c + n * 10 * hidden * hidden) * pixels
    return AdditionCost(n, hidden, image_size, additions, conv)


def c3_addition_text() -> str:
    a = c3_addition_cost()
    return (
        f"Each of the {a.n} bottlenecks adds a {a.hidden} x {a.side} x {a.side} tensor: "
        f"{a.additions:,} additions. "
        f"The convolutions of the block cost {a.conv_macs:,} multiply-accumulates, so the "
        f"shortcuts add {a.additions / a.conv_macs:.2%} to the arithmetic.\n\n"
        "What they do cost is memory traffic: the input of each bottleneck has to be kept "
        "until the addition, one more tensor alive per block."
    )


def c3_net_additions() -> dict[bool, int]:
    """How many residual additions ``C3Net`` performs with and without shortcuts."""
    counts = {}
    for shortcut in (True, False):
        with torch.device("meta"):
            net = C3Net(shortcut=shortcut)
        counts[shortcut] = sum(bool(getattr(m, "add", False)) for m in net.modules())
    return counts


def c3_net_text() -> str:
    counts = c3_net_additions()
    return (
        f"c3_net's three C3s hold 1 + 2 + 1 bottlenecks: {counts[True]} additions with "
        f"shortcut=True, {counts[False]} with shortcut=False, and the same parameters "
        "either way.\n\n"
        "YOLOv5 uses both settings: its model files leave the shortcuts on in the "
        "backbone's C3s and pass False for the C3s of the head, which mix features "
        "concatenated from two scales. Switching costs nothing in parameters, so the "
        "choice is about training behaviour alone."
    )
