"""Receptive fields: the arithmetic must agree with backpropagation, layer by layer."""

from __future__ import annotations

import random

import pytest
import torch
import torchvision
from torch import nn

from cnnbook.analysis.receptive_field import (
    measure_receptive_fields,
    receptive_fields,
    spatial_layers,
    stack_receptive_field,
)
from cnnbook.models import available, create


def _assert_equal(model, input_size, strict=True, filled=True):
    analytic = receptive_fields(model, strict)
    measured = measure_receptive_fields(model, input_size, strict=strict)
    assert [a.name for a in analytic] == [m.name for m in measured]
    for a, m in zip(analytic, measured, strict=True):
        assert not m.clipped, f"{m.name}: input {input_size} too small for the test"
        # A dilated kernel, or a stride larger than the next kernel, leaves
        # holes; the field's extent is still the analytic size.
        assert m.filled or not filled, m.name
        assert (m.height, m.width) == (a.size, a.size), m.name
        # Position too: the analytic start must place the field where it is.
        first_row, last_row = a.span(m.unit[0])
        first_col, _ = a.span(m.unit[1])
        assert (m.top, m.left) == (first_row, first_col), m.name
        assert last_row == m.top + m.height - 1
    return analytic


@pytest.fixture(scope="module")
def vgg16():
    return torchvision.models.vgg16()


def test_vgg16_table_matches_known_values(vgg16):
    rows = receptive_fields(vgg16)
    assert len(rows) == 18  # 13 convolutions and 5 max-pools
    pools = [r for r in rows if r.kind == "MaxPool2d"]
    assert [r.size for r in pools] == [6, 16, 44, 100, 212]
    assert [r.jump for r in pools] == [2, 4, 8, 16, 32]
    assert rows[-1].start == 15.5
    convs = [r.size for r in rows if r.kind == "Conv2d"]
    assert convs == [3, 5, 10, 14, 24, 32, 40, 60, 76, 92, 132, 164, 196]


def test_vgg16_analytic_equals_measured_for_every_layer(vgg16):
    _assert_equal(vgg16, 224)


def test_measurement_leaves_the_model_unchanged(vgg16):
    before = {n: m for n, m in vgg16.named_modules()}
    weight = vgg16.features[0].weight.detach().clone()
    vgg16.train()
    measure_receptive_fields(vgg16, 64, names=["features.4"])
    assert {n: m for n, m in vgg16.named_modules()} == before
    assert torch.equal(vgg16.features[0].weight, weight)
    assert vgg16.training
    assert not any(m._forward_hooks for m in vgg16.modules())


def test_vgg_with_batch_norm_measures_the_same(vgg16):
    # torchvision's own builder of vgg16_bn's convolutional part (the
    # classifier is irrelevant here and slow to initialise).
    from torchvision.models.vgg import cfgs, make_layers

    bn = make_layers(cfgs["D"], batch_norm=True)
    assert [r.size for r in receptive_fields(bn)] == [r.size for r in receptive_fields(vgg16)]
    _assert_equal(bn, 224)


@pytest.mark.parametrize(
    ("kernels", "size"), [((5,), 5), ((3, 3), 5), ((7,), 7), ((3, 3, 3), 7), ((3,), 3)]
)
def test_small_stacks(kernels, size):
    stack = nn.Sequential(*[nn.Conv2d(4, 4, k, padding=k // 2) for k in kernels])
    rows = _assert_equal(stack, 21)
    assert rows[-1].size == size
    assert stack_receptive_field(kernels) == size


def test_n_stacked_3x3_see_2n_plus_1():
    for n in range(1, 8):
        assert stack_receptive_field([3] * n) == 2 * n + 1


def test_random_stacks_with_stride_padding_and_dilation():
    rng = random.Random(0)
    for _ in range(12):
        layers = []
        for _ in range(rng.randint(1, 5)):
            k, s, d = rng.choice([1, 2, 3, 5]), rng.choice([1, 2]), rng.choice([1, 2])
            p = rng.randint(0, k // 2 + 1)
            if rng.random() < 0.3:
                pool = rng.choice([nn.MaxPool2d, nn.AvgPool2d])
                layers.append(pool(rng.choice([2, 3]), rng.choice([1, 2])))
            else:
                layers.append(nn.Conv2d(2, 2, k, stride=s, padding=p, dilation=d))
        _assert_equal(nn.Sequential(*layers), 96, filled=False)


def test_naive_gradient_undercounts_which_is_why_the_probe_exists():
    # One max-pool window: the true field of its unit is 2x2, but the real
    # gradient reaches only the winning pixel.
    net = nn.Sequential(nn.Conv2d(1, 1, 1), nn.MaxPool2d(2))
    x = torch.randn(1, 1, 8, 8, requires_grad=True)
    net(x)[0, 0, 1, 1].backward()
    assert int((x.grad != 0).sum()) == 1
    assert measure_receptive_fields(net, 8)[-1].height == 2 == receptive_fields(net)[-1].size


@pytest.mark.slow
@pytest.mark.parametrize("name", available())
def test_every_registered_model_is_walked_correctly_or_refused(name):
    # Built on the meta device: no memory, no initialisation time. The
    # measurement swaps in its own stand-ins and never runs the head.
    with torch.device("meta"):
        model = create(name)
    try:
        receptive_fields(model)
    except ValueError as exc:
        assert "may branch" in str(exc)
        assert not name.startswith(("vgg", "kernelnet")), f"{name} is a plain chain"
        return
    assert not any(word in name for word in ("resnet", "plain")), f"{name} branches"
    _assert_equal(model, 320)


def test_clipping_is_reported(vgg16):
    last = measure_receptive_fields(vgg16, 96)[-1]
    assert last.clipped and last.height < 212


def test_branching_models_are_refused():
    with pytest.raises(ValueError, match="may branch"):
        spatial_layers(torchvision.models.resnet18())


def test_unknown_layer_and_empty_model():
    with pytest.raises(ValueError, match="no convolution or pooling layer named"):
        measure_receptive_fields(nn.Sequential(nn.Conv2d(1, 1, 3)), 8, names=["nope"])
    with pytest.raises(ValueError, match="no Conv2d"):
        receptive_fields(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="non-square"):
        receptive_fields(nn.Sequential(nn.Conv2d(1, 1, (3, 5))))
