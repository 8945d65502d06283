"""The block figures are drawn from the models' own fx graphs.

Each test compares the picture (parsed back from its SVG) with what the
model does: the drawn nodes and arrows are the traced graph's, labels and
shapes follow the layers' settings, and changing the model changes the
picture.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import torch
import torchvision
from torch import fx, nn

from cnnbook import block_diagram as bd
from cnnbook.models import c3, cifar_resnet, preact_resnet, resnet

SVG = "{http://www.w3.org/2000/svg}"


def meta(build):
    with torch.device("meta"):
        return build()


class _Drawn:
    """What an SVG figure shows: nodes (kind, text), arrows, shape labels, boxes."""

    def __init__(self, svg: str) -> None:
        self.root = ET.fromstring(svg)
        layers = {g.get("class"): g for g in self.root.iter(f"{SVG}g")}
        self.nodes: dict[str, tuple[str, list[str]]] = {}
        self.boxes: dict[str, tuple[float, float, float, float]] = {}
        for kind_group in layers["boxes"]:
            for box in kind_group:
                self.nodes[box.get("data-name")] = (kind_group.get("class"), [])
                self.boxes[box.get("data-name")] = _bounds(box)
        for t in layers["labels"]:
            self.nodes[t.get("data-of")][1].append(t.text)
        self.edges = [
            (p.get("data-src"), p.get("data-dst"), _points(p.get("d"))) for p in layers["edges"]
        ]
        self.shapes = {t.get("data-of"): t.text for t in layers["shapes"]}
        self.legend = [t.text for t in layers["legend"]]

    @property
    def edge_set(self) -> set[tuple[str, str]]:
        return {(a, b) for a, b, _ in self.edges}

    def text(self, name: str) -> str:
        return " / ".join(self.nodes[name][1])

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.nodes.values()]

    @property
    def width(self) -> float:
        return float(self.root.get("viewBox").split()[2])


def _points(d: str) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in d.lstrip("M").split(" L")]


def _bounds(box) -> tuple[float, float, float, float]:
    """x0, y0, x1, y1 of a node's rect or circle."""
    if box.tag == f"{SVG}rect":
        x, y = float(box.get("x")), float(box.get("y"))
        return x, y, x + float(box.get("width")), y + float(box.get("height"))
    cx, cy, r = float(box.get("cx")), float(box.get("cy")), float(box.get("r"))
    return cx - r, cy - r, cx + r, cy + r


def drawn(module, input_shape, leaves=()) -> _Drawn:
    return _Drawn(bd.svg(bd.trace(module, input_shape, leaves)))


class _LeafTracer(fx.Tracer):
    """The test's own tracer: torch.fx's, stopping at the given module types."""

    def __init__(self, leaves):
        super().__init__()
        self.leaves = leaves

    def is_leaf_module(self, m, qualname):
        return isinstance(m, self.leaves) or super().is_leaf_module(m, qualname)


def fx_edges(module, leaves=()) -> tuple[set[str], set[tuple[str, str]]]:
    """Node names and (producer, consumer) pairs straight from torch.fx."""
    graph = _LeafTracer((resnet.PadShortcut, *leaves)).trace(module)
    names = {n.name for n in graph.nodes}
    return names, {(i.name, n.name) for n in graph.nodes for i in n.all_input_nodes}


CASES = {
    "basic": (lambda: resnet.BasicBlock(64, 64), (1, 64, 56, 56), ()),
    "bottleneck, projection": (lambda: resnet.resnet50().layer2[0], (1, 256, 56, 56), ()),
    "option A": (lambda: cifar_resnet.cifar_resnet20().layer2[0], (1, 16, 32, 32), ()),
    "option B": (
        lambda: cifar_resnet.cifar_resnet20(shortcut="B").layer2[0],
        (1, 16, 32, 32),
        (),
    ),
    "pre-activation": (
        lambda: preact_resnet.cifar_preact_resnet20().layer2[0],
        (1, 16, 32, 32),
        (),
    ),
    "C3": (lambda: c3.C3(64, 64, n=2), (1, 64, 16, 16), (c3.ConvBNAct,)),
    "ResNet-50 stages": (lambda: resnet.resnet50(), (1, 3, 224, 224), (nn.Sequential,)),
}


@pytest.mark.parametrize("case", CASES)
def test_drawn_nodes_and_arrows_are_the_fx_graph(case):
    build, shape, leaves = CASES[case]
    module = meta(build)
    picture = drawn(module, shape, leaves)
    names, edges = fx_edges(module, leaves)
    assert set(picture.nodes) == names
    assert picture.edge_set == edges
    assert len(picture.edges) == len(edges), "each arrow is drawn once"


