"""Dataflow figures of a block, drawn from its torch.fx graph, not by hand.

:func:`trace` runs ``torch.fx``'s symbolic tracer over a module and keeps
one node per operation of its ``forward`` (a layer, an addition, a
concatenation), each with the shape it produces for a stated input.
:func:`svg` lays the graph out in a column and draws it:

* the *main path* is the longest path from input to output (the residual
  branch of a block), drawn top to bottom;
* every other path runs in a lane to its right: an identity shortcut is a
  bare line, a projection or zero-padding shortcut (or C3's second branch)
  is a column of boxes, and each lane rejoins the main path where its
  ``+`` or ``concat`` node is.

Boxes say what a layer does ("3×3 conv, 64, stride 2", "BN", "ReLU");
labels on the arrows give the shape (channels × height × width) that
flows along them. Because nodes, edges, labels and shapes all come from
the traced graph, the figure follows the model: drop a shortcut from the
``forward`` and its lane disappears; change a stride and the label and the
shapes change.

Modules listed as ``leaves`` are drawn as one box (for example YOLOv5's
conv-BN-SiLU unit, or a whole stage of residual blocks); the tracer does
not look inside them.
"""

from __future__ import annotations

import html
import itertools
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from cnnbook.diagram import text_width
from cnnbook.models.resnet import PadShortcut

# --------------------------------------------------------------------------- graph


@dataclass(frozen=True)
class Node:
    """One operation of the traced ``forward``."""

    name: str  # the fx node's name: unique, e.g. "conv1", "add", "relu_1"
    kind: str  # a key of KINDS
    lines: tuple[str, ...]  # what the box says
    inputs: tuple[str, ...]  # names of the nodes it reads, in argument order
    shape: tuple[int, ...] | None  # the output shape without the batch dimension
    target: str = ""  # the module path (``layer1.0.conv1``) or function, for tooltips


@dataclass(frozen=True)
class Graph:
    """The nodes of a traced module in execution order (input first, output last)."""

    nodes: tuple[Node, ...]

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Every (producer, consumer) pair, once each."""
        seen: dict[tuple[str, str], None] = {}
        for n in self.nodes:
            for i in n.inputs:
                seen[(i, n.name)] = None
        return list(seen)

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)


class _Tracer(fx.Tracer):
    """fx's tracer that also stops at the given module types."""

    def __init__(self, leaves: tuple[type[nn.Module], ...]) -> None:
        super().__init__()
        self.leaves = leaves

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if self.leaves and isinstance(m, self.leaves):
            return True
        if isinstance(m, PadShortcut):
            return True  # option A is one idea ("identity, padded"), not a slice and a pad
        return super().is_leaf_module(m, module_qualified_name)


def fx_graph(
    module: nn.Module, leaves: Sequence[type[nn.Module]] = ()
) -> tuple[fx.GraphModule, fx.Graph]:
    """``module``'s fx graph, with ``leaves`` (and option A shortcuts) kept whole."""
    graph = _Tracer(tuple(leaves)).trace(module)
    return fx.GraphModule(module, graph), graph


