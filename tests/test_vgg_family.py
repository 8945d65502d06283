"""The paper's VGG family from one configuration table, and its lighter variants."""

import pytest
import torch
from torch import nn

from cnnbook import models
from cnnbook.analysis import complexity
from cnnbook.models import vgg, vgg_variants  # noqa: F401  (registers the variants)

# Table 2 of Simonyan & Zisserman (2015): parameters in millions, rounded.
PAPER_TABLE_2 = {"A": 133, "A-LRN": 133, "B": 133, "C": 134, "D": 138, "E": 144}


def meta_model(name, **kw):
    """Build on the meta device: shapes and counts without allocating 500 MB."""
    with torch.device("meta"):
        return models.create(name, init_weights=False, **kw)


def convs(model):
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize("cfg", list(PAPER_TABLE_2))
def test_parameter_counts_match_paper_table_2(cfg):
    with torch.device("meta"):
        net = vgg.vgg(cfg, init_weights=False)
    assert round(complexity.count_params(net) / 1e6) == PAPER_TABLE_2[cfg]


def test_config_c_has_1x1_convolutions_closing_blocks_3_to_5():
    net = meta_model("vgg_c")
    kernels = [c.kernel_size[0] for c in convs(net)]
    assert kernels == [3, 3, 3, 3, 3, 3, 1, 3, 3, 1, 3, 3, 1]
    ones = [c for c in convs(net) if c.kernel_size == (1, 1)]
    assert all(c.padding == (0, 0) for c in ones)
    # C differs from D only in those three kernels: 8 x (256^2 + 2 x 512^2) fewer weights.
    d = complexity.count_params(meta_model("vgg16"))
    assert d - complexity.count_params(net) == 8 * (256 * 256 + 2 * 512 * 512)


def test_a_lrn_normalises_after_the_first_conv_and_relu():
    net = meta_model("vgg_a_lrn")
    kinds = [type(m) for m in net.features[:4]]
    assert kinds == [nn.Conv2d, nn.ReLU, nn.LocalResponseNorm, nn.MaxPool2d]
    lrn = net.features[2]
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 1e-4, 0.75, 2.0)
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in net.modules()) == 1


@pytest.mark.parametrize(
    ("name", "n_convs"),
    [("vgg11", 8), ("vgg_a_lrn", 8), ("vgg13", 10), ("vgg_c", 13), ("vgg16", 13), ("vgg19", 16)],
)
def test_depth_is_convs_plus_three_linears(name, n_convs):
    net = meta_model(name)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert (len(convs(net)), len(linears)) == (n_convs, 3)


def test_registry_has_the_contract_names():
    names = {"vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"}
    names |= {"vgg_a_lrn", "vgg_c", "vgg_c_bn", "vgg16_slim", "vgg16_cifar"}
    assert names <= set(models.available())


def test_batch_norm_follows_every_conv():
    net = meta_model("vgg_c_bn")
    layers = list(net.features)
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.Conv2d):
            assert isinstance(layers[i + 1], nn.BatchNorm2d)
            assert layers[i + 1].num_features == layer.out_channels
            assert isinstance(layers[i + 2], nn.ReLU)


def test_three_classes_gives_the_seed_count():
    assert complexity.count_params(meta_model("vgg16", num_classes=3)) == 134_272_835


def test_first_fully_connected_layer_holds_most_parameters():
    net = meta_model("vgg16")
    fc1 = net.classifier[0]
    assert (fc1.in_features, fc1.out_features) == (25088, 4096)
    assert complexity.count_params(fc1) == 102_764_544


def test_torchvision_initialisation_scheme():
    torch.manual_seed(0)
    net = models.create("vgg11_bn", num_classes=10, width_mult=0.25)
    conv = net.features[4]  # 16 -> 32 channels at quarter width
    fan_out = conv.out_channels * 9
    assert conv.weight.std().item() == pytest.approx((2 / fan_out) ** 0.5, rel=0.05)
    assert torch.all(conv.bias == 0)
    bn = net.features[1]
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
    fc = net.classifier[0]
    assert fc.weight.std().item() == pytest.approx(0.01, rel=0.02)
    assert torch.all(fc.bias == 0)


def test_width_multiplier_scales_every_conv():
    full = meta_model("vgg16")
    quarter = meta_model("vgg16", width_mult=0.25)
    assert [c.out_channels // 4 for c in convs(full)] == [c.out_channels for c in convs(quarter)]
    assert quarter.classifier[0].in_features == 128 * 7 * 7
    with pytest.raises(ValueError, match="width_mult must be positive"):
        models.create("vgg16", width_mult=0)


def test_unknown_config_and_head_are_clear_errors():
    with pytest.raises(ValueError, match="unknown VGG configuration 'F'"):
        vgg.vgg("F")
    with pytest.raises(ValueError, match="unknown head 'tiny'.*full, slim, gap"):
        models.create("vgg16_slim", head="tiny")


def test_slim_head_is_the_seed_count_for_three_classes():
    net = meta_model("vgg16_slim", num_classes=3)
    assert complexity.count_params(net) == 40_668_995
    widths = [m.out_features for m in net.classifier if isinstance(m, nn.Linear)]
    assert widths == [1024, 256, 3]
    assert sum(isinstance(m, nn.Dropout) for m in net.classifier) == 2


def test_gap_head_is_one_linear_layer_on_pooled_channels():
    net = meta_model("vgg16_slim", num_classes=3, head="gap")
    assert isinstance(net.avgpool, nn.AdaptiveAvgPool2d) and net.avgpool.output_size == (1, 1)
    linears = [m for m in net.classifier if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(512, 3)]
    conv_params = complexity.count_params(net.features)
    assert complexity.count_params(net) == conv_params + 512 * 3 + 3


def test_full_head_equals_vgg16():
    slim_full = meta_model("vgg16_slim", num_classes=3, head="full")
    assert complexity.count_params(slim_full) == 134_272_835


@pytest.mark.parametrize("name", ["vgg16_slim", "vgg16_cifar", "vgg_c_bn", "vgg_a_lrn"])
def test_small_models_run_at_32x32(name):
    torch.manual_seed(0)
    net = models.create(name, num_classes=4, width_mult=0.125).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 4) and torch.isfinite(out).all()


def test_cifar_head_is_512_512_k_on_a_1x1_map():
    net = meta_model("vgg16_cifar")
    linears = [m for m in net.classifier if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(512, 512), (512, 512), (512, 10)]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.features) == 13
    x = torch.zeros(1, 3, 32, 32, device="meta")
    assert net.features(x).shape == (1, 512, 1, 1)


def test_a_lrn_has_a_parameters_under_shifted_names():
    """LRN has no weights, but it shifts every later index, so vgg11 keys do not match."""
    a = meta_model("vgg11")
    a_lrn = meta_model("vgg_a_lrn")
    assert complexity.count_params(a) == complexity.count_params(a_lrn)
    assert set(a.state_dict()) != set(a_lrn.state_dict())
