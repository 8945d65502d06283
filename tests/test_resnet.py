"""ResNet-18..152: registration, V1 vs V1.5, shortcut options, zero-init residuals.

Equality with torchvision (weights, outputs, parameters, MACs) is proven in test_equality.py.
"""

import pytest
import torch

import cnnbook.models.resnet as resnet
from cnnbook.analysis.complexity import count_macs, count_params

DEPTHS = (18, 34, 50, 101, 152)


def test_every_depth_is_registered():
    from cnnbook.models import available

    assert {f"resnet{d}" for d in DEPTHS} <= set(available())


def test_v1_moves_the_stride_to_the_first_1x1():
    v1 = resnet.resnet50(variant="v1")
    v15 = resnet.resnet50()
    assert v1.layer2[0].conv1.stride == (2, 2) and v1.layer2[0].conv2.stride == (1, 1)
    assert v15.layer2[0].conv1.stride == (1, 1) and v15.layer2[0].conv2.stride == (2, 2)
    # Same tensors, so the same weights load into both; the stride on the 1x1 makes
    # the 3x3 run on a quarter of the pixels, so V1 is cheaper.
    v1.load_state_dict(v15.state_dict())
    assert count_params(v1) == count_params(v15)
    assert count_macs(v1, (1, 3, 32, 32)) < count_macs(v15, (1, 3, 32, 32))


def test_shortcut_options_cost():
    nets = {k: resnet.resnet18(shortcut=k).eval() for k in "ABC"}
    a, b, c = (count_params(nets[k]) for k in "ABC")
    # B adds three 1x1 projections (+BN) where the shape changes; C adds one to every
    # block that had none: 5 more in ResNet-18 (layer1 x2, and one per later stage).
    assert b - a == sum(cin * cout + 2 * cout for cin, cout in ((64, 128), (128, 256), (256, 512)))
    extra_c = 2 * (64 * 64 + 128) + 128 * 128 + 256 + 256 * 256 + 512 + 512 * 512 + 1024
    assert c - b == extra_c
    x = torch.randn(1, 3, 32, 32)
    for net in nets.values():
        assert net(x).shape == (1, 1000)


def test_pad_shortcut_is_subsampled_identity_plus_zeros():
    pad = resnet.PadShortcut(4, 8, stride=2)
    x = torch.randn(2, 4, 6, 6)
    y = pad(x)
    assert y.shape == (2, 8, 3, 3)
    assert torch.equal(y[:, :4], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, 4:]) == 0
    assert sum(p.numel() for p in pad.parameters()) == 0


def test_zero_init_residual_makes_blocks_identities():
    for block in (resnet.BasicBlock(8, 8), resnet.Bottleneck(32, 8)):
        resnet.init_weights(block, zero_init_residual=True)
        x = torch.relu(torch.randn(2, block.conv1.in_channels, 5, 5))  # a block sees ReLU output
        assert torch.equal(block.eval()(x), x)


def batchnorm_outputs(block: torch.nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The output of every batch norm of ``block`` (by name) for input ``x``."""
    outputs, hooks = {}, []
    for name, m in block.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            hooks.append(
                m.register_forward_hook(lambda _m, _i, out, n=name: outputs.update({n: out}))
            )
    with torch.no_grad():
        block.eval()(x)
    for h in hooks:
        h.remove()
    return outputs


@pytest.mark.parametrize(
    ("block", "last"),
    [(resnet.BasicBlock(8, 8), "bn2"), (resnet.Bottleneck(32, 8), "bn3")],
    ids=["BasicBlock", "Bottleneck"],
)
def test_zero_init_residual_zeroes_only_the_batch_norm_before_the_addition(block, last):
    # Zeroing an earlier batch norm also makes the block an identity, but kills
    # the signal inside the branch, so no layer but the last BN would learn.
    resnet.init_weights(block, zero_init_residual=True)
    assert block.last_bn() is getattr(block, last)
    outputs = batchnorm_outputs(block, torch.relu(torch.randn(2, block.conv1.in_channels, 5, 5)))
    assert torch.count_nonzero(outputs.pop(last)) == 0
    assert outputs and all(torch.count_nonzero(out) > 0 for out in outputs.values())
    assert (block.bn1.weight == 1).all()


def test_plain_block_has_no_shortcut():
    block = resnet.BasicBlock(8, 8, residual=False)
    resnet.init_weights(block, zero_init_residual=False)
    block.bn2.weight.data.zero_()
    block.bn2.bias.data.zero_()
    x = torch.relu(torch.randn(1, 8, 4, 4)) + 0.1
    assert torch.count_nonzero(block.eval()(x)) == 0  # without the shortcut x is lost
    with pytest.raises(ValueError):
        resnet.BasicBlock(8, 16, 2, downsample=torch.nn.Identity(), residual=False)


@pytest.mark.parametrize("bad", [{"variant": "v2"}, {"shortcut": "D"}])
def test_bad_options_are_rejected(bad):
    with pytest.raises(ValueError, match="must be one of"):
        resnet.resnet18(**bad)
