"""Architecture diagrams drawn from a model, not by hand.

:func:`trace_layers` runs one forward pass with hooks and records every leaf
layer's output shape; :func:`stages` groups those layers the way VGG is
described (convolutions up to a max-pool form a block; each fully
connected layer is its own stage); :func:`architecture_svg` draws the
stages as boxes whose height follows the feature map's side and whose
width follows the number of channels. Because everything comes from the
forward pass, the picture cannot disagree with the code.

Pass a model built on the meta device (``with torch.device("meta"): ...``)
to get the shapes without computing anything.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from cnnbook.modes import eval_mode


@dataclass(frozen=True)
class Layer:
    """One leaf module as called in the forward pass."""

    name: str
    module: nn.Module
    output_shape: tuple[int, ...]


@torch.no_grad()
def trace_layers(model: nn.Module, input_shape: tuple[int, ...]) -> list[Layer]:
    """Every leaf module with its output shape, in the order the forward pass calls them."""
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    calls: list[Layer] = []
    handles: list[RemovableHandle] = []
    for name, module in model.named_modules():
        if next(module.children(), None) is not None:
            continue  # containers: their children are recorded instead

        def hook(
            mod: nn.Module, _inp: tuple[Any, ...], out: torch.Tensor, name: str = name
        ) -> None:
            calls.append(Layer(name, mod, tuple(out.shape)))

        handles.append(module.register_forward_hook(hook))
    try:
        with eval_mode(model):
            model(torch.zeros(input_shape, device=device))
    finally:
        for h in handles:
            h.remove()
    return calls


@dataclass
class Stage:
    """A box of the diagram: a conv block (convs up to a pool), a pool, or a linear layer."""

    kind: str  # "conv", "pool" or "fc"
    layers: list[Layer] = field(default_factory=list)

    @property
    def convs(self) -> list[nn.Conv2d]:
        return [lay.module for lay in self.layers if isinstance(lay.module, nn.Conv2d)]

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layers[-1].output_shape

    @property
    def params(self) -> int:
        return sum(p.numel() for lay in self.layers for p in lay.module.parameters())

    def conv_shape(self) -> tuple[int, ...]:
        """Shape leaving the block's last convolution (before its pool)."""
        shapes = [lay.output_shape for lay in self.layers if isinstance(lay.module, nn.Conv2d)]
        return shapes[-1]

    def label(self) -> str:
        """What the stage does, e.g. ``2 × conv3×3, 64`` or ``25,088 → 4,096``."""
        if self.kind == "fc":
            m = self.layers[0].module
            return f"{m.in_features:,} → {m.out_features:,}"
        if self.kind == "pool":
            return type(self.layers[0].module).__name__
        runs: list[tuple[tuple[int, int], int]] = []  # ((kernel, channels), repeats)
        for c in self.convs:
            key = (c.kernel_size[0], c.out_channels)
            if runs and runs[-1][0] == key:
                runs[-1] = (key, runs[-1][1] + 1)
            else:
                runs.append((key, 1))
        return " + ".join(f"{n} × conv{k}×{k}, {ch}" for (k, ch), n in runs)


def stages(layers: list[Layer]) -> list[Stage]:
    """Group traced layers into diagram stages (see the module docstring)."""
    out: list[Stage] = []
    current: Stage | None = None
    for lay in layers:
        m = lay.module
        if isinstance(m, nn.Conv2d):
            if current is None:
                current = Stage("conv")
            current.layers.append(lay)
        elif isinstance(m, nn.MaxPool2d) and current is not None:
            current.layers.append(lay)
            out.append(current)
            current = None
        elif isinstance(m, (nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.AvgPool2d)):
            out.append(Stage("pool", [lay]))
        elif isinstance(m, nn.Linear):
            if current is not None:
                out.append(current)
                current = None
            out.append(Stage("fc", [lay]))
        elif current is not None:
            current.layers.append(lay)  # ReLU, BatchNorm, LRN: part of the block
        elif out and out[-1].kind == "fc":
            out[-1].layers.append(lay)  # ReLU / Dropout after a linear layer
    if current is not None:
        out.append(current)
    return out


def _fmt_shape(shape: tuple[int, ...]) -> str:
    dims = shape[1:]  # drop the batch
    if len(dims) == 3:
        c, h, w = dims
        return f"{h}×{w}×{c}"
    return "×".join(str(d) for d in dims)


_CHAR_W = 6.0  # average advance of a 10 px sans-serif character, for layout


