"""Every factual claim of the two "Inside torchvision" pages, checked on the installed torchvision.

The pages compute their numbers at build time; their prose, though, states
facts about torchvision's code (where a stride sits, what a default is, what
an init constant is). Each such statement is asserted here, so that a
torchvision release that changes one fails CI instead of leaving the prose
wrong. Numbers published in torchvision's metadata are asserted exactly.
"""

from __future__ import annotations

import ast
import copy
import inspect
import math
import os
import pickle
import warnings

import pytest
import torch
import torchvision
from skimage import data as skdata
from torch import nn
from torchvision.models import resnet as tv_resnet
from torchvision.models import vgg as tv_vgg
from torchvision.models._utils import _ovewrite_named_param
from torchvision.models.feature_extraction import create_feature_extractor
from torchvision.transforms import InterpolationMode

from cnnbook import tvsource
from cnnbook.analysis import complexity
from cnnbook.analysis.torchvision_facts import meta_model, meta_shapes
from cnnbook.analysis.torchvision_facts import resnet as resnet_facts
from cnnbook.analysis.torchvision_facts import vgg as vgg_facts
from cnnbook.analysis.torchvision_facts import weights as weight_facts

VGG_BUILDERS = ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]
RESNET_BUILDERS = [n for n in tv_resnet.__all__ if n[0].islower()]


def _code(name: str) -> str:
    return tvsource.normalise(tvsource.source(name))


def _calls(name: str, func: str) -> list[ast.Call]:
    tree = ast.parse(tvsource.source(name))
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and ast.unparse(n.func).split(".")[-1] == func
    ]


def macs_without_bias(model: nn.Module, size: int) -> tuple[int, int]:
    """(multiply-adds of conv and linear layers, bias additions), counted on the meta device.

    A second route on purpose: a closed form per layer, against which the
    package's torchinfo-based counts (what the pages print) are asserted.
    """
    counts = [0, 0]

    def hook(mod, inputs, out):
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            counts[0] += out.numel() * k
            counts[1] += out.numel() if mod.bias is not None else 0
        elif isinstance(mod, nn.Linear):
            counts[0] += out.numel() * mod.in_features
            counts[1] += out.numel() if mod.bias is not None else 0

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    model(torch.empty(1, 3, size, size, device="meta"))
    for h in handles:
        h.remove()
    return counts[0], counts[1]


# ======================================================================
# vgg.py


def test_vgg_constructor_defaults_and_dropout():
    params = inspect.signature(tv_vgg.VGG.__init__).parameters
    assert params["num_classes"].default == 1000
    assert params["init_weights"].default is True
    assert params["dropout"].default == 0.5
    assert vgg_facts.constructor_defaults() == {
        "num_classes": 1000,
        "init_weights": True,
        "dropout": 0.5,
    }
    model = meta_model(tv_vgg.vgg16, init_weights=False)
    assert vgg_facts.classifier_dropouts(model) == [0.5, 0.5]
    assert nn.Dropout().p == 0.5  # the old hard-wired nn.Dropout() had the same p


def test_vgg_structure_avgpool_and_classifier():
    model = meta_model(tv_vgg.vgg16, init_weights=False)
    assert [name for name, _ in model.named_children()] == ["features", "avgpool", "classifier"]
    assert isinstance(model.avgpool, nn.AdaptiveAvgPool2d)
    assert model.avgpool.output_size == (7, 7)
    kinds = [type(m) for m in model.classifier]
    assert kinds == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert model.classifier[0].in_features == 512 * 7 * 7 == 25088
    # most parameters sit in the classifier, a small share of the arithmetic
    assert complexity.count_params(model.classifier) > 0.8 * complexity.count_params(model)
    budget = {name: (n, share) for name, _, n, share in vgg_facts.part_budget(model)}
    assert budget["classifier"][1] > 0.8
    assert budget["avgpool"] == (0, 0.0)
    assert budget["total"] == (138357544, 1.0)
    assert sum(n for name, (n, _) in budget.items() if name != "total") == 138357544
    macs, _ = macs_without_bias(model, 224)
    cls_macs = sum(
        m.in_features * m.out_features for m in model.classifier if isinstance(m, nn.Linear)
    )
    assert cls_macs < 0.01 * macs


def test_vgg_forward_is_features_avgpool_flatten_classifier():
    assert "torch.flatten(x, 1)" in _code("torchvision.models.vgg.VGG.forward")
    lines = [ln.strip() for ln in _code("torchvision.models.vgg.VGG.forward").splitlines()[1:]]
    assert lines == [
        "x = self.features(x)",
        "x = self.avgpool(x)",
        "x = torch.flatten(x, 1)",
        "x = self.classifier(x)",
        "return x",
    ]


def test_vgg_init_constants_in_the_source():
    code = _code("torchvision.models.vgg.VGG.__init__")
    assert "nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')" in code
    assert "nn.init.normal_(m.weight, 0, 0.01)" in code
    assert "nn.init.constant_(m.weight, 1)" in code  # batch norm weight
    assert code.count("nn.init.constant_(m.bias, 0)") == 3  # conv, BN and linear biases
    bn = nn.BatchNorm2d(8)  # the BN branch repeats PyTorch's own defaults
    assert bool((bn.weight == 1).all()) and bool((bn.bias == 0).all())


