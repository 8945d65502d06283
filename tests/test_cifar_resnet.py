"""The CIFAR networks of the ResNet paper: exact sizes, shapes, plain twins."""

import pytest
import torch

import cnnbook.models.cifar_resnet as cifar
from cnnbook.analysis.complexity import count_params
from cnnbook.models import available, create
from cnnbook.models.resnet import BasicBlock, PadShortcut

# The paper's 0.27M, 0.46M, 0.66M, 0.85M and 1.7M, counted exactly (10 classes).
PARAMS = {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962}


@pytest.mark.parametrize("depth", sorted(PARAMS))
def test_parameter_counts_match_the_paper(depth):
    resnet = create(f"cifar_resnet{depth}")
    plain = create(f"cifar_plain{depth}")
    assert count_params(resnet) == PARAMS[depth]
    # Option A shortcuts are free: the plain twin has exactly the same weights.
    assert count_params(plain) == PARAMS[depth]
    assert list(resnet.state_dict()) == list(plain.state_dict())


def test_layer_count_is_6n_plus_2():
    model = create("cifar_resnet56")
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert len(convs) + len(linears) == 56
    assert sum(isinstance(m, PadShortcut) for m in model.modules()) == 2


def test_shapes_through_the_stages():
    model = create("cifar_resnet20").eval()
    x = torch.randn(2, 3, 32, 32)
    x = model.relu(model.bn1(model.conv1(x)))
    shapes = []
    for stage in (model.layer1, model.layer2, model.layer3):
        x = stage(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_plain_and_residual_differ_only_by_the_addition():
    torch.manual_seed(0)
    resnet = create("cifar_resnet20").eval()
    plain = create("cifar_plain20").eval()
    plain.load_state_dict(resnet.state_dict())
    x = torch.randn(2, 3, 32, 32)
    assert not torch.allclose(resnet(x), plain(x))
    for m in resnet.modules():
        if isinstance(m, BasicBlock):
            m.residual = False
    assert torch.equal(resnet(x), plain(x))


def test_option_b_adds_two_projections():
    b = create("cifar_resnet20", shortcut="B")
    projections = (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    assert count_params(b) == PARAMS[20] + projections


def test_zero_init_residual_and_options():
    model = create(
        "cifar_resnet20", zero_init_residual=True, in_channels=1, base_channels=4, num_classes=3
    )
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 9
    assert all(torch.count_nonzero(b.bn2.weight) == 0 for b in blocks)  # the BN before the sum
    assert all((b.bn1.weight == 1).all() for b in blocks)  # and only that one
    assert model(torch.randn(2, 1, 16, 16)).shape == (2, 3)
    with pytest.raises(ValueError, match="takes no option 'shortcut'"):
        create("cifar_plain20", shortcut="B")  # a plain network has no shortcut to choose
    with pytest.raises(ValueError, match="6n \\+ 2"):
        cifar.CifarResNet(21)


def test_all_names_registered():
    names = set(available())
    for d in cifar.DEPTHS:
        assert {f"cifar_resnet{d}", f"cifar_plain{d}"} <= names