@pytest.mark.parametrize("case", CASES)
def test_arrows_join_their_boxes_and_boxes_do_not_overlap(case):
    build, shape, leaves = CASES[case]
    picture = drawn(meta(build), shape, leaves)
    for src, dst, points in picture.edges:
        x0, y0, x1, y1 = picture.boxes[dst]
        end_x, end_y = points[-1]
        on_top = abs(end_y - y0) < 0.2 and x0 <= end_x <= x1
        on_right = abs(end_x - x1) < 0.2 and y0 <= end_y <= y1
        assert on_top or on_right, f"{src} -> {dst} ends at {points[-1]}, not on its box"
        sx0, _, sx1, sy1 = picture.boxes[src]
        start_x, start_y = points[0]
        assert sx0 <= start_x <= sx1 and start_y >= sy1 - 0.2, f"{src} -> {dst} starts off {src}"
    boxes = list(picture.boxes.items())
    for i, (a, (ax0, ay0, ax1, ay1)) in enumerate(boxes):
        for b, (bx0, by0, bx1, by1) in boxes[i + 1 :]:
            apart = ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0
            assert apart, f"boxes {a} and {b} overlap"


def test_basic_block_shows_its_layers_and_the_identity_shortcut():
    picture = drawn(meta(lambda: resnet.BasicBlock(64, 64)), (1, 64, 56, 56))
    assert [picture.text(n) for n in ("conv1", "bn1", "relu", "conv2", "add", "relu_1")] == [
        "3×3 conv, 64", "BN", "ReLU", "3×3 conv, 64", "+", "ReLU"
    ]  # fmt: skip
    assert picture.text("x") == "input 64×56×56"
    # The shortcut: one arrow from the input straight into the addition, around the branch.
    (skip,) = [p for a, b, p in picture.edges if (a, b) == ("x", "add")]
    assert max(x for x, _ in skip) > picture.boxes["conv1"][2], "drawn beside the branch"
    assert picture.shapes["add"] == "64×56×56"


def test_dropping_the_shortcut_removes_it_from_the_picture():
    """The plain block of the degradation experiment: same layers, no addition."""
    plain = drawn(meta(lambda: resnet.BasicBlock(64, 64, residual=False)), (1, 64, 56, 56))
    assert "merge" not in plain.kinds()
    assert ("x", "add") not in plain.edge_set
    assert all(len(points) == 2 for _, _, points in plain.edges), "a single straight column"

    class Forgetful(resnet.BasicBlock):  # a forward that forgets to add x back
        def forward(self, x):
            return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))

    assert drawn(meta(lambda: Forgetful(64, 64)), (1, 64, 56, 56)).edge_set == plain.edge_set


def test_a_stride_changes_the_labels_and_the_shapes():
    def block(stride):
        down = resnet.make_shortcut("B", 64, 128, stride)
        return resnet.BasicBlock(64, 128, stride, down)

    two = drawn(meta(lambda: block(2)), (1, 64, 56, 56))
    one = drawn(meta(lambda: block(1)), (1, 64, 56, 56))
    assert two.text("conv1") == "3×3 conv, 128, stride 2"
    assert two.text("downsample_0") == "1×1 conv, 128, stride 2"
    assert two.shapes["conv1"] == two.shapes["add"] == "128×28×28"
    assert one.text("conv1") == "3×3 conv, 128"
    assert one.text("downsample_0") == "1×1 conv, 128"
    assert one.shapes["add"] == "128×56×56"


def test_options_a_and_b_differ_only_in_the_shortcut():
    a = drawn(meta(lambda: cifar_resnet.cifar_resnet20().layer2[0]), (1, 16, 32, 32))
    b = drawn(meta(lambda: cifar_resnet.cifar_resnet20(shortcut="B").layer2[0]), (1, 16, 32, 32))
    assert a.nodes["downsample"] == ("pad", ["identity, stride 2", "+ 16 zero channels"])
    assert a.shapes["downsample"] == "32×16×16"
    assert b.text("downsample_0") == "1×1 conv, 32, stride 2" and b.text("downsample_1") == "BN"
    branch = {n: v for n, v in a.nodes.items() if not n.startswith("downsample")}
    assert branch == {n: v for n, v in b.nodes.items() if not n.startswith("downsample")}


def test_bottleneck_v1_and_v1_5_put_the_stride_where_the_model_does():
    v15 = drawn(meta(lambda: resnet.resnet50().layer2[0]), (1, 256, 56, 56))
    v1 = drawn(meta(lambda: resnet.resnet50(variant="v1").layer2[0]), (1, 256, 56, 56))
    assert (v15.text("conv1"), v15.text("conv2")) == ("1×1 conv, 128", "3×3 conv, 128, stride 2")
    assert (v1.text("conv1"), v1.text("conv2")) == ("1×1 conv, 128, stride 2", "3×3 conv, 128")
    assert v1.shapes["conv1"] == "128×28×28" and v15.shapes["conv1"] == "128×56×56"