@pytest.mark.slow
def test_vgg_init_measured_on_a_fresh_model():
    torch.manual_seed(0)
    model = tv_vgg.vgg11()
    stats = vgg_facts.init_stats(model)
    assert [s.kind for s in stats] == ["Conv2d"] * 8 + ["Linear"] * 3
    for s in stats:
        assert abs(s.deviation) < 0.05, s
        assert s.max_abs_bias == 0.0
    assert [s.expected_std for s in stats[-3:]] == [0.01] * 3
    assert stats[0].expected_std == math.sqrt(2 / (64 * 9))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            expected = math.sqrt(2 / (m.out_channels * 9))
            assert abs(m.weight.std().item() / expected - 1) < 0.05
            assert bool((m.bias == 0).all())
        elif isinstance(m, nn.Linear):
            assert abs(m.weight.std().item() / 0.01 - 1) < 0.02
            assert abs(m.weight.mean().item()) < 1e-3
            assert bool((m.bias == 0).all())
    # PyTorch's own conv default is much smaller than He init (the page's contrast)
    conv = nn.Conv2d(256, 256, 3)
    assert conv.weight.std().item() < 0.5 * math.sqrt(2 / (256 * 9))
    contrast = vgg_facts.pytorch_default_contrast(256)
    assert contrast["he_std"] == math.sqrt(2 / (256 * 9))
    assert contrast["uniform_bound"] == 1 / math.sqrt(256 * 9)
    # uniform on +-b has std b / sqrt(3)
    assert abs(contrast["default_std"] / (contrast["uniform_bound"] / math.sqrt(3)) - 1) < 0.02
    assert contrast["default_std"] < 0.5 * contrast["he_std"]


def test_vgg_cfgs_are_the_papers_a_b_d_e():
    assert tv_vgg.cfgs == {
        "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
        "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
        "D": [
            64,
            64,
            "M",
            128,
            128,
            "M",
            256,
            256,
            256,
            "M",
            512,
            512,
            512,
            "M",
            512,
            512,
            512,
            "M",
        ],
        "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M"]
        + [512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
    }
    for cfg in tv_vgg.cfgs.values():
        assert cfg.count("M") == 5  # five halvings: 224 -> 7, 32 -> 1
        assert {type(v) for v in cfg} == {int, str}
        assert {v for v in cfg if isinstance(v, str)} == {"M"}
    assert vgg_facts.cfg_tokens() == ["'M'", "int"]
    assert vgg_facts.cfg_table() == [
        ("A", "vgg11, vgg11_bn", 8, 5, 11),
        ("B", "vgg13, vgg13_bn", 10, 5, 13),
        ("D", "vgg16, vgg16_bn", 13, 5, 16),
        ("E", "vgg19, vgg19_bn", 16, 5, 19),
    ]
    assert vgg_facts.kernel_sizes(meta_model(tv_vgg.vgg16, init_weights=False)) == {(3, 3)}


@pytest.mark.parametrize("builder", VGG_BUILDERS)
def test_vgg_builder_uses_the_cfg_its_name_says(builder):
    depth = int(builder[3:5])
    batch_norm = builder.endswith("_bn")
    ((key, bn, *_),) = tvsource.literal_calls(f"torchvision.models.vgg.{builder}", "_vgg")
    assert bn is batch_norm
    assert sum(1 for v in tv_vgg.cfgs[key] if v != "M") + 3 == depth
    # and the built model agrees with the reading of the source
    model = meta_model(getattr(tv_vgg, builder), init_weights=False)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert len(convs) + 3 == depth
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.features) is batch_norm
    assert vgg_facts.builder_cfgs()[builder] == (key, batch_norm)


def test_make_layers_vocabulary_has_no_1x1_and_no_lrn():
    features = tv_vgg.make_layers([8, "M", 8], batch_norm=True)
    convs = [m for m in features if isinstance(m, nn.Conv2d)]
    pools = [m for m in features if isinstance(m, nn.MaxPool2d)]
    assert {(c.kernel_size, c.padding) for c in convs} == {((3, 3), (1, 1))}
    assert [(p.kernel_size, p.stride) for p in pools] == [(2, 2)]
    assert [type(m) for m in features] == [
        nn.Conv2d,
        nn.BatchNorm2d,
        nn.ReLU,
        nn.MaxPool2d,
        nn.Conv2d,
        nn.BatchNorm2d,
        nn.ReLU,
    ]
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in features)
    assert "kernel_size=3" in _code("torchvision.models.vgg.make_layers")


def test_vgg_with_weights_skips_init_and_checks_num_classes_first():
    code = _code("torchvision.models.vgg._vgg")
    assert "kwargs['init_weights'] = False" in code
    assert "if weights.meta['categories'] is not None" in code

    kwargs = {}
    _ovewrite_named_param(kwargs, "num_classes", 1000)
    assert kwargs == {"num_classes": 1000}
    kwargs = {"num_classes": 1000}
    _ovewrite_named_param(kwargs, "num_classes", 1000)
    assert kwargs == {"num_classes": 1000}
    with pytest.raises(ValueError, match="expected value 1000 but got 10"):
        _ovewrite_named_param({"num_classes": 10}, "num_classes", 1000)
    # before any download: this must fail without touching the network
    with tvsource.no_downloads(), pytest.raises(ValueError, match="expected value 1000 but got 10"):
        tv_vgg.vgg16(weights=tv_vgg.VGG16_Weights.IMAGENET1K_V1, num_classes=10)
    assert "expected value 1000 but got 10" in vgg_facts.weights_with_wrong_classes()
    cases = vgg_facts.ovewrite_cases()
    assert [given for given, _ in cases] == [{}, {"num_classes": 1000}, {"num_classes": 10}]
    assert [outcome for _, outcome in cases[:2]] == ["{'num_classes': 1000}"] * 2
    assert (
        cases[2][1].startswith("ValueError: ") and "expected value 1000 but got 10" in cases[2][1]
    )


