"""VGG-16 written by hand: readable names, a key map to torchvision's, exact counts.

That it computes what torchvision's vgg16 computes is proven in test_equality.py.
"""

import torch
from torch import nn

from cnnbook import models
from cnnbook.analysis import complexity
from cnnbook.models import vgg_by_hand  # noqa: F401  (registers the model)


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


def test_flatten_keeps_the_batch():
    """`view(-1, 7*7*512)` would merge a batch of 32x32 images; flatten(x, 1) cannot."""
    with torch.device("meta"):  # shapes only
        net = models.create("vgg16_by_hand").eval()
        blocks = [m for n, m in net.named_children() if n.startswith("block")]
        assert all(isinstance(b[-1], nn.MaxPool2d) for b in blocks)
        out = net(torch.empty(3, 3, 32, 32))
    assert out.shape == (3, 1000)
