"""The Keras-style ResNet-50: conv and identity blocks, a key map to torchvision's names.

That it computes what torchvision's resnet50 computes is proven in test_equality.py.
"""

import pytest
import torch
import torchvision

from cnnbook import compat
from cnnbook.analysis.complexity import count_params
from cnnbook.models import create
from cnnbook.models.resnet_keras import ConvBlock, IdentityBlock, ResNet50Keras


def torchvision_resnet50_shapes():
    """torchvision's resnet50 with shapes only: key maps need no values."""
    with torch.device("meta"):
        return torchvision.models.resnet50(weights=None)


def test_seed_parameter_count_with_four_classes():
    assert count_params(create("resnet50_keras", num_classes=4)) == 23_516_228


def test_structure_is_conv_block_then_identity_blocks():
    model = ResNet50Keras()
    for name, identities in (("stage2", 2), ("stage3", 3), ("stage4", 5), ("stage5", 2)):
        stage = getattr(model, name)
        assert isinstance(stage[0], ConvBlock)
        assert [type(b) for b in stage[1:]] == [IdentityBlock] * identities


def test_key_map_names_the_matching_torchvision_tensors():
    with torch.device("meta"):
        ours = create("resnet50_keras")
    theirs = torchvision_resnet50_shapes()
    mapping = ours.torchvision_key_map()
    assert sorted(mapping.values()) == sorted(theirs.state_dict())
    assert mapping["stage3.0.shortcut.0.weight"] == "layer2.0.downsample.0.weight"
    assert mapping["stage4.5.residual.7.running_var"] == "layer3.5.bn3.running_var"


def test_v1_variant_takes_the_same_weights_but_strides_first():
    with torch.device("meta"):
        v1 = create("resnet50_keras", variant="v1")
    compat.load_torchvision_state_dict(v1, torchvision_resnet50_shapes().state_dict())
    assert v1.stage3[0].residual[0].stride == (2, 2)
    assert v1.stage3[0].residual[3].stride == (1, 1)


def test_identity_block_needs_matching_channels():
    with pytest.raises(ValueError, match="identity block"):
        IdentityBlock(256, 3, (64, 64, 512))