VGG_META = {  # exact figures of torchvision's metadata quoted by the page's tables
    "VGG11_Weights.IMAGENET1K_V1": (132863336, 7.609, 69.020),
    "VGG11_BN_Weights.IMAGENET1K_V1": (132868840, 7.609, 70.370),
    "VGG13_Weights.IMAGENET1K_V1": (133047848, 11.308, 69.928),
    "VGG13_BN_Weights.IMAGENET1K_V1": (133053736, 11.308, 71.586),
    "VGG16_Weights.IMAGENET1K_V1": (138357544, 15.470, 71.592),
    "VGG16_BN_Weights.IMAGENET1K_V1": (138365992, 15.470, 73.360),
    "VGG19_Weights.IMAGENET1K_V1": (143667240, 19.632, 72.376),
    "VGG19_BN_Weights.IMAGENET1K_V1": (143678248, 19.632, 74.218),
}


def test_vgg_weights_meta_matches_the_code():
    seen = {}
    for cls_name in [n for n in tv_vgg.__all__ if n.endswith("_Weights")]:
        enum = getattr(tv_vgg, cls_name)
        builder = getattr(tv_vgg, cls_name.removesuffix("_Weights").lower())
        model = meta_model(builder, init_weights=False)
        counted = complexity.count_params(model)
        macs, _ = macs_without_bias(model, 224)
        for w in enum:
            meta = w.meta
            assert meta["num_params"] == counted, w
            # _ops is in billions of multiply-adds (bias additions not counted)
            assert meta["_ops"] == round(macs / 1e9, 3), w
            # _file_size is MiB: the float32 tensors plus a little pickle overhead
            overhead = meta["_file_size"] - counted * 4 / 2**20
            assert 0 <= overhead < 0.1, w
            assert meta["min_size"] == (32, 32)
            if w.meta["categories"] is not None:
                seen[str(w)] = (
                    meta["num_params"],
                    meta["_ops"],
                    meta["_metrics"]["ImageNet-1K"]["acc@1"],
                )
    assert seen == VGG_META
    # the page's table, from the package, says the same
    checks = vgg_facts.weights_checks()
    assert len(checks) == 9  # eight IMAGENET1K_V1 and VGG-16's IMAGENET1K_FEATURES
    for c in checks:
        assert c.counted == c.num_params, c.weights
        assert 0 <= c.file_size - c.float32_mib < 0.1, c.weights
    page = {c.weights: (c.num_params, c.ops, c.acc1) for c in checks if not math.isnan(c.acc1)}
    assert page == VGG_META


def test_vgg16_features_weights_cannot_classify():
    w = tv_vgg.VGG16_Weights.IMAGENET1K_FEATURES
    assert w.meta["categories"] is None
    assert "ssd" in w.meta["recipe"]
    assert math.isnan(w.meta["_metrics"]["ImageNet-1K"]["acc@1"])
    assert set(tv_vgg.VGG16_Weights.__members__) == {
        "IMAGENET1K_V1",
        "IMAGENET1K_FEATURES",
        "DEFAULT",
    }
    assert tv_vgg.VGG16_Weights.DEFAULT is tv_vgg.VGG16_Weights.IMAGENET1K_V1
    assert tv_vgg.VGG16_Weights.verify("DEFAULT") is tv_vgg.VGG16_Weights.IMAGENET1K_V1


def test_vgg16_ops_is_count_macs_minus_bias_additions():
    # count_macs includes bias additions; the page reconciles the two.
    model = meta_model(tv_vgg.vgg16, init_weights=False)
    macs, bias_adds = macs_without_bias(model, 224)
    assert round(macs / 1e9, 3) == tv_vgg.VGG16_Weights.IMAGENET1K_V1.meta["_ops"]
    assert macs + bias_adds == 15_483_821_032  # what count_macs (torchinfo) reports at 224


def test_vgg16_page_reconciliation_agrees_with_the_closed_form():
    # The page's numbers come from torchinfo's per-layer table; the closed form is the check.
    torch.manual_seed(0)
    model = tv_vgg.vgg16(init_weights=False)
    ops = vgg_facts.ops_reconciliation(model)
    macs, bias_adds = macs_without_bias(meta_model(tv_vgg.vgg16, init_weights=False), 224)
    assert ops.macs == 15_483_821_032
    assert ops.bias_adds == bias_adds
    assert ops.without_bias == macs
    assert round(ops.without_bias / 1e9, 3) == ops.ops == 15.470
    cls_macs = sum(
        m.in_features * m.out_features for m in model.classifier if isinstance(m, nn.Linear)
    )
    cls_bias = sum(m.out_features for m in model.classifier if isinstance(m, nn.Linear))
    assert ops.classifier_macs == cls_macs + cls_bias
    assert ops.classifier_macs < 0.01 * ops.macs
    assert ops.classifier_param_share > 0.8


def test_transforms_of_vgg16_weights():
    t = tv_vgg.VGG16_Weights.IMAGENET1K_V1.transforms()
    assert t.resize_size == [256]
    assert t.crop_size == [224]
    assert t.mean == [0.485, 0.456, 0.406]
    assert t.std == [0.229, 0.224, 0.225]
    assert t.interpolation == InterpolationMode.BILINEAR
    photo = torch.from_numpy(skdata.chelsea()).permute(2, 0, 1)
    out = t(photo)
    assert out.shape == (3, 224, 224)
    assert out.dtype == torch.float32
    # resize + centre crop + scale to [0, 1] + per-channel standardisation, by hand
    ref = torchvision.transforms.functional.resize(photo, [256], antialias=True)
    ref = torchvision.transforms.functional.center_crop(ref, [224]).float() / 255
    mean = torch.tensor(t.mean).view(3, 1, 1)
    std = torch.tensor(t.std).view(3, 1, 1)
    assert torch.allclose(out, (ref - mean) / std, atol=1e-5)
    page = vgg_facts.preprocess_photo(tv_vgg.VGG16_Weights.IMAGENET1K_V1)
    assert torch.equal(page.photo, photo)
    assert torch.equal(page.batch[0], out)
    assert page.channel_means == [round(v, 3) for v in out.mean((1, 2)).tolist()]
    assert page.channel_stds == [round(v, 3) for v in out.std((1, 2)).tolist()]
    assert torch.allclose(page.restored, ref.clamp(0, 1), atol=1e-5)


