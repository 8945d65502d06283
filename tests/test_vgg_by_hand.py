"""VGG-16 written by hand is torchvision's vgg16 under other names."""

import pytest
import torch
import torchvision
from torch import nn

from cnnbook import compat, models
from cnnbook.analysis import complexity
from cnnbook.models import vgg_by_hand  # noqa: F401  (registers the model)


@pytest.fixture(scope="module")
def pair():
    torch.manual_seed(0)
    theirs = torchvision.models.vgg16(weights=None).eval()
    with torch.device("meta"):
        ours = models.create("vgg16_by_hand", init_weights=False)
    ours = ours.to_empty(device="cpu")
    compat.load_torchvision_state_dict(ours, theirs.state_dict())
    return theirs, ours.eval()


def test_readable_names():
    with torch.device("meta"):
        net = models.create("vgg16_by_hand")
    names = [n for n, _ in net.named_children()]
    assert names == ["block1", "block2", "block3", "block4", "block5", "avgpool", "classifier"]
    assert "block3.4.weight" in net.state_dict()
    assert [len(getattr(net, f"block{i}")) for i in range(1, 6)] == [5, 5, 7, 7, 7]


def test_key_map_covers_every_tensor_once():
    with torch.device("meta"):
        net = models.create("vgg16_by_hand")
    mapping = net.torchvision_key_map()
    assert set(mapping) == set(net.state_dict())
    assert len(set(mapping.values())) == len(mapping)  # one-to-one
    assert mapping["block3.4.weight"] == "features.14.weight"
    assert mapping["block5.4.bias"] == "features.28.bias"
    assert mapping["classifier.6.weight"] == "classifier.6.weight"


def test_parameter_counts():
    with torch.device("meta"):
        three = models.create("vgg16_by_hand", num_classes=3)
        thousand = models.create("vgg16_by_hand")
    assert complexity.count_params(three) == 134_272_835
    assert complexity.count_params(thousand) == 138_357_544


@pytest.mark.slow
@torch.no_grad()
def test_same_output_as_torchvision(pair):
    theirs, ours = pair
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    expected = theirs(x)
    assert expected.abs().max() > 1e-3
    assert (ours(x) - expected).abs().max().item() <= 1e-5


@pytest.mark.slow
def test_round_trip_is_exact(pair):
    theirs, ours = pair
    back = compat.to_torchvision_state_dict(ours)
    original = theirs.state_dict()
    assert set(back) == set(original)
    assert all(torch.equal(back[k], v) for k, v in original.items())


def test_swapped_classifier_is_rejected_with_a_sentence():
    with torch.device("meta"):
        ours = models.create("vgg16_by_hand", num_classes=3)
        theirs = torchvision.models.vgg16(weights=None, init_weights=False)
    with pytest.raises(ValueError, match=r"shape mismatch for 'classifier.6.weight'"):
        compat.load_torchvision_state_dict(ours, theirs.state_dict())


@pytest.mark.slow
def test_flatten_keeps_the_batch(pair):
    """`view(-1, 7*7*512)` would merge a batch of 32x32 images; flatten(x, 1) cannot."""
    _, net = pair
    blocks = [m for n, m in net.named_children() if n.startswith("block")]
    assert all(isinstance(b[-1], nn.MaxPool2d) for b in blocks)
    with torch.no_grad():
        out = net(torch.randn(3, 3, 32, 32))
    assert out.shape == (3, 1000)
