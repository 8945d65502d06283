"""The architecture diagram is drawn from the model's own forward pass."""

import xml.etree.ElementTree as ET

import pytest
import torch
import torchvision
from torch import nn

from cnnbook import diagram, models
from cnnbook.models import vgg_by_hand  # noqa: F401  (registers the model)

SVG = "{http://www.w3.org/2000/svg}"


def meta(name, **kw):
    with torch.device("meta"):
        return models.create(name, **kw)


def conv_counts(groups):
    return [len(g.convs) for g in groups if g.kind == "conv"]


def test_vgg16_by_hand_has_five_blocks_a_pool_and_three_fc():
    groups = diagram.stages(
        diagram.trace_layers(meta("vgg16_by_hand", num_classes=3), (1, 3, 224, 224))
    )
    assert [g.kind for g in groups] == ["conv"] * 5 + ["pool"] + ["fc"] * 3
    assert conv_counts(groups) == [2, 2, 3, 3, 3]
    assert [g.conv_shape()[1:] for g in groups[:5]] == [
        (64, 224, 224), (128, 112, 112), (256, 56, 56), (512, 28, 28), (512, 14, 14)
    ]  # fmt: skip
    assert groups[4].output_shape == (1, 512, 7, 7)
    assert [g.params for g in groups[-3:]] == [102_764_544, 16_781_312, 12_291]
    assert sum(g.params for g in groups) == 134_272_835


def test_same_stages_for_torchvision_vgg16():
    with torch.device("meta"):
        tv = torchvision.models.vgg16(weights=None, init_weights=False)
    ours = diagram.stages(diagram.trace_layers(meta("vgg16_by_hand"), (1, 3, 224, 224)))
    theirs = diagram.stages(diagram.trace_layers(tv, (1, 3, 224, 224)))
    assert [g.label() for g in ours] == [g.label() for g in theirs]
    assert [g.output_shape for g in ours] == [g.output_shape for g in theirs]


def test_labels_follow_the_config():
    groups = diagram.stages(diagram.trace_layers(meta("vgg_c"), (1, 3, 224, 224)))
    assert conv_counts(groups) == [2, 2, 3, 3, 3]
    assert groups[2].label() == "2 × conv3×3, 256 + 1 × conv1×1, 256"
    assert conv_counts(diagram.stages(diagram.trace_layers(meta("vgg11"), (1, 3, 64, 64)))) == [
        1, 1, 2, 2, 2
    ]  # fmt: skip


def test_svg_is_valid_and_shows_shapes():
    svg = diagram.architecture_svg(meta("vgg16_by_hand", num_classes=3), title="VGG-16")
    root = ET.fromstring(svg)
    rects = [r for r in root.iter(f"{SVG}rect") if "stage" in r.get("class", "")]
    assert len(rects) == 9
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "VGG-16" in texts
    assert "224×224×64" in texts and "→ 7×7" in texts and "7×7×512" in texts
    assert "102.8M params" in texts and "38.7k params" in texts
    assert "2 × conv3×3" in texts and "25,088 →" in texts
    # Box height follows the feature map: block 1 is taller than block 5.
    heights = [float(r.get("height")) for r in rects]
    assert heights[0] > heights[1] > heights[2] > heights[3] > heights[4]


def _labels_by_column(root):
    """Label lines grouped by their column's centre."""
    columns = {}
    for t in root.iter(f"{SVG}text"):
        if t.get("class") == "label":
            columns.setdefault(float(t.get("x")), []).append(t.text)
    return sorted(columns.items())


@pytest.mark.parametrize("name", ["vgg16_by_hand", "vgg_c", "vgg19", "vgg_a_lrn"])
def test_labels_are_legible_at_the_column_width_and_do_not_overlap(name):
    svg = diagram.architecture_svg(meta(name), title=name)
    root = ET.fromstring(svg)
    view_width = float(root.get("viewBox").split()[2])
    # Shown at the 800-px text column, the labels are at least 11 px high.
    assert diagram.FONT * 800 / view_width >= 11
    assert root.get("width") == "100%"
    columns = _labels_by_column(root)
    for (x1, lines1), (x2, lines2) in zip(columns, columns[1:], strict=False):
        half1 = max(diagram.text_width(t) for t in lines1) / 2
        half2 = max(diagram.text_width(t) for t in lines2) / 2
        assert x2 - x1 >= half1 + half2, f"labels of columns at {x1} and {x2} overlap"


def test_legend_and_theme_colours():
    svg = diagram.architecture_svg(meta("vgg11"))
    root = ET.fromstring(svg)
    legend = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "legend"]
    assert legend[:3] == [text for _, text in diagram._LEGEND]
    assert "input 224×224×3" in legend
    # Text takes the page's colour, and nothing paints a background slab.
    assert root.get("fill") == "currentColor"
    assert "#fff" not in svg.lower() and "white" not in svg


def test_input_size_changes_the_picture():
    net = meta("vgg16_by_hand")
    small = diagram.architecture_svg(net, (1, 3, 64, 64))
    assert "64×64×64" in small and "224×224×64" not in small


def test_works_on_real_weights_and_restores_train_mode():
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 2)
    )
    net.train()
    svg = diagram.architecture_svg(net, (1, 1, 8, 8))
    assert net.training
    assert "1 × conv3×3, 4" in svg and "64 → 2" in svg


def test_model_without_layers_is_rejected():
    with pytest.raises(ValueError, match="no Conv2d or Linear"):
        diagram.architecture_svg(nn.Sequential(nn.ReLU()), (1, 3, 8, 8))
