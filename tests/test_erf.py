"""Effective receptive fields: exact for linear layers, peaked for stacks."""

from __future__ import annotations

import math

import pytest
import torch
from scipy.signal import convolve2d
from torch import nn

from cnnbook.analysis import erf as E


def test_single_linear_conv_gives_the_kernel_magnitude():
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 1, 5, padding=2)
    m = E.effective_receptive_field(conv, input_size=(1, 11, 11), samples=3, layer="")
    expected = torch.zeros(11, 11, dtype=torch.float64)
    expected[3:8, 3:8] = conv.weight[0, 0].detach().abs().double()
    torch.testing.assert_close(m, expected / expected.sum())


def test_two_linear_3x3_give_the_full_convolution_of_their_kernels():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 3, padding=1))
    m = E.effective_receptive_field(net, input_size=(1, 11, 11), samples=2)
    k = convolve2d(net[0].weight[0, 0].detach().numpy(), net[1].weight[0, 0].detach().numpy())
    expected = torch.zeros(11, 11, dtype=torch.float64)
    expected[3:8, 3:8] = torch.from_numpy(abs(k)).double()
    torch.testing.assert_close(m, expected / expected.sum())
    assert int((m > 0).sum()) == 25  # the same 5x5 support as one 5x5 kernel


def _stack(kernels, seed):
    torch.manual_seed(seed)
    layers, c = [], 1
    for k in kernels:
        layers += [nn.Conv2d(c, 16, k, padding=k // 2), nn.ReLU()]
        c = 16
    return nn.Sequential(*layers[:-1])  # the unit is the last convolution's output


def test_stacked_3x3_are_more_centre_heavy_than_one_5x5():
    kw = {"input_size": (1, 15, 15), "samples": 16}
    two = E.mean_effective_receptive_field([_stack((3, 3), s) for s in range(12)], **kw)
    one = E.mean_effective_receptive_field([_stack((5,), s) for s in range(12)], **kw)
    assert int((two > 0).sum()) == int((one > 0).sum()) == 25
    assert E.mass_within(two, 3) > E.mass_within(one, 3) + 0.05
    assert E.radius(two) < E.radius(one)


def test_summaries_of_a_flat_square():
    flat = torch.zeros(15, 15, dtype=torch.float64)
    flat[5:10, 5:10] = 1 / 25
    assert E.centre(flat) == pytest.approx((7.0, 7.0))
    assert E.radius(flat) == pytest.approx(math.sqrt((5**2 - 1) / 6))
    assert E.mass_within(flat, 3) == pytest.approx(9 / 25)
    assert E.mass_within(flat, 5) == pytest.approx(1.0)
    assert E.crop(flat, 5).shape == (5, 5) and float(E.crop(flat, 5).sum()) == pytest.approx(1.0)


def test_mode_restored_and_bad_input():
    net = _stack((3, 3), 0).train()
    E.effective_receptive_field(net, torch.randn(2, 1, 9, 9))
    assert net.training and not any(m._forward_hooks for m in net.modules())
    with pytest.raises(ValueError, match="no layer named"):
        E.effective_receptive_field(net, torch.randn(2, 1, 9, 9), layer="9")
    with pytest.raises(ValueError, match="input_size"):
        E.effective_receptive_field(net)
    with pytest.raises(ValueError, match="batch"):
        E.effective_receptive_field(net, torch.randn(1, 9, 9))