def _label_lines(g: Stage, title: str) -> list[str]:
    """The text under a box: its name, what it does, its output shape(s), its parameters."""
    lines = [title, g.label()]
    if g.kind == "conv":
        lines.append(_fmt_shape(g.conv_shape()))
        if isinstance(g.layers[-1].module, nn.MaxPool2d):
            lines.append(f"pool → {_fmt_shape(g.output_shape)}")
    elif g.kind == "pool":
        lines.append(_fmt_shape(g.output_shape))
    lines.append(f"{g.params:,} params")
    return lines


def _titles(groups: list[Stage]) -> list[str]:
    """``block 1`` .. for conv blocks, ``fc 1`` .. for linear layers, the module name for pools."""
    counts = {"conv": 0, "fc": 0}
    out = []
    for g in groups:
        if g.kind == "pool":
            out.append(g.layers[0].name.rsplit(".", 1)[-1] or "pool")
            continue
        counts[g.kind] += 1
        out.append(f"{'block' if g.kind == 'conv' else 'fc'} {counts[g.kind]}")
    return out


_COLOURS = {"conv": "#5c6bc0", "pool": "#ef5350", "fc": "#66bb6a"}


def architecture_svg(
    model: nn.Module, input_shape: tuple[int, ...] = (1, 3, 224, 224), title: str | None = None
) -> str:
    """An SVG picture of ``model``'s stages for one input of ``input_shape``.

    Box height grows with the square root of the feature map's side, box
    width with the logarithm of the channel count (or of the features, for
    linear layers); a red strip marks each block's max-pool. Under each box:
    what it does, its output shape and its parameter count.
    """
    groups = stages(trace_layers(model, input_shape))
    if not groups:
        raise ValueError("the model has no Conv2d or Linear layer to draw")
    side0 = input_shape[-1]
    gap, margin, top, label_h = 12, 20, 40 if title else 16, 68
    max_h = 180
    boxes = []
    x = float(margin)
    for g, name in zip(groups, _titles(groups), strict=True):
        shape = g.conv_shape() if g.kind == "conv" else g.output_shape
        if g.kind == "fc":
            height = 0.45 * max_h * (1 + math.log2(shape[1]) / 16)
            width = 10.0
        else:
            c, side = shape[1], shape[-1]
            height = max(18.0, max_h * math.sqrt(side / side0))
            width = 6 + 3.2 * math.log2(max(c, 2))
        lines = _label_lines(g, name)
        boxes.append((x, width, height, g, lines))
        # Room for the box (and its pool strip) or its widest label, whichever is wider.
        text_w = _CHAR_W * max(len(line) for line in lines)
        x += max(width + 9, text_w) + gap
    total_w = x + margin
    total_h = top + max_h + label_h + 10
    base = top + max_h  # boxes sit on a common baseline
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
        f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-family="sans-serif" font-size="10">',
        f'<rect width="{total_w:.0f}" height="{total_h:.0f}" fill="#ffffff"/>',
    ]
    if title:
        parts.append(
            f'<text x="{margin}" y="24" font-size="14" font-weight="bold" fill="#222">'
            f"{html.escape(title)}</text>"
        )
    for bx, bw, bh, g, lines in boxes:
        y = base - bh
        colour = _COLOURS[g.kind]
        parts.append(
            f'<rect class="stage {g.kind}" x="{bx:.1f}" y="{y:.1f}" width="{bw:.1f}" '
            f'height="{bh:.1f}" fill="{colour}" fill-opacity="0.85" stroke="#333" '
            f'stroke-width="0.8"><title>{html.escape(g.label())}</title></rect>'
        )
        if g.kind == "conv" and isinstance(g.layers[-1].module, nn.MaxPool2d):
            pooled_side = g.output_shape[-1]
            ph = max(12.0, max_h * math.sqrt(pooled_side / side0))
            parts.append(
                f'<rect class="pool-strip" x="{bx + bw + 2:.1f}" y="{base - ph:.1f}" width="5" '
                f'height="{ph:.1f}" fill="{_COLOURS["pool"]}" stroke="#333" stroke-width="0.5"/>'
            )
        for i, line in enumerate(lines):
            weight = "bold" if i == 0 else "normal"
            parts.append(
                f'<text class="label" x="{bx:.1f}" y="{base + 14 + 12 * i:.1f}" fill="#222" '
                f'font-weight="{weight}">{html.escape(line)}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)
