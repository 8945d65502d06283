"""The pre-activation block (He et al. 2016b): BN and ReLU before each convolution, nothing after the addition."""

from __future__ import annotations

import torch
from torch import nn

from cnnbook import models
from cnnbook.models.preact_resnet import PreActBasicBlock, PreActCifarResNet
from cnnbook.models.resnet import BasicBlock


def _call_order(block: nn.Module, x: torch.Tensor) -> list[str]:
    order: list[str] = []
    for name, module in block.named_children():
        module.register_forward_hook(lambda _m, _i, _o, name=name: order.append(name))
    block(x)
    return order


def test_normalisation_and_activation_come_before_each_convolution():
    block = PreActBasicBlock(8, 8).eval()
    assert _call_order(block, torch.randn(2, 8, 6, 6)) == [
        "bn1", "relu", "conv1", "bn2", "relu", "conv2",
    ]  # fmt: skip


def test_nothing_follows_the_addition():
    """With its branch silenced the block is the identity, negative values included."""
    torch.manual_seed(0)
    x = torch.randn(2, 8, 6, 6)
    pre, post = PreActBasicBlock(8, 8).eval(), BasicBlock(8, 8).eval()
    for block in (pre, post):
        nn.init.zeros_(block.conv2.weight)
    assert torch.equal(pre(x), x)  # x + 0
    assert torch.equal(post(x), torch.relu(x))  # the original block ends in a ReLU
    assert (pre(x) < 0).any()


def test_the_networks_are_registered_and_start_and_end_as_the_paper_says():
    net = models.create("cifar_preact_resnet20", num_classes=10)
    assert isinstance(net, PreActCifarResNet)
    assert isinstance(net.conv1, nn.Conv2d) and not hasattr(net, "bn1")  # a bare stem
    assert net.bn.num_features == 64  # the last block's missing activation, before pooling
    blocks = [m for m in net.modules() if isinstance(m, PreActBasicBlock)]
    assert len(blocks) == 9 and 2 * len(blocks) + 2 == 20  # 6n + 2 weighted layers, n = 3
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)
    deep = models.create("cifar_preact_resnet110")
    assert sum(isinstance(m, PreActBasicBlock) for m in deep.modules()) == 54


def test_option_a_keeps_the_parameter_count_of_the_original_network():
    """Moving BN and ReLU changes where the batch norms sit, not how many weights there are.

    The stem loses its BN (16 channels), each downsampling block normalises its
    narrower input (16 and 32 channels instead of 32 and 64) and a final BN over
    64 channels is added: -32 - 32 - 64 + 128 = 0 parameters.
    """
    for depth in (20, 110):
        pre = models.create(f"cifar_preact_resnet{depth}")
        post = models.create(f"cifar_resnet{depth}")
        assert sum(p.numel() for p in pre.parameters()) == sum(p.numel() for p in post.parameters())
