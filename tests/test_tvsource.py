"""The drift guard of the "Inside torchvision" pages, and its source helpers."""

from __future__ import annotations

import ast
import inspect
import os
import re
from pathlib import Path

import pytest
import torch
import torchvision
from torchvision.models import resnet as tv_resnet
from torchvision.models import vgg as tv_vgg

from cnnbook import tvsource

VGG_INIT = "torchvision.models.vgg.VGG.__init__"


def test_every_walked_object_matches_the_installed_source():
    drifts = tvsource.check_drift()
    assert drifts == [], "\n".join(d.message for d in drifts)


def test_the_table_covers_exactly_the_objects_the_pages_walk():
    walked = [name for names in tvsource.PAGES.values() for name in names]
    assert len(walked) == len(set(walked))
    assert set(walked) == set(tvsource.WALKED)


def _altered(name_to_change: str, old: str, new: str):
    def get_source(name: str) -> str:
        text = tvsource.source(name)
        if name == name_to_change:
            assert old in text, f"test setup: {old!r} not in {name}"
            text = text.replace(old, new)
        return text

    return get_source


def test_a_changed_constant_is_reported_naming_the_function():
    reader = _altered(
        VGG_INIT, "nn.init.normal_(m.weight, 0, 0.01)", "nn.init.normal_(m.weight, 0, 0.02)"
    )
    drifts = tvsource.check_drift(get_source=reader)
    assert [d.name for d in drifts] == [VGG_INIT]
    message = drifts[0].message
    assert VGG_INIT in message
    assert "Review the explanation" in message
    assert tvsource.WALKED[VGG_INIT][1] in message


def test_a_moved_stride_is_reported():
    # The very change the ResNet page explains: stride on conv1 instead of conv2.
    name = "torchvision.models.resnet.Bottleneck"
    reader = _altered(
        name,
        "self.conv1 = conv1x1(inplanes, width)",
        "self.conv1 = conv1x1(inplanes, width, stride)",
    )
    assert [d.name for d in tvsource.check_drift(get_source=reader)] == [name]


def test_a_changed_cfg_is_reported():
    name = "torchvision.models.vgg.cfgs"
    reader = _altered(name, '"A": [64, "M", 128,', '"A": [64, "M", 256,')
    assert [d.name for d in tvsource.check_drift(get_source=reader)] == [name]


CODE_ONLY = [  # objects without multi-line strings, so blank lines can go anywhere
    VGG_INIT,
    "torchvision.models.vgg.make_layers",
    "torchvision.models.resnet.Bottleneck",
    "torchvision.models.resnet.ResNet._make_layer",
]


def test_formatting_comments_and_docstrings_are_not_drift():
    def reformatted(name: str) -> str:
        text = tvsource.source(name)
        lines = [
            line + "   # a new comment" if line.rstrip().endswith(":") else line
            for line in text.splitlines()
        ]
        return "\n\n".join(lines) + "\n"

    walked = {name: tvsource.WALKED[name] for name in CODE_ONLY}
    assert reformatted(VGG_INIT) != tvsource.source(VGG_INIT)
    assert tvsource.check_drift(walked, get_source=reformatted) == []

    name = "torchvision.models.vgg.vgg16"
    redoc = _altered(name, "VGG-16 from", "The sixteen-layer VGG from")
    assert tvsource.check_drift(get_source=redoc) == []


def test_a_function_replaced_in_torchvision_is_reported(monkeypatch):
    # Goes through the real reader (inspect.getsource) on a patched module.
    def make_layers(cfg, batch_norm=False):
        layers = []
        for v in cfg:
            layers.append(torch.nn.Conv2d(3, v, kernel_size=5))
        return torch.nn.Sequential(*layers)

    monkeypatch.setattr(tv_vgg, "make_layers", make_layers)
    drifts = tvsource.check_drift()
    assert [d.name for d in drifts] == ["torchvision.models.vgg.make_layers"]
    with pytest.raises(AssertionError, match="torchvision.models.vgg.make_layers"):
        tvsource.assert_no_drift()


def test_a_removed_object_is_reported(monkeypatch):
    monkeypatch.delattr(tv_resnet, "conv1x1")
    drifts = tvsource.check_drift({"torchvision.models.resnet.conv1x1": ("0" * 64, "0.29.1")})
    assert len(drifts) == 1
    assert drifts[0].reason == "no longer exists"
    assert "torchvision.models.resnet.conv1x1 no longer exists" in drifts[0].message


