"""The VGG block and VGG-11 assembled from ``conv_arch`` (the first chapter)."""

import pytest
import torch
from torch import nn

from cnnbook import models
from cnnbook.models import vgg_blocks


def test_block_layers_and_shape():
    block = vgg_blocks.vgg_block(num_convs=3, in_channels=5, out_channels=7)
    kinds = [type(m) for m in block]
    assert kinds == [nn.Conv2d, nn.ReLU] * 3 + [nn.MaxPool2d]
    convs = [m for m in block if isinstance(m, nn.Conv2d)]
    assert [c.in_channels for c in convs] == [5, 7, 7]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    out = block(torch.zeros(2, 5, 32, 30))
    assert out.shape == (2, 7, 16, 15)


def test_block_rejects_zero_convs():
    with pytest.raises(ValueError, match="at least one convolution"):
        vgg_blocks.vgg_block(0, 3, 8)


def test_vgg11_shapes_end_at_512x7x7():
    net = vgg_blocks.VGGBlocks(vgg_blocks.VGG11_ARCH, in_channels=1, num_classes=10, image_size=224)
    x = torch.zeros(1, 1, 224, 224)
    shapes = []
    for blk in net.features:
        x = blk(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [(64, 112, 112), (128, 56, 56), (256, 28, 28), (512, 14, 14), (512, 7, 7)]
    assert net.classifier[1].in_features == 25088
    assert net(torch.zeros(2, 1, 224, 224)).shape == (2, 10)


def test_vgg11_counts_eight_convs_and_three_linears():
    net = models.create("vgg11_blocks", num_classes=10)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert (len(convs), len(linears)) == (8, 3)


def test_quarter_width_divides_channels():
    assert vgg_blocks.scale_arch(vgg_blocks.VGG11_ARCH, 4) == (
        (1, 16),
        (1, 32),
        (2, 64),
        (2, 128),
        (2, 128),
    )
    net = models.create("vgg11_blocks", width_ratio=4, image_size=96)
    assert net.classifier[1].in_features == 128 * 3 * 3


def test_too_small_input_is_a_clear_error():
    with pytest.raises(ValueError, match="too small"):
        vgg_blocks.VGGBlocks(vgg_blocks.VGG11_ARCH, image_size=16)


def test_registry_lists_and_rejects():
    assert {"vgg11_blocks", "vgg_mini"} <= set(models.available())
    with pytest.raises(ValueError, match="unknown model 'nope'.*vgg_mini"):
        models.create("nope")
    assert models.create("vgg_mini")(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert models.create("vgg_mini", num_classes=4)(torch.zeros(1, 1, 28, 28)).shape == (1, 4)
