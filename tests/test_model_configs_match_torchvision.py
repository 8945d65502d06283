"""The project's VGG and ResNet re-implementations agree with torchvision's code.

Configurations are compared with torchvision's own tables (read from the
installed package, not copied), and initialisation is compared the
strictest way available: built from the same seed, the project's model and
torchvision's must hold bit-identical tensors, which can only happen if
both construct the same layers in the same order and draw the same
initial values with the same constants.
"""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn
from torchvision.models import resnet as tv_resnet
from torchvision.models import vgg as tv_vgg

from cnnbook import compat, tvsource
from cnnbook.models import resnet as our_resnet
from cnnbook.models import vgg as our_vgg

TV_BUILDERS = sorted(set(compat.TORCHVISION_TWINS.values()))
TV_VGG = [name for name in TV_BUILDERS if name.startswith("vgg")]
TV_RESNET = [name for name in TV_BUILDERS if name.startswith("resnet")]


def test_every_torchvision_vgg_and_resnet_has_a_twin():
    assert len(TV_VGG) == 8 and len(TV_RESNET) == 5


def _layer_signature(module: nn.Module) -> list[tuple]:
    """Each leaf layer's type and hyper-parameters, in order."""
    out = []
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            out.append(
                ("conv", m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)
                + (m.dilation, m.groups, m.bias is not None)
            )
        elif isinstance(m, nn.BatchNorm2d):
            out.append(("bn", m.num_features, m.eps, m.momentum))
        elif isinstance(m, nn.MaxPool2d):
            out.append(("maxpool", m.kernel_size, m.stride, m.padding))
        elif isinstance(m, nn.Linear):
            out.append(("linear", m.in_features, m.out_features, m.bias is not None))
        elif isinstance(m, nn.Dropout):
            out.append(("dropout", m.p))
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            out.append(("adaptiveavgpool", m.output_size))
        elif isinstance(m, nn.ReLU):
            out.append(("relu",))
    return out


def _shapes(model: nn.Module) -> dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------
# VGG


@pytest.mark.parametrize("key", sorted(tv_vgg.cfgs))
def test_vgg_cfgs_are_torchvisions(key):
    assert our_vgg.CFGS[key] == tv_vgg.cfgs[key]


@pytest.mark.parametrize("name", TV_VGG)
def test_vgg_variant_uses_torchvisions_cfg(name):
    ((tv_key, tv_bn, *_),) = tvsource.literal_calls(f"torchvision.models.vgg.{name}", "_vgg")
    assert our_vgg.NAMES[name] == (tv_key, tv_bn)
    assert our_vgg.DEPTH[tv_key] == int(name[3:5])


def test_the_extra_configs_extend_torchvisions():
    # C is D with the third convolution of blocks 3, 4 and 5 made 1x1.
    d, c = tv_vgg.cfgs["D"], our_vgg.CFGS["C"]
    assert len(c) == len(d)
    changed = [i for i, (a, b) in enumerate(zip(d, c, strict=True)) if a != b]
    assert [c[i] for i in changed] == [(256, 1), (512, 1), (512, 1)]
    assert [d[i] for i in changed] == [256, 512, 512]
    assert all(d[i + 1] == "M" for i in changed)  # each the last layer of its block
    # A-LRN is A with LRN after the first convolution.
    assert our_vgg.CFGS["A-LRN"] == [tv_vgg.cfgs["A"][0], "LRN", *tv_vgg.cfgs["A"][1:]]


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("key", sorted(tv_vgg.cfgs))
def test_vgg_make_layers_builds_torchvisions_layers(key, batch_norm):
    ours = our_vgg.make_layers(our_vgg.CFGS[key], batch_norm=batch_norm)
    theirs = tv_vgg.make_layers(tv_vgg.cfgs[key], batch_norm=batch_norm)
    assert _layer_signature(ours) == _layer_signature(theirs)
    assert _shapes(ours) == _shapes(theirs)


@pytest.mark.parametrize("name", TV_VGG)
def test_vgg_whole_model_matches_structure(name):
    with torch.device("meta"):
        ours = our_vgg.vgg(*our_vgg.NAMES[name], init_weights=False)
        theirs = getattr(tv_vgg, name)(init_weights=False)
    assert _layer_signature(ours) == _layer_signature(theirs)
    assert _shapes(ours) == _shapes(theirs)


def test_vgg_defaults_match_torchvision():
    ours = inspect.signature(our_vgg.VGG.__init__).parameters
    theirs = inspect.signature(tv_vgg.VGG.__init__).parameters
    for arg in ("num_classes", "init_weights", "dropout"):
        assert ours[arg].default == theirs[arg].default, arg


@pytest.mark.slow
def test_vgg_init_is_bit_identical_to_torchvision():
    # Same seed, same construction order, same init constants: same tensors.
    torch.manual_seed(0)
    theirs = tv_vgg.vgg11()
    torch.manual_seed(0)
    ours = our_vgg.vgg("A")
    sd_ours = ours.state_dict()
    for k, v in theirs.state_dict().items():
        assert torch.equal(sd_ours[k], v), k


# ----------------------------------------------------------------------
# ResNet


@pytest.mark.parametrize("name", TV_RESNET)
def test_resnet_depth_table_is_torchvisions(name):
    ((block, layers, *_),) = tvsource.literal_calls(f"torchvision.models.resnet.{name}", "_resnet")
    our_block, our_layers = our_resnet.CONFIGS[int(name[6:])]
    assert our_block.__name__ == block
    assert list(our_layers) == layers
    assert our_block.expansion == getattr(tv_resnet, block).expansion


def test_resnet_conv_helpers_match():
    for args in ((64, 128), (64, 128, 2)):
        assert _layer_signature(our_resnet.conv3x3(*args)) == _layer_signature(
            tv_resnet.conv3x3(*args)
        )
        assert _layer_signature(our_resnet.conv1x1(*args)) == _layer_signature(
            tv_resnet.conv1x1(*args)
        )


@pytest.mark.parametrize("name", TV_RESNET)
def test_resnet_whole_model_matches_structure(name):
    with torch.device("meta"):
        ours = getattr(our_resnet, name)()
        theirs = getattr(tv_resnet, name)()
    assert _layer_signature(ours) == _layer_signature(theirs)
    assert _shapes(ours) == _shapes(theirs)


def test_resnet_v1_variant_moves_the_stride_to_the_1x1():
    with torch.device("meta"):
        v1 = our_resnet.resnet50(variant="v1")
        v15 = our_resnet.resnet50()
    for name in ("layer2", "layer3", "layer4"):
        assert getattr(v1, name)[0].conv1.stride == (2, 2)
        assert getattr(v1, name)[0].conv2.stride == (1, 1)
        assert getattr(v15, name)[0].conv2.stride == (2, 2)
    assert _shapes(v1) == _shapes(v15)


@pytest.mark.parametrize("zero_init_residual", [False, True])
@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_resnet_init_is_bit_identical_to_torchvision(name, zero_init_residual):
    torch.manual_seed(0)
    theirs = getattr(tv_resnet, name)(zero_init_residual=zero_init_residual)
    torch.manual_seed(0)
    ours = getattr(our_resnet, name)(zero_init_residual=zero_init_residual)
    sd_ours = ours.state_dict()
    for k, v in theirs.state_dict().items():
        assert torch.equal(sd_ours[k], v), k