def trace(
    module: nn.Module,
    input_shape: tuple[int, ...],
    leaves: Sequence[type[nn.Module]] = (),
) -> Graph:
    """The dataflow graph of ``module`` for one input of ``input_shape`` (batch first).

    Shapes come from one forward pass of a zero input on the module's device,
    in evaluation mode. A module built on the meta device computes nothing
    (but torch's first meta call in a process takes seconds); a small block
    on the CPU takes milliseconds.
    """
    gm, graph = fx_graph(module, leaves)
    try:
        device = next(module.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    training = module.training
    module.eval()
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(torch.zeros(input_shape, device=device))
    finally:
        module.train(training)
    return Graph(tuple(_node(gm, n) for n in graph.nodes))


def _node(gm: fx.GraphModule, n: fx.Node) -> Node:
    meta = n.meta.get("tensor_meta")
    shape = tuple(meta.shape[1:]) if meta is not None and hasattr(meta, "shape") else None
    inputs = tuple(i.name for i in n.all_input_nodes)
    if n.op == "placeholder":
        return Node(n.name, "io", ("input",), inputs, shape, "input")
    if n.op == "output":
        return Node(n.name, "io", ("output",), inputs, shape, "output")
    if n.op == "call_module":
        assert isinstance(n.target, str)
        kind, lines = describe(gm.get_submodule(n.target))
        if kind == "stage":  # a stage is known by its name in the model: "layer2: 4 × ..."
            lines = (f"{n.target}: {lines[0]}", *lines[1:])
        return Node(n.name, kind, lines, inputs, shape, n.target)
    kind, text = _FUNCTIONS.get(n.target, ("other", getattr(n.target, "__name__", str(n.target))))
    return Node(n.name, kind, (text,), inputs, shape, text)


# Functions and methods a forward may call, as the figure names them.
_FUNCTIONS: dict[object, tuple[str, str]] = {
    operator.add: ("merge", "+"),
    torch.add: ("merge", "+"),
    "add": ("merge", "+"),
    torch.cat: ("merge", "concat"),
    torch.relu: ("act", "ReLU"),
    F.relu: ("act", "ReLU"),
    "relu": ("act", "ReLU"),
    torch.flatten: ("reshape", "flatten"),
    "flatten": ("reshape", "flatten"),
}


# --------------------------------------------------------------------------- labels


def _pair(v: int | tuple[int, ...]) -> int:
    return v if isinstance(v, int) else v[0]


def conv_text(m: nn.Conv2d) -> str:
    """``3×3 conv, 64, stride 2``: kernel, output channels and (if not 1) stride."""
    kh, kw = m.kernel_size
    text = f"{kh}×{kw} conv, {m.out_channels}"
    if _pair(m.stride) != 1:
        text += f", stride {_pair(m.stride)}"
    if m.groups != 1:
        text += f", groups {m.groups}"
    return text


def _pool_text(m: nn.Module) -> str:
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return "global average pool" if m.output_size in (1, (1, 1)) else "adaptive avg pool"
    assert isinstance(m, (nn.MaxPool2d, nn.AvgPool2d))
    k, s = _pair(m.kernel_size), _pair(m.stride)
    name = "max pool" if isinstance(m, nn.MaxPool2d) else "avg pool"
    return f"{k}×{k} {name}" + (f", stride {s}" if s != 1 else "")


def _pad_lines(m: PadShortcut) -> tuple[str, ...]:
    first = "identity" + (f", stride {m.stride}" if m.stride != 1 else "")
    return (first, f"+ {m.extra} zero channels")


_ACTIVATIONS = (nn.ReLU, nn.SiLU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU)
_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)


def describe(m: nn.Module) -> tuple[str, tuple[str, ...]]:
    """A module's kind (a key of :data:`KINDS`) and the lines its box shows."""
    if isinstance(m, nn.Conv2d):
        return "conv", (conv_text(m),)
    if isinstance(m, nn.BatchNorm2d):
        return "norm", ("BN",)
    if isinstance(m, _ACTIVATIONS):
        return "act", (type(m).__name__,)
    if isinstance(m, _POOLS):
        return "pool", (_pool_text(m),)
    if isinstance(m, nn.Linear):
        return "fc", (f"fully connected, {m.out_features:,}",)
    if isinstance(m, PadShortcut):
        return "pad", _pad_lines(m)
    if isinstance(m, nn.Identity):
        return "other", ("identity",)
    children = list(m.children())
    if children and all(next(c.children(), None) is not None for c in children):
        return "stage", stage_lines(m)
    # A small unit (YOLOv5's conv-BN-SiLU): its first layer, then the rest on a second line.
    texts = [" ".join(lines) for _, lines in map(describe, children)]
    if not texts:
        return "other", (type(m).__name__,)
    kind = "conv" if any(isinstance(c, nn.Conv2d) for c in children) else "other"
    rest = " · ".join(texts[1:])
    return kind, (texts[0], rest) if rest else (texts[0],)


