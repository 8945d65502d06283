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


def _count(n: int) -> str:
    """``38.7k``, ``102.8M``: a parameter count short enough for a column of the picture."""
    if n < 1_000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1e3:.1f}k"
    return f"{n / 1e6:.1f}M"


def _label_lines(g: Stage, title: str) -> list[str]:
    """The text under a box: its name, what it does, its output shape(s), its parameters.

    Short lines (about 14 characters at most), so that the picture of a
    whole VGG fits the text column at a legible size.
    """
    lines = [title]
    if g.kind == "conv":
        lines += [part.split(",")[0] for part in g.label().split(" + ")]
        lines.append(_fmt_shape(g.conv_shape()))
        if isinstance(g.layers[-1].module, nn.MaxPool2d):
            side = _fmt_shape(g.output_shape).rsplit("×", 1)[0]  # pooling keeps the channels
            lines.append(f"→ {side}")
    elif g.kind == "pool":
        lines.append(_fmt_shape(g.output_shape))
    else:
        m = g.layers[0].module
        lines += [f"{m.in_features:,} →", f"{m.out_features:,}"]
    if g.params:
        lines.append(f"{_count(g.params)} params")
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


#: Fills of middle lightness: they read on the light and on the dark theme.
_COLOURS = {"conv": "#5c6bc0", "pool": "#ef5350", "fc": "#43a047"}
_LEGEND = (
    ("conv", "convolutions (box: side × channels)"),
    ("pool", "pooling (a max-pool halves the side)"),
    ("fc", "fully connected"),
)

#: The width of the text column, in px. The picture is drawn for it: shown at
#: this width its labels are ``FONT`` px high; it only grows wider (and its text
#: smaller) when the labels need more room.
WIDTH = 800
FONT = 12.0
_MAX_BOX = 150.0  # height of a box at the input's side


def text_width(text: str, size: float = FONT) -> float:
    """A generous estimate of the width of ``text`` in a sans-serif font of ``size`` px."""
    ems = 0.0
    for ch in text:  # advances of DejaVu Sans, the widest common fallback, in ems
        if ch in ".,:;' il1|()":
            ems += 0.34
        elif ch in "mwMW→×":
            ems += 0.86
        elif ch.isupper():
            ems += 0.72
        else:
            ems += 0.64  # digits, lower case
    return ems * size


@dataclass
class _Column:
    """One stage of the picture: its box and the text under it."""

    stage: Stage
    lines: list[str]
    box_w: float
    box_h: float
    pool_h: float | None  # the pooled strip's height, for a block that ends in a max-pool

    @property
    def needs(self) -> float:
        text = max(
            text_width(line, FONT * (1.05 if i == 0 else 1)) for i, line in enumerate(self.lines)
        )
        return max(self.box_w + 14, text + 6)


def _column(g: Stage, title: str, side0: int) -> _Column:
    """Box size: height grows with the square root of the side, width with log2(channels)."""
    shape = g.conv_shape() if g.kind == "conv" else g.output_shape
    pool_h = None
    if g.kind == "fc":
        height, width = 0.45 * _MAX_BOX * (1 + math.log2(shape[1]) / 16), 10.0
    else:
        height = max(18.0, _MAX_BOX * math.sqrt(shape[-1] / side0))
        width = 6 + 3.2 * math.log2(max(shape[1], 2))
        if g.kind == "conv" and isinstance(g.layers[-1].module, nn.MaxPool2d):
            pool_h = max(12.0, _MAX_BOX * math.sqrt(g.output_shape[-1] / side0))
    return _Column(g, _label_lines(g, title), width, height, pool_h)


def _box(col: _Column, centre: float, base: float) -> list[str]:
    g = col.stage
    x = centre - (col.box_w + (7 if col.pool_h else 0)) / 2
    parts = [
        f'<rect class="stage {g.kind}" x="{x:.1f}" y="{base - col.box_h:.1f}" '
        f'width="{col.box_w:.1f}" height="{col.box_h:.1f}" fill="{_COLOURS[g.kind]}" '
        f'fill-opacity="0.85" stroke="currentColor" stroke-opacity="0.6" stroke-width="0.8">'
        f"<title>{html.escape(g.label())}</title></rect>"
    ]
    if col.pool_h:
        parts.append(
            f'<rect class="pool-strip" x="{x + col.box_w + 2:.1f}" y="{base - col.pool_h:.1f}" '
            f'width="5" height="{col.pool_h:.1f}" fill="{_COLOURS["pool"]}"/>'
        )
    for i, line in enumerate(col.lines):
        weight = ' font-weight="bold"' if i == 0 else ""
        parts.append(
            f'<text class="label" x="{centre:.1f}" y="{base + 18 + 15 * i:.1f}" '
            f'text-anchor="middle"{weight}>{html.escape(line)}</text>'
        )
    return parts


def _legend(y: float, margin: float, input_shape: tuple[int, ...]) -> list[str]:
    parts, x = [], margin
    for kind, text in _LEGEND:
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" '
            f'fill="{_COLOURS[kind]}" fill-opacity="0.85"/>'
        )
        parts.append(
            f'<text class="legend" x="{x + 17:.1f}" y="{y:.1f}">{html.escape(text)}</text>'
        )
        x += 17 + text_width(text) + 18
    shape = "×".join(str(d) for d in input_shape[2:] + input_shape[1:2])
    parts.append(f'<text class="legend" x="{x:.1f}" y="{y:.1f}">input {shape}</text>')
    return parts


def architecture_svg(
    model: nn.Module, input_shape: tuple[int, ...] = (1, 3, 224, 224), title: str | None = None
) -> str:
    """An SVG picture of ``model``'s stages for one input of ``input_shape``.

    One column per stage, left to right: a box whose height grows with the
    square root of the feature map's side and whose width grows with the
    logarithm of the channel count (or of the features, for linear layers),
    a red strip for a block's max-pool, and under it what the stage does,
    its output shape and its parameters; a legend on top. The picture is
    drawn for a text column ``WIDTH`` px wide (labels ``FONT`` px there);
    text and outlines take the page's text colour (``currentColor``), so
    shown inline it reads on a light and on a dark theme.
    """
    groups = stages(trace_layers(model, input_shape))
    if not groups:
        raise ValueError("the model has no Conv2d or Linear layer to draw")
    columns = [_column(g, t, input_shape[-1]) for g, t in zip(groups, _titles(groups), strict=True)]
    margin = 12.0
    spare = (WIDTH - 2 * margin - sum(c.needs for c in columns)) / len(columns)
    widths = [c.needs + max(0.0, spare) for c in columns]
    total_w = sum(widths) + 2 * margin
    top = 30.0 + (26.0 if title else 0.0)
    base = top + _MAX_BOX + 8
    total_h = base + 18 + 15 * max(len(c.lines) for c in columns)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total_w:.0f} {total_h:.0f}" '
        f'width="100%" style="max-width: {total_w:.0f}px" role="img" '
        f'aria-label="{html.escape(title or "architecture diagram")}" '
        f'font-family="Roboto, Helvetica, Arial, sans-serif" font-size="{FONT:g}" '
        'fill="currentColor">'
    ]
    if title:
        parts.append(
            f'<text class="title" x="{margin}" y="20" font-size="15" font-weight="bold">'
            f"{html.escape(title)}</text>"
        )
    parts += _legend(top - 10, margin, input_shape)
    x = margin
    for col, width in zip(columns, widths, strict=True):
        parts += _box(col, x + width / 2, base)
        x += width
    parts.append("</svg>")
    return "\n".join(parts)