def test_adaptive_pool_accepts_32_and_up_and_refuses_31():
    model = meta_model(tv_vgg.vgg16, init_weights=False)
    nodes = ["features.30", "avgpool", "classifier.6"]
    extractor = create_feature_extractor(model, return_nodes=nodes)
    expected_last = {32: 1, 64: 2, 224: 7, 320: 10}
    for size, side in expected_last.items():
        out = extractor(torch.empty(1, 3, size, size, device="meta"))
        assert out["features.30"].shape == (1, 512, side, side)
        assert out["avgpool"].shape == (1, 512, 7, 7)
        assert out["classifier.6"].shape == (1, 1000)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        model(torch.empty(1, 3, 31, 31, device="meta"))
    assert vgg_facts.pool_nodes(model)[4] == "features.30"
    rows = {row[0]: row[1:] for row in vgg_facts.shapes_by_input(list(expected_last))}
    assert rows["features.30"] == tuple(f"512 x {s} x {s}" for s in expected_last.values())
    assert rows["avgpool"] == ("512 x 7 x 7",) * 4
    assert rows["flatten"] == ("25088",) * 4
    assert rows["classifier.6"] == ("1000",) * 4


def test_smallest_input_runs_for_real_at_32_and_not_at_31():
    torch.manual_seed(0)
    small = vgg_facts.smallest_input(tv_vgg.vgg11(init_weights=False).eval())
    assert small["features_side"] == (1, 1)
    assert small["cells"] == 49
    assert small["spread"] == 0.0
    assert small["min_size"] == (32, 32)
    assert "Output size is too small" in small["error_at_31"]


def test_adaptive_pool_repeats_a_1x1_map():
    pool = nn.AdaptiveAvgPool2d((7, 7))
    x = torch.randn(2, 5, 1, 1)
    assert torch.equal(pool(x), x.expand(2, 5, 7, 7))
    y = torch.randn(2, 5, 7, 7)
    assert torch.equal(pool(y), y)  # identity at 7x7


# The old vgg.py's model_urls (torchvision < 0.13), as the page quotes them.
OLD_FILES = {
    "vgg11": "vgg11-bbd30ac9.pth",
    "vgg13": "vgg13-c768596a.pth",
    "vgg16": "vgg16-397923af.pth",
    "vgg19": "vgg19-dcbb9e9d.pth",
    "vgg11_bn": "vgg11_bn-6002323d.pth",
    "vgg13_bn": "vgg13_bn-abd245e5.pth",
    "vgg16_bn": "vgg16_bn-6c64b313.pth",
    "vgg19_bn": "vgg19_bn-c79401a0.pth",
}


@pytest.mark.parametrize("builder", VGG_BUILDERS)
def test_pretrained_true_means_the_v1_enum(builder, monkeypatch):
    legacy = tvsource.legacy_default(f"torchvision.models.vgg.{builder}")["pretrained"]
    enum_name, member = legacy.split(".")
    expected = getattr(tv_vgg, enum_name)[member]
    # what pretrained=True really passes on, caught before any download
    seen = {}

    def fake_vgg(cfg, batch_norm, weights, progress, **kwargs):
        seen["weights"] = weights
        return None

    monkeypatch.setattr(tv_vgg, "_vgg", fake_vgg)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        getattr(tv_vgg, builder)(pretrained=True)
    assert seen["weights"] is expected
    assert any("deprecated since 0.13" in str(w.message) for w in caught)
    # old and new file names: the hash digits differ exactly where the file was replaced
    new_file = os.path.basename(expected.url)
    assert (new_file == OLD_FILES[builder]) is (builder not in ("vgg11", "vgg13"))
    # the page's table agrees with both
    row = {r[0]: r for r in vgg_facts.legacy_files()}[builder]
    assert row == (builder, legacy, OLD_FILES[builder], new_file, new_file == OLD_FILES[builder])
    assert os.path.basename(vgg_facts.OLD_MODEL_URLS[builder]) == OLD_FILES[builder]


def test_file_names_carry_a_hash_prefix_checked_only_on_download():
    match = torch.hub.HASH_REGEX.search("vgg16-397923af.pth")
    assert match and match.group(1) == "397923af"
    code = _code("torch.hub.load_state_dict_from_url")
    download_branch = code.split("if not os.path.exists(cached_file):", 1)[1]
    assert "check_hash" in download_branch.split("return")[0]
    assert "get_state_dict(progress=progress, check_hash=True)" in _code(
        "torchvision.models.vgg._vgg"
    )


def test_get_state_dict_goes_through_the_hub():
    assert (
        _code("torchvision.models._api.WeightsEnum.get_state_dict")
        .strip()
        .endswith("return load_state_dict_from_url(self.url, *args, **kwargs)")
    )


def test_pretrained_false_warns_and_builds_without_weights():
    with warnings.catch_warnings(record=True) as caught, torch.device("meta"):
        warnings.simplefilter("always")
        tv_vgg.vgg11(pretrained=False)
    messages = [str(w.message) for w in caught]
    assert any("'pretrained' is deprecated since 0.13" in m for m in messages)
    assert any("equivalent to passing `weights=None`" in m for m in messages)
    page = vgg_facts.pretrained_false_warnings()
    assert [m.split(": ", 1)[1] for m in page] == messages
    assert all(m.startswith("UserWarning: ") for m in page)


# ======================================================================
# resnet.py