def test_assert_no_drift_passes_now_and_fails_on_a_wrong_record():
    tvsource.assert_no_drift()
    wrong = {VGG_INIT: ("0" * 64, "0.29.1")}
    with pytest.raises(AssertionError, match=r"VGG\.__init__ has changed"):
        tvsource.assert_no_drift(wrong)


def test_record_gives_the_current_fingerprint_and_version():
    # A torchvision release that leaves these sources alone is no drift: only
    # the fingerprints must match, the version says what the prose was written for.
    for name, (digest, _) in tvsource.WALKED.items():
        assert tvsource.record(name) == (digest, tvsource.version_of(name))


def test_source_is_the_live_source():
    assert tvsource.source("torchvision.models.resnet.conv1x1") == inspect.getsource(
        tv_resnet.conv1x1
    )
    # a decorated builder: the builder's own lines, decorators included
    text = tvsource.source("torchvision.models.vgg.vgg16")
    assert text.startswith("@register_model()")
    assert 'return _vgg("D", False, weights, progress, **kwargs)' in text


def test_module_level_values_come_from_their_assignment():
    text = tvsource.source("torchvision.models.vgg.cfgs")
    node = ast.parse(text).body[0]
    assert isinstance(node, ast.AnnAssign)
    assert ast.literal_eval(node.value) == tv_vgg.cfgs
    with pytest.raises(LookupError):
        tvsource.locate("torchvision.models.vgg.no_such_name")


def test_show_gives_caption_html_and_text():
    code = tvsource.show("torchvision.models.resnet.conv3x3")
    loc = code.located
    lines, first = inspect.getsourcelines(tv_resnet.conv3x3)
    assert (loc.first_line, loc.last_line) == (first, first + len(lines) - 1)
    assert code.caption.startswith("torchvision.models.resnet.conv3x3 - torchvision ")
    assert "torchvision/models/resnet.py" in code.caption
    assert os.sep + "work" not in code.caption  # no install path on the page
    html = code._repr_html_()
    assert 'class="language-python highlight"' in html
    assert "conv3x3" in html and "<span" in html
    # The stylesheet fits the font to the longest line, which the listing states.
    longest = max(len(line) for line in inspect.getsource(tv_resnet.conv3x3).splitlines())
    assert code.columns == longest > 88
    assert f'<div class="cnnbook-listing" style="--cnnbook-columns: {longest}">' in html
    assert "def conv3x3(" in repr(code)


def test_literal_calls_and_legacy_default_read_the_builders():
    assert tvsource.literal_calls("torchvision.models.vgg.vgg11_bn", "_vgg") == [
        ("A", True, "weights", "progress")
    ]
    assert tvsource.literal_calls("torchvision.models.resnet.resnet34", "_resnet") == [
        ("BasicBlock", [3, 4, 6, 3], "weights", "progress")
    ]
    assert tvsource.legacy_default("torchvision.models.resnet.resnet50") == {
        "pretrained": "ResNet50_Weights.IMAGENET1K_V1"
    }


def test_no_downloads_refuses_and_restores(tmp_path):
    original = torch.hub.download_url_to_file
    with tvsource.no_downloads(), pytest.raises(RuntimeError, match="refusing to download"):
        torch.hub.load_state_dict_from_url(
            "https://example.invalid/x-0123abcd.pth", model_dir=str(tmp_path)
        )
    assert torch.hub.download_url_to_file is original


def test_torch_home_points_the_hub_and_restores(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", "/somewhere/else")
    with tvsource.torch_home(tmp_path):
        assert torch.hub.get_dir() == os.path.join(str(tmp_path), "hub")
    assert os.environ["TORCH_HOME"] == "/somewhere/else"


def test_version_of_strips_the_local_build_tag():
    assert tvsource.version_of("torchvision.models") == torchvision.__version__.split("+")[0]


@pytest.mark.parametrize(
    ("page", "path"),
    [("vgg", "docs/vgg/inside-torchvision.py"), ("resnet", "docs/resnet/inside-torchvision.py")],
)
def test_every_listing_on_a_page_is_drift_protected(page, path):
    text = (Path(__file__).resolve().parent.parent / path).read_text(encoding="utf-8")
    shown = re.findall(r'tvsource\.show\("([^"]+)"\)', text)
    assert shown, f"{path} shows no source"
    missing = [name for name in shown if name not in tvsource.PAGES[page]]
    assert missing == [], f"{path} shows unprotected source: {missing}"
    assert f'tvsource.check_drift(tvsource.page_entries("{page}"))' in text
