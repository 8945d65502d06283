"""Exercises of the ResNet chapter's first two pages: degradation and residual blocks.

Each exercise is a function that returns plain numbers and a ``*_text``
function that writes the solution from them. The pages show the text (folded);
``tests/test_exercises_resnet.py`` asserts the numbers, those from the paper
exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cnnbook.analysis.complexity import count_params
from cnnbook.engine.optim import paper_lr_factor
from cnnbook.models import create
from cnnbook.models.resnet import BasicBlock, Bottleneck, conv3x3


def _on_meta(name: str, **kwargs: Any) -> nn.Module:
    # Counting needs shapes only; the meta device skips memory and initialisation.
    with torch.device("meta"):
        return create(name, **kwargs)


# --- The degradation problem -------------------------------------------------


@dataclass(frozen=True)
class Twins:
    """Parameters of a CIFAR plain net and the residual net of the same depth."""

    depth: int
    plain: int
    residual: int
    same_tensors: bool


def twins(depth: int = 56) -> Twins:
    """Count the parameters of ``cifar_plain{depth}`` and ``cifar_resnet{depth}``."""
    plain = _on_meta(f"cifar_plain{depth}")
    res = _on_meta(f"cifar_resnet{depth}")
    same = {k: v.shape for k, v in plain.state_dict().items()} == {
        k: v.shape for k, v in res.state_dict().items()
    }
    return Twins(depth, count_params(plain), count_params(res), same)


def twins_text(depth: int = 56) -> str:
    t = twins(depth)
    verdict = "the same" if t.plain == t.residual and t.same_tensors else "different"
    return (
        f"Plain-{depth} has {t.plain:,} parameters and ResNet-{depth} has {t.residual:,}: "
        f"{verdict}, tensor for tensor.\n\n"
        "The paper's CIFAR networks use option A shortcuts: where a block halves the map "
        "and doubles the channels, the shortcut subsamples the input and pads the new "
        "channels with zeros; everywhere else it is the identity. Neither has a weight, so "
        "the residual net is the plain net plus additions, and any difference in training "
        "comes from the shortcuts alone."
    )


@dataclass(frozen=True)
class Depth:
    """The weighted layers of a CIFAR ResNet with ``n`` blocks per stage."""

    n: int
    formula: int
    convolutions: int
    linear: int


def weighted_layers(n: int = 9) -> Depth:
    """``6n + 2`` next to the convolutions and linear layers counted in ``cifar_resnet``."""
    model = _on_meta(f"cifar_resnet{6 * n + 2}")
    convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    linear = sum(isinstance(m, nn.Linear) for m in model.modules())
    return Depth(n, 6 * n + 2, convs, linear)


def weighted_layers_text(n: int = 9) -> str:
    d = weighted_layers(n)
    return (
        f"With n = {d.n}: 6n + 2 = 6 x {d.n} + 2 = {d.formula}. Counted in the model: "
        f"{d.convolutions} convolutions and {d.linear} linear layer, "
        f"{d.convolutions + d.linear} in all.\n\n"
        f"One 3x3 convolution in the stem, three stages of {d.n} BasicBlocks with two "
        f"convolutions each (6n = {6 * d.n}), and the classifier. Batch norm and the "
        "option A shortcuts carry no convolution, so they do not count as layers."
    )


#: The ResNet paper's CIFAR schedule: rate 0.1, divided by 10 at 32k and 48k iterations.
PAPER_LR = 0.1
PAPER_MILESTONES = (32_000, 48_000)
#: When it stops, its mini-batch, and the training split it was tuned on (45k train / 5k val).
PAPER_STEPS, PAPER_BATCH, PAPER_TRAIN_IMAGES = 64_000, 128, 45_000


def paper_lr(steps: tuple[int, ...] = (31_999, 32_000, 48_000), warmup_steps: int = 0) -> dict:
    """The learning rate at each step under the paper's schedule (``paper_lr_factor``)."""
    factor = paper_lr_factor(PAPER_MILESTONES, warmup_steps=warmup_steps)
    return {step: PAPER_LR * factor(step) for step in steps}


def paper_lr_text() -> str:
    rates = paper_lr()
    warm = paper_lr((0, 399, 400), warmup_steps=400)
    listed = "; ".join(f"step {s:,}: {lr:.3g}" for s, lr in rates.items())
    warm_listed = "; ".join(f"step {s:,}: {lr:.3g}" for s, lr in warm.items())
    return (
        f"{listed}.\n\n"
        "Steps count from 0, so step 31,999 is the 32,000th update and still uses 0.1; "
        "the division happens at 32,000 and again at 48,000. Training stops at 64,000 "
        f"iterations, {PAPER_STEPS * PAPER_BATCH / PAPER_TRAIN_IMAGES:.0f} epochs of the "
        f"{PAPER_TRAIN_IMAGES:,} training images at batch {PAPER_BATCH}.\n\n"
        f"For ResNet-110 the paper warms up at 0.01 for about 400 iterations: {warm_listed}."
    )


# --- Residual blocks -----------------------------------------------------------


def _conv_weights(module: nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Conv2d))


