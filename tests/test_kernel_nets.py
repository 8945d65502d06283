"""The kernel-choice networks: same receptive fields, the intended sizes, nothing else different."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnbook.analysis.complexity import count_params
from cnnbook.analysis.receptive_field import receptive_fields
from cnnbook.models import available, create
from cnnbook.models import kernel_nets as K

NAMES = [
    "kernelnet_3x3",
    "kernelnet_5x5",
    "kernelnet_5x5_matched",
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

    assert pools("kernelnet_3x3") == pools("kernelnet_5x5") == pools("kernelnet_5x5_matched")
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