def test_pre_activation_block_has_nothing_after_the_addition():
    picture = drawn(meta(lambda: preact_resnet.PreActBasicBlock(16, 16)), (1, 16, 8, 8))
    assert ("add", "output") in picture.edge_set
    assert [picture.text(n) for n in ("bn1", "relu", "conv1")] == ["BN", "ReLU", "3×3 conv, 16"]


def test_c3_draws_two_branches_a_concatenation_and_the_switch():
    picture = drawn(meta(lambda: c3.C3(64, 64, n=2)), (1, 64, 16, 16), (c3.ConvBNAct,))
    assert picture.text("cv2") == "1×1 conv, 32 / BN · SiLU"
    assert picture.text("cat") == "concat" and picture.shapes["cat"] == "64×16×16"
    assert {("add_1", "cat"), ("cv2", "cat")} <= picture.edge_set
    assert picture.kinds().count("merge") == 3  # two residual additions and the concat
    plain = drawn(
        meta(lambda: c3.C3(64, 64, n=2, shortcut=False)), (1, 64, 16, 16), (c3.ConvBNAct,)
    )
    assert plain.kinds().count("merge") == 1


def test_c3_lanes_nest_the_long_branch_outside_the_shortcuts():
    graph = bd.trace(meta(lambda: c3.C3(64, 64, n=2)), (1, 64, 16, 16), (c3.ConvBNAct,))
    paths = bd.side_paths(graph, bd.main_path(graph))
    lanes = {(p.src, p.dst): (p.lane, p.chain) for p in paths}
    assert lanes == {
        ("cv1", "add"): (1, []), ("add", "add_1"): (1, []), ("x", "cat"): (2, ["cv2"])
    }  # fmt: skip


def test_resnet50_stages_are_read_from_the_model():
    model = meta(lambda: resnet.resnet50())
    picture = drawn(model, (1, 3, 224, 224), (nn.Sequential,))
    stages = [n for n, (kind, _) in picture.nodes.items() if kind == "stage"]
    assert stages == ["layer1", "layer2", "layer3", "layer4"]
    params = [sum(p.numel() for p in getattr(model, s).parameters()) for s in stages]
    assert params[1] == 1_219_584
    assert [picture.nodes[s][1] for s in stages] == [
        [
            f"{s}: {n} × Bottleneck, {p / 1e6:.2f}M params" if p >= 1e6
            else f"{s}: {n} × Bottleneck, {p / 1e3:.1f}k params",
            f"1×1, {w} · 3×3, {w} · 1×1, {4 * w}",
            f"first: stride {1 if s == 'layer1' else 2}, projection shortcut",
        ]
        for s, n, w, p in zip(stages, (3, 4, 6, 3), (64, 128, 256, 512), params, strict=True)
    ]  # fmt: skip
    assert [picture.shapes[s] for s in stages] == [
        "256×56×56", "512×28×28", "1024×14×14", "2048×7×7"
    ]  # fmt: skip
    assert picture.text("conv1") == "7×7 conv, 64, stride 2"
    assert picture.text("maxpool") == "3×3 max pool, stride 2"
    # torchvision's own ResNet-50 gives the same figure.
    with torch.device("meta"):
        tv = torchvision.models.resnet50(weights=None)
    assert drawn(tv, (1, 3, 224, 224), (nn.Sequential,)).nodes == picture.nodes


def test_stage_reads_option_a_and_identity_shortcuts():
    net = meta(lambda: cifar_resnet.cifar_resnet20())
    picture = drawn(net, (1, 3, 32, 32), (nn.Sequential,))
    assert picture.nodes["layer1"][1][2] == "first: stride 1, identity shortcut"
    assert picture.nodes["layer2"][1][2] == "first: stride 2, zero-padding shortcut"


def test_a_branching_side_path_is_refused():
    class Forked(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 1), nn.ReLU()

        def forward(self, x):
            y = self.a(x)  # y feeds two nodes off the main path
            return self.c(self.c(self.c(self.c(x)))) + self.b(y) + y.relu()

    graph = bd.trace(Forked(), (1, 4, 5, 5))
    with pytest.raises(ValueError, match="simple chain"):
        bd.side_paths(graph, bd.main_path(graph))


def test_figure_is_legible_on_a_phone_and_says_what_it_is_drawn_from():
    """Natural width at most 390 px: a phone shows the labels at (nearly) full size."""
    for case, (build, shape, leaves) in CASES.items():
        assert drawn(meta(build), shape, leaves).width <= 390, case
    html = bd.figure(
        meta(lambda: resnet.BasicBlock(64, 64)), (1, 64, 56, 56), "BasicBlock", "BasicBlock(64, 64)"
    )
    assert "<code>BasicBlock(64, 64)</code>" in html and "64×56×56 input" in html
    assert "torch.fx" in html and html.count("<svg") == 1
    picture = _Drawn(html.split("<figure", 1)[1].split(">", 1)[1].split("<figcaption")[0])
    assert picture.legend == ["convolution", "batch norm", "activation", "add / concatenate"] + [
        "arrows: channels×height×width"
    ]