def test_conv_helpers():
    c3 = tv_resnet.conv3x3(64, 64, dilation=2)
    assert c3.kernel_size == (3, 3) and c3.padding == (2, 2) and c3.bias is None
    assert tv_resnet.conv3x3(64, 64).padding == (1, 1)
    c1 = tv_resnet.conv1x1(64, 256, stride=2)
    assert c1.kernel_size == (1, 1) and c1.padding == (0, 0) and c1.bias is None
    assert c1.stride == (2, 2)
    assert tv_resnet.conv3x3(128, 128, groups=32).weight.shape == (128, 4, 3, 3)
    for dilation in (1, 2, 4):
        out = tv_resnet.conv3x3(4, 4, dilation=dilation)(torch.zeros(1, 4, 20, 20))
        assert out.shape == (1, 4, 20, 20)
    # the page's table: parameters in closed form (no bias), shapes from the stride
    assert resnet_facts.conv_helper_cases(56) == [
        ("conv3x3(64, 64)", 1, False, 64 * 64 * 9, "64 x 56 x 56"),
        ("conv3x3(64, 128, stride=2)", 1, False, 64 * 128 * 9, "128 x 28 x 28"),
        ("conv3x3(64, 64, dilation=2)", 2, False, 64 * 64 * 9, "64 x 56 x 56"),
        ("conv3x3(128, 128, groups=32)", 1, False, 128 * 4 * 9, "128 x 56 x 56"),
        ("conv1x1(64, 256)", 0, False, 64 * 256, "256 x 56 x 56"),
        ("conv1x1(256, 512, stride=2)", 0, False, 256 * 512, "512 x 28 x 28"),
    ]


def test_expansion_and_block_outputs():
    assert tv_resnet.BasicBlock.expansion == 1
    assert tv_resnet.Bottleneck.expansion == 4
    assert tv_resnet.BasicBlock(64, 64)(torch.zeros(1, 64, 8, 8)).shape[1] == 64
    assert tv_resnet.Bottleneck(256, 64)(torch.zeros(1, 256, 8, 8)).shape[1] == 256
    assert "out += identity" in _code("torchvision.models.resnet.BasicBlock")
    assert "out += identity" in _code("torchvision.models.resnet.Bottleneck")
    basic = 2 * 64 * 64 * 9 + 2 * 2 * 64  # two 3x3 convs, two batch norms
    bottleneck = 256 * 64 + 64 * 64 * 9 + 64 * 256 + 2 * (64 + 64 + 256)
    assert resnet_facts.block_outputs() == [
        ("BasicBlock", 1, 64, 64, 64, basic),
        ("Bottleneck", 4, 256, 64, 256, bottleneck),
    ]


def test_stride_sits_on_the_3x3_in_bottleneck_and_on_conv1_in_basicblock():
    b = tv_resnet.Bottleneck(256, 128, stride=2)
    assert (b.conv1.stride, b.conv2.stride, b.conv3.stride) == ((1, 1), (2, 2), (1, 1))
    assert b.conv2.kernel_size == (3, 3)
    basic = tv_resnet.BasicBlock(64, 128, stride=2)
    assert (basic.conv1.stride, basic.conv2.stride) == ((2, 2), (1, 1))
    model = meta_model(tv_resnet.resnet50)
    for name in ("layer2", "layer3", "layer4"):
        first = getattr(model, name)[0]
        assert first.conv2.stride == (2, 2) and first.conv1.stride == (1, 1)
        assert first.downsample[0].stride == (2, 2)
    assert "V1.5" in tvsource.source("torchvision.models.resnet.Bottleneck")
    shapes = meta_shapes(model, resnet_facts.first_block_nodes("layer2"), 224)
    assert resnet_facts.strides_in_first_block(model, shapes, "layer2") == [
        ("layer2.0.conv1", "1x1", 1, "128 x 56 x 56"),
        ("layer2.0.conv2", "3x3", 2, "128 x 28 x 28"),
        ("layer2.0.conv3", "1x1", 1, "512 x 28 x 28"),
        ("layer2.0.downsample.0", "1x1", 2, "512 x 28 x 28"),
    ]


def test_v1_block_ignores_three_input_positions_in_four():
    torch.manual_seed(0)
    down = nn.Sequential(tv_resnet.conv1x1(64, 128, stride=2), nn.BatchNorm2d(128))
    block = tv_resnet.Bottleneck(64, 32, stride=2, downsample=down).eval()
    paper = copy.deepcopy(block)
    paper.conv1.stride, paper.conv2.stride = (2, 2), (1, 1)
    shares = []
    for b in (block, paper):
        x = torch.randn(1, 64, 8, 8, requires_grad=True)
        b(x).sum().backward()
        shares.append((x.grad.abs().sum(1) > 0).float().mean().item())
    assert shares == [1.0, 0.25]
    # the package's V1 twin is the hand-made one, and the page's measurement agrees
    v1 = resnet_facts.to_v1(block)
    assert (v1.conv1.stride, v1.conv2.stride, v1.conv3.stride) == ((2, 2), (1, 1), (1, 1))
    assert block.conv2.stride == (2, 2)  # the original is left alone
    page_block = resnet_facts.strided_bottleneck(256, 128)
    assert not page_block.training
    assert page_block.downsample[0].stride == (2, 2)
    assert page_block.downsample[0].out_channels == 512
    reach = resnet_facts.reach_v15_vs_v1(page_block, (1, 256, 16, 16))
    assert reach == {"V1.5 (torchvision)": 1.0, "V1 (paper)": 0.25}


