"""ResNet-18..152 against torchvision: weights, outputs, parameters, MACs."""

import pytest
import torch
import torchvision

import cnnbook.models.resnet as resnet
from cnnbook import compat
from cnnbook.analysis.complexity import count_macs, count_params
from cnnbook.models import create

DEPTHS = (18, 34, 50, 101, 152)


def weights_meta(depth: int) -> dict:
    return getattr(torchvision.models, f"ResNet{depth}_Weights").IMAGENET1K_V1.meta


@pytest.fixture(scope="module", params=DEPTHS, ids=[f"resnet{d}" for d in DEPTHS])
def pair(request):
    depth = request.param
    torch.manual_seed(depth)
    theirs = getattr(torchvision.models, f"resnet{depth}")(weights=None).eval()
    compat.randomize_batchnorm(theirs, seed=depth)
    ours = create(f"resnet{depth}").eval()
    compat.load_torchvision_state_dict(ours, theirs.state_dict())
    return depth, ours, theirs


@pytest.mark.slow
def test_outputs_equal_after_weight_load(pair):
    _, ours, theirs = pair
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        diff = (ours(x) - theirs(x)).abs().max().item()
    assert diff <= 1e-5


@pytest.mark.slow
def test_round_trip_is_exact(pair):
    _, ours, theirs = pair
    back = compat.to_torchvision_state_dict(ours)
    expected = theirs.state_dict()
    assert list(back) == list(expected)
    for key, tensor in expected.items():
        assert torch.equal(back[key], tensor), key


@pytest.mark.slow
def test_params_and_macs_match_torchvision_metadata(pair):
    depth, ours, _ = pair
    meta = weights_meta(depth)
    assert count_params(ours) == meta["num_params"]
    macs = count_macs(ours, (1, 3, 224, 224))
    assert abs(macs - meta["_ops"] * 1e9) <= 0.01 * meta["_ops"] * 1e9


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
