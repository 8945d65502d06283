"""The kernel-choice networks: same receptive fields, the intended sizes, nothing else different."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnbook.analysis.complexity import count_macs, count_params
from cnnbook.analysis.receptive_field import receptive_fields
from cnnbook.models import available, create
from cnnbook.models import kernel_nets as K

NAMES = [
    "kernelnet_3x3",
    "kernelnet_5x5",
    "kernelnet_5x5_matched",
    "kernelnet_5x5_macs",
    "kernelnet_3x3x3",
    "kernelnet_7x7",
]


def test_registered():
    assert set(NAMES) <= set(available())


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("kernels", [(3, 3), (5,), (3, 3, 3), (7,)])
def test_closed_form_parameter_count(kernels, batch_norm):
    widths = (6, 12, 24, 24)
    net = K.KernelNet(kernels, widths, in_channels=1, num_classes=3, batch_norm=batch_norm)
    assert count_params(net) == K.kernel_net_params(kernels, widths, 1, 3, batch_norm)


def test_pairs_have_equal_receptive_fields_after_every_stage():
    def pools(name):
        return [r.size for r in receptive_fields(create(name)) if r.kind == "MaxPool2d"]

    five = [pools(n) for n in ("kernelnet_5x5", "kernelnet_5x5_matched", "kernelnet_5x5_macs")]
    assert five == [pools("kernelnet_3x3")] * 3
    assert pools("kernelnet_3x3x3") == pools("kernelnet_7x7")
    # First stage, before its pool: 5x5 and 7x7 exactly.
    assert receptive_fields(create("kernelnet_3x3"))[1].size == 5
    assert receptive_fields(create("kernelnet_5x5"))[0].size == 5
    assert receptive_fields(create("kernelnet_3x3x3"))[2].size == 7
    assert receptive_fields(create("kernelnet_7x7"))[0].size == 7


def test_only_the_kernels_differ():
    a, b = create("kernelnet_3x3"), create("kernelnet_5x5")
    relus = [sum(isinstance(m, nn.ReLU) for m in n.modules()) for n in (a, b)]
    convs = [[m.kernel_size[0] for m in n.modules() if isinstance(m, nn.Conv2d)] for n in (a, b)]
    assert relus == [8, 4]  # two non-linearities per stage against one
    assert convs == [[3] * 8, [5] * 4]
    assert a.widths == b.widths
    assert (
        type(a.classifier) is type(b.classifier)
        and a.classifier.weight.shape == b.classifier.weight.shape
    )


def test_last_stage_is_c_to_c_so_the_18_vs_25_argument_applies():
    a, b = (
        create("kernelnet_3x3", widths=(8, 16, 32, 32)),
        create("kernelnet_5x5", widths=(8, 16, 32, 32)),
    )
    last_a = sum(m.weight.numel() for m in a.features[-1].modules() if isinstance(m, nn.Conv2d))
    last_b = sum(m.weight.numel() for m in b.features[-1].modules() if isinstance(m, nn.Conv2d))
    assert (last_a, last_b) == (18 * 32 * 32, 25 * 32 * 32)


@pytest.mark.parametrize("in_channels", [1, 3])
def test_matched_variant_matches_parameters(in_channels):
    ref = count_params(create("kernelnet_3x3", in_channels=in_channels, num_classes=3))
    big = count_params(create("kernelnet_5x5", in_channels=in_channels, num_classes=3))
    matched = create("kernelnet_5x5_matched", in_channels=in_channels, num_classes=3)
    assert big > ref  # with the default widths the 5x5 net is the larger one ...
    assert all(
        m < w for m, w in zip(matched.widths, K.DEFAULT_WIDTHS, strict=True)
    )  # ... so it shrinks
    assert abs(count_params(matched) - ref) / ref < 0.02
    assert abs(count_params(matched) - ref) < big - ref


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("kernels", [(3, 3), (5,), (3, 3, 3)])
@pytest.mark.parametrize("size", [16, 32])
def test_closed_form_macs_agree_with_torchinfo(kernels, size, batch_norm):
    widths = (6, 12, 24, 24)
    net = K.KernelNet(kernels, widths, in_channels=1, num_classes=3, batch_norm=batch_norm)
    assert count_macs(net, (1, 1, size, size)) == K.kernel_net_macs(
        kernels, widths, 1, 3, size, batch_norm
    )
    stages = K.stage_costs(kernels, widths, 1, size, batch_norm)
    assert [s["side"] for s in stages] == [size, size // 2, size // 4, size // 8]
    assert sum(s["params"] for s in stages) + 24 * 3 + 3 == count_params(net)
    # values written: one per output channel and pixel of every convolution
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    sides = [size >> i for i in range(len(widths)) for _ in kernels]
    assert sum(s["activations"] for s in stages) == sum(
        c.out_channels * side * side for c, side in zip(convs, sides, strict=True)
    )


@pytest.mark.parametrize("widths", [None, (8, 16, 32, 32)])
@pytest.mark.parametrize("in_channels", [1, 3])
def test_mac_matched_variant_matches_macs_at_any_size(widths, in_channels):
    kw = {"num_classes": 3, "in_channels": in_channels, "widths": widths}
    ref, five, matched = (
        create(n, **kw) for n in ("kernelnet_3x3", "kernelnet_5x5", "kernelnet_5x5_macs")
    )
    for size in (16, 32, 64):
        shape = (1, in_channels, size, size)
        target = count_macs(ref, shape)
        assert abs(count_macs(matched, shape) - target) / target < 0.02, size
        assert count_macs(five, shape) < target  # the 5x5 net does fewer MACs ...
    assert all(m >= w for m, w in zip(matched.widths, five.widths, strict=True))  # ... so it widens
    # Matched in MACs, the 5x5 net holds far more weights than the 3x3 one.
    assert count_params(matched) > 1.25 * count_params(ref)


def test_matching_needs_a_known_measure():
    with pytest.raises(ValueError, match="params, macs"):
        K.matched_widths(by="time")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [16, 32])
def test_forward_any_size(name, size):
    net = create(name, num_classes=3, in_channels=1, widths=(4, 8, 8, 8))
    assert net(torch.zeros(2, 1, size, size)).shape == (2, 3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="odd"):
        K.KernelNet((4,))
    with pytest.raises(ValueError, match="positive"):
        K.KernelNet((3,), (8, 0))