def test_resnet50_ops_counts_multiply_adds_and_v1_is_cheaper():
    model = meta_model(tv_resnet.resnet50)
    macs_v15, _ = macs_without_bias(model, 224)
    assert (
        round(macs_v15 / 1e9, 3) == tv_resnet.ResNet50_Weights.IMAGENET1K_V2.meta["_ops"] == 4.089
    )
    paper = meta_model(tv_resnet.resnet50)
    for name in ("layer2", "layer3", "layer4"):
        first = getattr(paper, name)[0]
        first.conv1.stride, first.conv2.stride = (2, 2), (1, 1)
    macs_v1, _ = macs_without_bias(paper, 224)
    assert macs_v1 < macs_v15
    assert complexity.count_params(paper) == complexity.count_params(model)
    # The page: torchinfo on the three differing blocks; the closed form above is the check.
    torch.manual_seed(0)
    real = tv_resnet.resnet50().eval()
    shapes = meta_shapes(model, resnet_facts.STAGES, 224)
    savings = resnet_facts.v1_savings(real, shapes)
    assert [s.block for s in savings] == ["layer2.0", "layer3.0", "layer4.0"]
    assert [s.input_shape for s in savings] == [
        (1, 256, 56, 56),
        (1, 512, 28, 28),
        (1, 1024, 14, 14),
    ]
    assert sum(s.macs_v15 - s.macs_v1 for s in savings) == macs_v15 - macs_v1
    gmacs_v15, gmacs_v1 = resnet_facts.resnet50_gmacs(savings)
    assert gmacs_v15 == 4.089
    assert gmacs_v1 == pytest.approx(4.089 - (macs_v15 - macs_v1) / 1e9)
    assert 0.05 < gmacs_v15 / gmacs_v1 - 1 < 0.07  # the page's "6.0% more"


