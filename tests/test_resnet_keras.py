"""The Keras-style ResNet-50 is torchvision's resnet50 under other names."""

import pytest
import torch
import torchvision

from cnnbook import compat
from cnnbook.analysis.complexity import count_macs, count_params
from cnnbook.models import create
from cnnbook.models.resnet_keras import ConvBlock, IdentityBlock, ResNet50Keras

META = torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta


@pytest.fixture(scope="module")
def pair():
    torch.manual_seed(50)
    theirs = torchvision.models.resnet50(weights=None).eval()
    compat.randomize_batchnorm(theirs, seed=50)
    ours = create("resnet50_keras").eval()
    compat.load_torchvision_state_dict(ours, theirs.state_dict())
    return ours, theirs


def test_seed_parameter_count_with_four_classes():
    assert count_params(create("resnet50_keras", num_classes=4)) == 23_516_228


def test_structure_is_conv_block_then_identity_blocks():
    model = ResNet50Keras()
    for name, identities in (("stage2", 2), ("stage3", 3), ("stage4", 5), ("stage5", 2)):
        stage = getattr(model, name)
        assert isinstance(stage[0], ConvBlock)
        assert [type(b) for b in stage[1:]] == [IdentityBlock] * identities


def test_key_map_is_a_bijection_onto_torchvision_names(pair):
    ours, theirs = pair
    mapping = ours.torchvision_key_map()
    assert sorted(mapping.values()) == sorted(theirs.state_dict())
    assert mapping["stage3.0.shortcut.0.weight"] == "layer2.0.downsample.0.weight"
    assert mapping["stage4.5.residual.7.running_var"] == "layer3.5.bn3.running_var"


@pytest.mark.slow
def test_outputs_equal_after_weight_load(pair):
    ours, theirs = pair
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert (ours(x) - theirs(x)).abs().max().item() <= 1e-5


def test_round_trip_is_exact(pair):
    ours, theirs = pair
    back = compat.to_torchvision_state_dict(ours)
    expected = theirs.state_dict()
    assert set(back) == set(expected)
    for key, tensor in expected.items():
        assert torch.equal(back[key], tensor), key


@pytest.mark.slow
def test_params_and_macs_match_torchvision_metadata(pair):
    ours, _ = pair
    assert count_params(ours) == META["num_params"]
    macs = count_macs(ours, (1, 3, 224, 224))
    assert abs(macs - META["_ops"] * 1e9) <= 0.01 * META["_ops"] * 1e9


def test_v1_variant_takes_the_same_weights_but_strides_first(pair):
    _, theirs = pair
    v1 = create("resnet50_keras", variant="v1")
    compat.load_torchvision_state_dict(v1, theirs.state_dict())
    assert v1.stage3[0].residual[0].stride == (2, 2)
    assert v1.stage3[0].residual[3].stride == (1, 1)


def test_wrong_architecture_is_refused():
    resnet18 = torchvision.models.resnet18(weights=None)
    with pytest.raises(ValueError):
        compat.load_torchvision_state_dict(ResNet50Keras(), resnet18.state_dict())


def test_identity_block_needs_matching_channels():
    with pytest.raises(ValueError, match="identity block"):
        IdentityBlock(256, 3, (64, 64, 512))