@dataclass(frozen=True)
class BottleneckCost:
    """Convolution weights of the paper's Figure 5 blocks and of two 3x3 convs on 256 channels."""

    bottleneck_256: int
    basic_64: int
    two_3x3_256: int


def bottleneck_cost() -> BottleneckCost:
    """Counted from ``models.resnet``: Bottleneck(256, 64), BasicBlock(64, 64), two 3x3 256."""
    with torch.device("meta"):
        bottleneck = Bottleneck(256, 64)
        basic = BasicBlock(64, 64)
        plain = nn.Sequential(conv3x3(256, 256), conv3x3(256, 256))
    return BottleneckCost(_conv_weights(bottleneck), _conv_weights(basic), _conv_weights(plain))


def bottleneck_cost_text() -> str:
    c = bottleneck_cost()
    return (
        f"The bottleneck on 256 channels has 256 x 64 + 9 x 64 x 64 + 64 x 256 = "
        f"{c.bottleneck_256:,} convolution weights. Two 3x3 convolutions on 256 channels "
        f"have 2 x 9 x 256 x 256 = {c.two_3x3_256:,}, "
        f"{c.two_3x3_256 / c.bottleneck_256:.1f} times as many.\n\n"
        f"The paper's own comparison (Figure 5) is with a BasicBlock on 64 channels: "
        f"2 x 9 x 64 x 64 = {c.basic_64:,} weights, about the same cost as the bottleneck "
        "on four times the width. The 1x1 convolutions shrink the channels before the "
        "expensive 3x3 and restore them after, which is what makes ResNet-50/101/152 "
        "affordable."
    )


class PreActBlock(nn.Module):
    """The pre-activation block of He et al. (2016): BN, ReLU, conv, twice, then add.

    Nothing follows the addition, so the shortcut path is an identity from one
    block's input to the next.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv1 = conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        return x + out


@dataclass(frozen=True)
class PreActComparison:
    """What the original and the pre-activation block output, on the same input."""

    negative_original: float
    negative_preact: float
    identity_error_original: float
    identity_error_preact: float


def preact_comparison(channels: int = 8, image_size: int = 8, seed: int = 0) -> PreActComparison:
    """Share of negative outputs, and how far each block is from the identity when F = 0.

    The residual branch is zeroed through its last layer (the last BN in the
    original block, the last convolution in the pre-activation one).
    """
    torch.manual_seed(seed)
    x = torch.randn(2, channels, image_size, image_size)
    original = BasicBlock(channels, channels).eval()
    preact = PreActBlock(channels).eval()
    with torch.no_grad():
        neg_orig = (original(x) < 0).float().mean().item()
        neg_pre = (preact(x) < 0).float().mean().item()
        original.bn2.weight.zero_()
        preact.conv2.weight.zero_()
        err_orig = (original(x) - x).abs().max().item()
        err_pre = (preact(x) - x).abs().max().item()
    return PreActComparison(neg_orig, neg_pre, err_orig, err_pre)


def preact_text() -> str:
    c = preact_comparison()
    return (
        f"On the same random input, {c.negative_original:.0%} of the original block's "
        f"outputs are negative and {c.negative_preact:.0%} of the pre-activation block's. "
        "The original ends with relu(F(x) + x), so its output can never be negative; the "
        "pre-activation block ends with the addition x + F(x) and passes negative values on.\n\n"
        f"With the residual branch set to zero, the pre-activation block is off the identity "
        f"by {c.identity_error_preact:g} and the original by "
        f"{c.identity_error_original:.2f}: the final ReLU clips every negative input. This "
        "clean identity path from block to block is why He et al. (2016) could train a "
        "1001-layer network."
    )


@dataclass(frozen=True)
class ShortcutCost:
    """Parameters of ResNet-34 under each shortcut option."""

    option_a: int
    option_b: int
    option_c: int


def shortcut_cost() -> ShortcutCost:
    """``resnet34`` built with shortcut A, B and C, counted."""
    counts = [count_params(_on_meta("resnet34", shortcut=s)) for s in ("A", "B", "C")]
    return ShortcutCost(*counts)


def shortcut_cost_text() -> str:
    c = shortcut_cost()
    extra_b = c.option_b - c.option_a
    widths = ((64, 128), (128, 256), (256, 512))
    weights = sum(a * b for a, b in widths)
    norms = sum(2 * b for _, b in widths)
    return (
        f"Option A: {c.option_a:,} parameters; option B: {c.option_b:,} "
        f"(+{extra_b:,}, {extra_b / c.option_a:.2%}); option C: {c.option_c:,} "
        f"(+{c.option_c - c.option_a:,}).\n\n"
        "B adds a 1x1 projection and its batch norm only where the shape changes, at the "
        "first block of stages 2, 3 and 4: 64 x 128 + 128 x 256 + 256 x 512 = "
        f"{weights:,} weights plus 2 x (128 + 256 + 512) = {norms:,} batch-norm parameters, "
        f"{weights + norms:,} in all. C projects on every one of "
        "the 16 blocks. The paper found B slightly better than A and C marginally better "
        "than B, and kept B (torchvision's default) because C's extra cost buys little."
    )