def test_stem_and_stages():
    model = meta_model(tv_resnet.resnet50)
    assert (model.conv1.kernel_size, model.conv1.stride, model.conv1.padding) == (
        (7, 7),
        (2, 2),
        (3, 3),
    )
    assert (model.maxpool.kernel_size, model.maxpool.stride) == (3, 2)
    assert [getattr(model, f"layer{i}")[0].conv1.out_channels for i in range(1, 5)] == [
        64,
        128,
        256,
        512,
    ]
    assert [len(getattr(model, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    # only the first block of a stage may change the shape
    for i in range(1, 5):
        stage = getattr(model, f"layer{i}")
        assert all(b.downsample is None for b in stage[1:])
    # a shortcut when the channels change, even at stride 1 (ResNet-50 layer1) ...
    assert model.layer1[0].downsample[0].stride == (1, 1)
    assert (
        model.layer1[0].downsample[0].in_channels,
        model.layer1[0].downsample[0].out_channels,
    ) == (
        64,
        256,
    )
    # ... and none where nothing changes (ResNet-18 layer1)
    assert meta_model(tv_resnet.resnet18).layer1[0].downsample is None
    assert resnet_facts.stages(model) == [
        ("layer1", 3, 1, 256, "conv1x1 64->256, stride 1"),
        ("layer2", 4, 2, 512, "conv1x1 256->512, stride 2"),
        ("layer3", 6, 2, 1024, "conv1x1 512->1024, stride 2"),
        ("layer4", 3, 2, 2048, "conv1x1 1024->2048, stride 2"),
    ]
    assert resnet_facts.stages(meta_model(tv_resnet.resnet18)) == [
        ("layer1", 2, 1, 64, "identity"),
        ("layer2", 2, 2, 128, "conv1x1 64->128, stride 2"),
        ("layer3", 2, 2, 256, "conv1x1 128->256, stride 2"),
        ("layer4", 2, 2, 512, "conv1x1 256->512, stride 2"),
    ]
    shapes = meta_shapes(model, resnet_facts.STAGE_NODES, 224)
    assert [shapes[n][1:] for n in resnet_facts.STAGE_NODES] == [
        (64, 112, 112),
        (64, 56, 56),
        (256, 56, 56),
        (512, 28, 28),
        (1024, 14, 14),
        (2048, 7, 7),
        (2048, 1, 1),
        (1000,),
    ]
    assert "if stride != 1 or self.inplanes != planes * block.expansion" in _code(
        "torchvision.models.resnet.ResNet._make_layer"
    )


def test_resnet_init_leaves_fc_at_pytorch_default():
    code = _code("torchvision.models.resnet.ResNet.__init__")
    assert "nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')" in code
    assert "isinstance(m, (nn.BatchNorm2d, nn.GroupNorm))" in code
    init_loop = code.split("for m in self.modules():", 1)[1]
    assert "nn.Linear" not in init_loop  # the loop never touches fc
    torch.manual_seed(0)
    model = tv_resnet.resnet18()
    bound = 1 / math.sqrt(model.fc.in_features)
    assert model.fc.weight.abs().max().item() <= bound
    assert model.fc.bias.abs().max().item() <= bound
    assert model.fc.bias.abs().max().item() > 0  # not zeroed either
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert bool((m.weight == 1).all()) and bool((m.bias == 0).all())
    std = model.layer3[0].conv2.weight.std().item()
    assert abs(std / math.sqrt(2 / (256 * 9)) - 1) < 0.05
    # the page's numbers, from the package
    init = resnet_facts.norm_and_fc_init(model)
    assert init["batch_norms"] == 20 and init["weights_one"] and init["biases_zero"]
    assert init["bound"] == bound and init["fc_in"] == 512
    assert 0 < init["fc_max_bias"] <= bound and init["fc_max_weight"] <= bound
    rows = resnet_facts.conv_init(model, ["conv1", "layer3.0.conv2"])
    assert [(name, rule) for name, rule, _ in rows] == [
        ("conv1", math.sqrt(2 / (64 * 49))),
        ("layer3.0.conv2", math.sqrt(2 / (256 * 9))),
    ]
    assert rows[1][2] == std


def test_zero_init_residual_makes_shape_keeping_blocks_identities():
    assert (
        inspect.signature(tv_resnet.ResNet.__init__).parameters["zero_init_residual"].default
        is False
    )
    x = torch.randn(2, 3, 32, 32)
    gaps = {}
    for zero in (False, True):
        torch.manual_seed(0)
        model = tv_resnet.resnet18(zero_init_residual=zero).eval()
        gaps[zero] = []

        def hook(mod, inputs, out, zero=zero):
            if mod.downsample is None:
                gaps[zero].append((out - inputs[0]).abs().max().item())

        for m in model.modules():
            if isinstance(m, tv_resnet.BasicBlock):
                m.register_forward_hook(hook)
        with torch.no_grad():
            model(x)
        if zero:
            assert all(
                bool((m.bn2.weight == 0).all())
                for m in model.modules()
                if isinstance(m, tv_resnet.BasicBlock)
            )
    assert gaps[True] == [0.0] * 5
    assert all(g > 0 for g in gaps[False])
    assert resnet_facts.zero_init_default() is False
    rows = resnet_facts.zero_init_comparison(torch.randn(4, 3, 32, 32))
    assert [r[0] for r in rows] == [f"layer{i}.{j}" for i in range(1, 5) for j in range(2)]
    changing = {"layer2.0", "layer3.0", "layer4.0"}
    for name, gap_default, gap_zero, *_ in rows:
        if name in changing:
            assert gap_default == gap_zero == "(shape changes)"
        else:
            assert gap_zero == "0" and float(gap_default) > 0
    # with zero init the second block of a stage passes on exactly what the first did
    by_name = {r[0]: r for r in rows}
    for i in range(1, 5):
        assert by_name[f"layer{i}.0"][4] == by_name[f"layer{i}.1"][4]
        assert by_name[f"layer{i}.0"][3] != by_name[f"layer{i}.1"][3]
    bottleneck_model = meta_model(tv_resnet.resnet50, zero_init_residual=True)
    assert "m.bn3.weight" in _code("torchvision.models.resnet.ResNet.__init__")
    assert isinstance(bottleneck_model.layer1[0].bn3, nn.BatchNorm2d)


GROUPS = {  # builder -> (groups, width_per_group, layer1 3x3 width, num_params)
    "resnet50": (1, 64, 64, 25557032),
    "resnet101": (1, 64, 64, 44549160),
    "resnet152": (1, 64, 64, 60192808),
    "resnext50_32x4d": (32, 4, 128, 25028904),
    "resnext101_32x8d": (32, 8, 256, 88791336),
    "resnext101_64x4d": (64, 4, 256, 83455272),
    "wide_resnet50_2": (1, 128, 128, 68883240),
    "wide_resnet101_2": (1, 128, 128, 126886696),
}


@pytest.mark.parametrize("builder", RESNET_BUILDERS)
def test_groups_width_and_num_params(builder):
    model = meta_model(getattr(tv_resnet, builder))
    enum_name = tvsource.legacy_default(f"torchvision.models.resnet.{builder}")["pretrained"].split(
        "."
    )[0]
    enum = getattr(tv_resnet, enum_name)
    for w in enum:
        assert w.meta["num_params"] == complexity.count_params(model)
    if builder in GROUPS:
        groups, width_per_group, width, num_params = GROUPS[builder]
        assert (model.groups, model.base_width) == (groups, width_per_group)
        conv2 = model.layer1[0].conv2
        assert (conv2.in_channels, conv2.groups) == (width, groups)
        assert width == int(64 * (width_per_group / 64.0)) * groups
        assert enum.DEFAULT.meta["num_params"] == num_params
        assert isinstance(model.layer1[0], tv_resnet.Bottleneck)
    else:
        assert builder in ("resnet18", "resnet34")
        assert isinstance(model.layer1[0], tv_resnet.BasicBlock)


def test_the_pages_groups_table():
    rows = {row[0]: row for row in resnet_facts.groups_table()}
    assert set(rows) == set(GROUPS)
    for builder, (groups, width_per_group, width, num_params) in GROUPS.items():
        _, blocks, g, wpg, conv_width, conv_groups, counted, meta, equal = rows[builder]
        # the page quotes the builder's source: wide ResNets write their width as 64 * 2
        quoted = "64 * 2" if builder.startswith("wide_") else width_per_group
        assert (g, wpg, conv_width, conv_groups) == (groups, quoted, width, groups)
        assert counted == meta == num_params and equal is True
        assert blocks == str(
            tvsource.literal_calls(f"torchvision.models.resnet.{builder}", "_resnet")[0][1]
        )


def test_replace_stride_with_dilation():
    assert (
        inspect.signature(tv_resnet.ResNet.__init__)
        .parameters["replace_stride_with_dilation"]
        .default
        is None
    )
    expected = {  # flags -> (layer3 side, layer4 side, layer4 conv2 dilations)
        (False, False, False): (14, 7, [1, 1, 1]),
        (False, False, True): (14, 14, [1, 2, 2]),
        (False, True, True): (28, 28, [2, 4, 4]),
    }
    params = set()
    for flags, (side3, side4, dilations) in expected.items():
        model = meta_model(tv_resnet.resnet50, replace_stride_with_dilation=list(flags))
        out = create_feature_extractor(model, return_nodes=["layer3", "layer4"])(
            torch.empty(1, 3, 224, 224, device="meta")
        )
        assert out["layer3"].shape[2:] == (side3, side3)
        assert out["layer4"].shape[2:] == (side4, side4)
        assert [b.conv2.dilation[0] for b in model.layer4] == dilations
        params.add(complexity.count_params(model))
    assert len(params) == 1
    with pytest.raises(NotImplementedError, match="Dilation > 1 not supported in BasicBlock"):
        meta_model(tv_resnet.resnet18, replace_stride_with_dilation=[False, False, True])
    assert "Dilation > 1 not supported in BasicBlock" in resnet_facts.basicblock_dilation_error()
    runs = resnet_facts.dilation_runs([list(flags) for flags in expected])
    for run, (side3, side4, dilations) in zip(runs, expected.values(), strict=True):
        assert run.shapes["layer3"][2:] == (side3, side3)
        assert run.shapes["layer4"][2:] == (side4, side4)
        assert run.layer4_dilations == dilations
        assert run.params == next(iter(params))
    assert [r.layer4_area // runs[0].layer4_area for r in runs] == [1, 4, 16]


V1_V2 = {  # enum -> (acc@1 V1, acc@1 V2)
    "ResNet50_Weights": (76.130, 80.858),
    "ResNet101_Weights": (77.374, 81.886),
    "ResNet152_Weights": (78.312, 82.284),
    "ResNeXt50_32X4D_Weights": (77.618, 81.198),
    "ResNeXt101_32X8D_Weights": (79.312, 82.834),
    "Wide_ResNet50_2_Weights": (78.468, 81.602),
    "Wide_ResNet101_2_Weights": (78.848, 82.510),
}


def test_v1_v2_same_network_better_recipe():
    found = {}
    for name in [n for n in tv_resnet.__all__ if n.endswith("_Weights")]:
        enum = getattr(tv_resnet, name)
        if "IMAGENET1K_V2" not in enum.__members__:
            continue
        w1, w2 = enum.IMAGENET1K_V1, enum.IMAGENET1K_V2
        assert w1.meta["num_params"] == w2.meta["num_params"]
        assert w1.meta["_ops"] == w2.meta["_ops"]
        assert enum.DEFAULT is w2
        assert w1.transforms().resize_size == [256]
        assert w2.transforms().resize_size == [232]
        assert w1.meta["recipe"] != w2.meta["recipe"]
        assert "simple training recipe" in w1.meta["_docs"]
        assert "new training recipe" in w2.meta["_docs"]
        found[name] = tuple(w.meta["_metrics"]["ImageNet-1K"]["acc@1"] for w in (w1, w2))
    assert found == V1_V2
    n_enums = len([n for n in tv_resnet.__all__ if n.endswith("_Weights")])
    assert len(found) > n_enums / 2  # "most ResNet builders have two sets"
    assert all(v2 - v1 > 3 for v1, v2 in found.values())  # "several points"
    rows = weight_facts.v1_v2_table()
    assert {r[0]: (r[1], r[2]) for r in rows} == V1_V2
    assert all(r[3:] == (True, "256 / 232", "IMAGENET1K_V2") for r in rows)


def test_hub_cache_location(monkeypatch):
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    assert torch.hub.get_dir() == os.path.expanduser(os.path.join("~", ".cache", "torch", "hub"))
    monkeypatch.setenv("TORCH_HOME", "/some/dir")
    assert torch.hub.get_dir() == os.path.join("/some/dir", "hub")
    assert "model_dir = os.path.join(hub_dir, 'checkpoints')" in _code(
        "torch.hub.load_state_dict_from_url"
    )


def test_weights_load_offline_from_the_cache(tmp_path):
    torch.manual_seed(0)
    stand_in = tv_resnet.resnet18().state_dict()
    weights = tv_resnet.ResNet18_Weights.IMAGENET1K_V1
    with tvsource.torch_home(tmp_path), tvsource.no_downloads():
        target = tmp_path / "hub" / "checkpoints" / os.path.basename(weights.url)
        target.parent.mkdir(parents=True)
        torch.save(stand_in, target)
        model = tv_resnet.resnet18(weights=weights)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            legacy = tv_resnet.resnet18(pretrained=True)
    for k, v in stand_in.items():
        assert torch.equal(model.state_dict()[k], v)
        assert torch.equal(legacy.state_dict()[k], v)
    # the page's demo, from the package, on the same stand-in
    cached = weight_facts.load_from_cache(stand_in)
    assert cached["hub_dir"] == os.path.join("<tmp>", "hub")
    assert cached["target"] == os.path.join("<tmp>", "hub", "checkpoints", target.name)
    assert cached["weights_loaded"] is True and cached["pretrained_loaded"] is True
    assert any("deprecated since 0.13" in w for w in cached["warnings"])
    assert cached["load_state_dict"] == "<All keys matched successfully>"
    assert 40 < cached["mib"] < 50  # ResNet-18's 11.7M float32 parameters


class _Payload:
    def __reduce__(self):
        return (print, ("payload ran",))


def test_weights_only_refuses_code_and_is_the_default(tmp_path, capsys):
    path = tmp_path / "payload.pth"
    torch.save({"w": torch.zeros(1), "x": _Payload()}, path)
    torch.load(path, weights_only=False)
    assert "payload ran" in capsys.readouterr().out
    with pytest.raises(pickle.UnpicklingError, match="Unsupported global: GLOBAL print"):
        torch.load(path, weights_only=True)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)  # the default (None) means weights_only=True
    assert capsys.readouterr().out == ""
    assert inspect.signature(torch.load).parameters["weights_only"].default is None
    hub_default = (
        inspect.signature(torch.hub.load_state_dict_from_url).parameters["weights_only"].default
    )
    assert hub_default is False
    assert "weights_only" not in _code("torchvision.models._api.WeightsEnum.get_state_dict")
    demo = weight_facts.unpickling_demo()
    assert demo["unsafe_printed"] == "!!! this line was printed by code inside the file !!!"
    assert "Unsupported global: GLOBAL print" in demo["safe_refused"]
    assert weight_facts.weights_only_defaults() == {
        "torch.load": None,
        "torch.hub.load_state_dict_from_url": False,
    }