def _count(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1_000_000 else f"{n / 1e3:.1f}k"


def stage_lines(stage: nn.Module) -> tuple[str, ...]:
    """A stage of blocks: how many of which, the first block's branch, its stride and shortcut.

    The first block's residual branch and shortcut are read from its own fx
    graph (the longest path and the side path), not from attribute names.
    """
    blocks = list(stage.children())
    kinds = sorted({type(b).__name__ for b in blocks})
    params = sum(p.numel() for p in stage.parameters())
    head = f"{len(blocks)} × {' / '.join(kinds)}, {_count(params)} params"
    gm, graph = fx_graph(blocks[0])
    g = Graph(tuple(_node(gm, n) for n in graph.nodes))
    main = set(main_path(g))
    layers = [gm.get_submodule(n.target) for n in g.nodes if n.name in main and n.kind == "conv"]
    convs = [c for c in layers if isinstance(c, nn.Conv2d)]
    branch = " · ".join(f"{c.kernel_size[0]}×{c.kernel_size[1]}, {c.out_channels}" for c in convs)
    side_kinds = {n.kind for n in g.nodes if n.name not in main}
    shortcut = "identity"
    if "pad" in side_kinds:
        shortcut = "zero-padding"
    elif "conv" in side_kinds:
        shortcut = "projection"
    stride = max((_pair(c.stride) for c in convs), default=1)
    return (head, branch, f"first: stride {stride}, {shortcut} shortcut")


# --------------------------------------------------------------------------- layout


def main_path(g: Graph) -> list[str]:
    """The longest input-to-output path (ties go to the earlier argument)."""
    best: dict[str, tuple[int, str | None]] = {}
    for n in g.nodes:
        preds = [(best[i][0], i) for i in n.inputs if i in best]
        if not preds:
            best[n.name] = (0, None)
            continue
        length, pred = max(preds, key=lambda p: p[0])  # max keeps the first of equals
        best[n.name] = (length + 1, pred)
    path: list[str] = []
    name: str | None = g.nodes[-1].name
    while name is not None:
        path.append(name)
        name = best[name][1]
    return path[::-1]


@dataclass
class SidePath:
    """A path off the main one: from ``src`` through ``chain`` (maybe empty) into ``dst``."""

    src: str
    dst: str
    chain: list[str] = field(default_factory=list)
    lane: int = 0


def side_paths(g: Graph, main: list[str]) -> list[SidePath]:
    """Every path that leaves the main path and rejoins it, as one chain of nodes.

    Raises ``ValueError`` for a graph whose side paths branch again: the
    figures of this module draw blocks, whose shortcuts are simple chains.
    """
    row = {name: i for i, name in enumerate(main)}
    consumers: dict[str, list[str]] = {n.name: [] for n in g.nodes}
    for src, dst in g.edges:
        consumers[src].append(dst)
    paths: list[SidePath] = []
    open_chain: dict[str, SidePath] = {}  # last node of a chain -> its path
    for n in g.nodes:
        if n.name in row:
            for i in n.inputs:
                if i in row and row[n.name] != row[i] + 1:
                    paths.append(SidePath(i, n.name))  # a bare (identity) shortcut
                elif i in open_chain:
                    path = open_chain.pop(i)
                    path.dst = n.name
                    paths.append(path)
            continue
        if len(n.inputs) != 1 or len(consumers[n.name]) != 1:
            raise ValueError(f"cannot draw {n.name!r}: a side path must be a simple chain")
        (i,) = n.inputs
        path = open_chain.pop(i) if i in open_chain else SidePath(i, "")
        path.chain.append(n.name)
        open_chain[n.name] = path
    if open_chain:
        raise ValueError(f"side paths never rejoin: {sorted(open_chain)}")
    return _assign_lanes(paths, row)


def _assign_lanes(paths: list[SidePath], row: dict[str, int]) -> list[SidePath]:
    """Shorter paths nearer the main path; paths whose rows overlap never share a lane."""
    taken: dict[int, list[tuple[int, int]]] = {}
    for p in sorted(paths, key=lambda p: row[p.dst] - row[p.src]):
        a, b = row[p.src], row[p.dst]
        lane = 1
        while any(a < y and x < b for x, y in taken.get(lane, [])):
            lane += 1
        taken.setdefault(lane, []).append((a, b))
        p.lane = lane
    return paths


# --------------------------------------------------------------------------- drawing

#: What each kind of box means, with a fill of middle lightness that reads on
#: the light and on the dark theme (boxes are tinted, text takes the page's colour).
KINDS: dict[str, tuple[str, str]] = {
    "conv": ("#5c6bc0", "convolution"),
    "norm": ("#f9a825", "batch norm"),
    "act": ("#43a047", "activation"),
    "pad": ("#8e24aa", "zero-padding shortcut"),
    "merge": ("#e53935", "add / concatenate"),
    "pool": ("#00897b", "pooling"),
    "fc": ("#8d6e63", "fully connected"),
    "stage": ("#1e88e5", "stage of residual blocks"),
    "reshape": ("#757575", "flatten / reshape"),
    "other": ("#757575", "other"),
    "io": ("none", "input / output"),
}

FONT = 12.0  # px at the figure's natural width, which is what a phone shows
SMALL = 10.5
LINE = 15.0
GAP = 30.0  # vertical room between rows: a shape label and a fork fit in it
MARGIN = 8.0
LANE = 24.0  # width of a lane that holds only a line
COLUMN_GAP = 16.0
MIN_BOX = 120.0
RADIUS = 11.0  # of the "+" circle
_figure_ids = itertools.count(1)


def shape_text(shape: tuple[int, ...] | None) -> str:
    """``64×56×56``: the shape without its batch dimension, channels first."""
    return "×".join(str(d) for d in shape) if shape else ""


def _box_lines(n: Node) -> tuple[str, ...]:
    if n.kind == "io":
        return (f"{n.lines[0]} {shape_text(n.shape)}",)
    return n.lines


def _box_height(n: Node) -> float:
    if n.lines == ("+",):
        return 2 * RADIUS
    return 12 + LINE * len(_box_lines(n))


def _box_width(nodes: list[Node]) -> float:
    widest = max((text_width(line) for n in nodes for line in _box_lines(n)), default=0.0)
    return max(MIN_BOX, widest + 18)


def _shows_shape(n: Node) -> bool:
    """Label the arrow leaving ``n`` when ``n`` can change the shape (not after BN or ReLU)."""
    return n.kind not in ("norm", "act", "io")


@dataclass
class _Place:
    cx: float
    top: float
    w: float
    h: float

    @property
    def cy(self) -> float:
        return self.top + self.h / 2

    @property
    def bottom(self) -> float:
        return self.top + self.h


def _f(x: float) -> str:
    """A coordinate to the half pixel, short: ``12``, ``12.5``."""
    return f"{round(2 * x) / 2:g}"


class _Canvas:
    """The figure's elements by layer; shared styles sit on the layers' groups.

    A page shows many of these figures, so the markup stays lean: boxes are
    grouped by kind (the group carries the colours), every arrow takes its
    head from one marker, and the labels are a layer of their own that names
    each box it belongs to (``data-of``).
    """

    def __init__(self) -> None:
        self.edges: list[str] = []
        self.dots: list[str] = []
        self.shapes: list[str] = []
        self.boxes: dict[str, list[str]] = {}
        self.labels: list[str] = []

    def line(self, points: list[tuple[float, float]], src: str, dst: str) -> None:
        """A polyline from ``src`` to ``dst``; the group's marker draws its arrowhead."""
        d = "M" + " L".join(f"{_f(x)},{_f(y)}" for x, y in points)
        self.edges.append(f'<path data-src="{src}" data-dst="{dst}" d="{d}"/>')

    def node(self, n: Node, p: _Place) -> None:
        ident = f'data-name="{n.name}"'  # its kind is its group's class
        if n.lines == ("+",):
            shape = f'<circle {ident} cx="{_f(p.cx)}" cy="{_f(p.cy)}" r="{RADIUS:g}"/>'
            self.labels.append(
                f'<text data-of="{n.name}" x="{_f(p.cx)}" y="{_f(p.cy + 5.5)}" '
                'font-size="17" font-weight="bold">+</text>'
            )
        else:
            shape = (
                f'<rect {ident} x="{_f(p.cx - p.w / 2)}" y="{_f(p.top)}" width="{_f(p.w)}" '
                f'height="{_f(p.h)}" rx="4"/>'
            )
            for i, line in enumerate(_box_lines(n)):
                y = p.top + 18 + LINE * i
                self.labels.append(
                    f'<text data-of="{n.name}" x="{_f(p.cx)}" y="{_f(y)}">'
                    f"{html.escape(line)}</text>"
                )
        self.boxes.setdefault(n.kind, []).append(shape)

    def shape(self, n: Node, x: float, y: float) -> None:
        self.shapes.append(
            f'<text data-of="{n.name}" x="{_f(x)}" y="{_f(y)}">{shape_text(n.shape)}</text>'
        )

    def dot(self, x: float, y: float) -> None:
        self.dots.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="2.6"/>')

    def svg_parts(self, arrow_id: str) -> list[str]:
        parts = [
            f'<defs><marker id="{arrow_id}" viewBox="0 0 7 7" refX="7" refY="3.5" '
            'markerWidth="7" markerHeight="7" markerUnits="userSpaceOnUse" orient="auto">'
            '<path d="M0,0L7,3.5L0,7z" fill-opacity=".75"/></marker></defs>',
            f'<g class="edges" fill="none" stroke="currentColor" stroke-opacity=".75" '
            f'stroke-width="1.3" marker-end="url(#{arrow_id})">',
            *self.edges,
            '</g><g class="forks" fill-opacity=".75">',
            *self.dots,
            '</g><g class="boxes" fill-opacity=".22" stroke-width="1.4">',
        ]
        for kind, shapes in self.boxes.items():
            parts += [f'<g class="{kind}" {_kind_style(kind)}>', *shapes, "</g>"]
        return [
            *parts,
            f'</g><g class="shapes" font-size="{SMALL}" fill-opacity=".8">',
            *self.shapes,
            '</g><g class="labels" text-anchor="middle">',
            *self.labels,
            "</g>",
        ]


def _kind_style(kind: str) -> str:
    """The colours of a kind's boxes (input and output: a dashed outline in the text colour)."""
    if kind == "io":
        return 'fill="none" stroke="currentColor" stroke-opacity=".6" stroke-dasharray="4 3"'
    colour = KINDS[kind][0]
    return f'fill="{colour}" stroke="{colour}"'


@dataclass
class _Layout:
    graph: Graph
    main: list[str]
    paths: list[SidePath]
    places: dict[str, _Place] = field(default_factory=dict)
    lane_x: dict[int, float] = field(default_factory=dict)
    width: float = 0.0
    height: float = 0.0

    def rows(self) -> dict[str, int]:
        """Main nodes in order; a chain's nodes in the rows just above where it rejoins."""
        row = {name: i for i, name in enumerate(self.main)}
        for p in self.paths:
            for k, name in enumerate(p.chain):
                row[name] = row[p.dst] - len(p.chain) + k
        return row

    def place(self, top: float) -> None:
        g, row = self.graph, self.rows()
        heights = [0.0] * len(self.main)
        for n in g.nodes:
            heights[row[n.name]] = max(heights[row[n.name]], _box_height(n))
        tops = [top]
        for h in heights[:-1]:
            tops.append(tops[-1] + h + GAP)
        main_w = _box_width([g.node(n) for n in self.main])
        x = MARGIN + main_w
        centres = {0: MARGIN + main_w / 2}
        widths = {0: main_w}
        for lane in sorted({p.lane for p in self.paths}):
            chains = [g.node(c) for p in self.paths if p.lane == lane for c in p.chain]
            if chains:
                widths[lane] = _box_width(chains)
                centres[lane] = x + COLUMN_GAP + widths[lane] / 2
                x += COLUMN_GAP + widths[lane]
            else:
                x += LANE
                centres[lane] = x
        self.lane_x = centres
        lane_of = {c: p.lane for p in self.paths for c in p.chain}
        for n in g.nodes:
            r, lane = row[n.name], lane_of.get(n.name, 0)
            h = _box_height(n)
            w = 2 * RADIUS if n.lines == ("+",) else widths[lane]
            self.places[n.name] = _Place(centres[lane], tops[r] + (heights[r] - h) / 2, w, h)
        self.width = x + MARGIN
        self.height = tops[-1] + heights[-1] + MARGIN

    def draw(self, c: _Canvas) -> None:
        g, pl = self.graph, self.places
        for a, b in zip(self.main, self.main[1:], strict=False):
            pa, pb = pl[a], pl[b]
            c.line([(pa.cx, pa.bottom), (pa.cx, pb.top)], a, b)
            if _shows_shape(g.node(a)):
                c.shape(g.node(a), pa.cx + 6, pa.bottom + 11)
        for p in self.paths:
            self._draw_side(c, p)
        for n in g.nodes:
            c.node(n, pl[n.name])

    def _draw_side(self, c: _Canvas, p: SidePath) -> None:
        g, pl = self.graph, self.places
        src, dst = pl[p.src], pl[p.dst]
        fork_y, x = src.bottom + 18, self.lane_x[p.lane]
        entry = (dst.cx + dst.w / 2, dst.cy)
        c.dot(src.cx, fork_y)
        if not p.chain:
            c.line([(src.cx, fork_y), (x, fork_y), (x, dst.cy), entry], p.src, p.dst)
            return
        first = pl[p.chain[0]]
        c.line([(src.cx, fork_y), (x, fork_y), (x, first.top)], p.src, p.chain[0])
        for a, b in zip(p.chain, p.chain[1:], strict=False):
            c.line([(x, pl[a].bottom), (x, pl[b].top)], a, b)
        for a in p.chain:
            if _shows_shape(g.node(a)):
                c.shape(g.node(a), x + 6, pl[a].bottom + 11)
        last = pl[p.chain[-1]]
        c.line([(x, last.bottom), (x, dst.cy), entry], p.chain[-1], p.dst)


def _legend(kinds: list[str], width: float, y: float) -> tuple[list[str], float]:
    """Swatches for the kinds the figure uses, wrapped to ``width``; returns the parts and y."""
    items = [(k, KINDS[k][1]) for k in KINDS if k in kinds and k != "io"]
    items.append(("", "arrows: channels×height×width"))
    swatches, texts, x = [], [], MARGIN
    for kind, text in items:
        need = (16 if kind else 0) + text_width(text, SMALL) + 12
        if x + need > width - MARGIN and x > MARGIN:
            x, y = MARGIN, y + 16
        if kind:
            swatches.append(
                f'<rect x="{_f(x)}" y="{_f(y - 9)}" width="11" height="11" rx="2" '
                f"{_kind_style(kind)}/>"
            )
            x += 16
        texts.append(f'<text x="{_f(x)}" y="{_f(y)}">{html.escape(text)}</text>')
        x += text_width(text, SMALL) + 12
    parts = [
        '<g class="legend-swatches" fill-opacity=".22" stroke-width="1.4">',
        *swatches,
        f'</g><g class="legend" font-size="{SMALL}">',
        *texts,
        "</g>",
    ]
    return parts, y


def svg(graph: Graph, label: str = "block diagram") -> str:
    """The figure of ``graph`` as an inline SVG (text and lines in the page's colour).

    It is drawn at its natural size (labels ``FONT`` px) and never wider
    than its container; ``label`` is its accessible name.
    """
    return _render(graph, label)[0]


def _render(graph: Graph, label: str) -> tuple[str, float]:
    """The SVG and its natural width in px."""
    main = main_path(graph)
    layout = _Layout(graph, main, side_paths(graph, main))
    layout.place(0.0)
    width = max(layout.width, 300.0)
    legend, legend_bottom = _legend([n.kind for n in graph.nodes], width, 14.0)
    layout.place(legend_bottom + 16)
    canvas = _Canvas()
    layout.draw(canvas)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="block-diagram" '
        f'viewBox="0 0 {width:.0f} {layout.height:.0f}" width="100%" '
        f'style="max-width: {width:.0f}px" role="img" aria-label="{html.escape(label)}" '
        f'font-family="Roboto, Helvetica, Arial, sans-serif" font-size="{FONT:g}" '
        'fill="currentColor">'
    )
    arrow_id = f"block-arrow-{next(_figure_ids)}"  # unique on a page of many figures
    return "\n".join([head, *legend, *canvas.svg_parts(arrow_id), "</svg>"]), width


def figure(
    module: nn.Module,
    input_shape: tuple[int, ...],
    title: str,
    source: str,
    leaves: Sequence[type[nn.Module]] = (),
) -> str:
    """An HTML ``<figure>``: the block's SVG and a caption saying what it is drawn from."""
    graph = trace(module, input_shape, leaves)
    picture, width = _render(graph, title)
    caption = (
        f"<b>{html.escape(title)}</b>: drawn from the torch.fx graph of "
        f"<code>{html.escape(source)}</code> ({type(module).__name__}) "
        f"for one {shape_text(tuple(input_shape[1:]))} input."
    )
    return (
        f'<figure class="block-figure" style="margin: 0 auto 1em; width: {width:.0f}px; '
        f'max-width: 100%">{picture}<figcaption>{caption}</figcaption></figure>'
    )


def gallery(*figures: str) -> str:
    """Figures side by side where the column is wide enough, one above the other on a phone."""
    return (
        '<div class="block-gallery" style="display: flex; flex-wrap: wrap; gap: 0 1.5em; '
        'justify-content: center; align-items: flex-start">' + "".join(figures) + "</div>"
    )
