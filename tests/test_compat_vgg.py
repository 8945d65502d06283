"""Our VGGs are torchvision's VGGs: same weights, same outputs, same counts.

For each of torchvision's eight VGGs, a randomly initialised torchvision
model's state dict loads strictly into the model of the same name from our
registry, both give the same output in eval mode, the weights come back
unchanged, and parameters and MACs equal torchvision's published figures.
"""

import pytest
import torch
import torchvision
from torchvision import models as tvm

from cnnbook import compat, models
from cnnbook.analysis import complexity

pytestmark = pytest.mark.slow

NAMES = ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]


def published(name: str):
    """torchvision's ImageNet weights entry for ``name`` (metadata only; nothing downloads)."""
    enum = getattr(tvm, name.upper() + "_Weights")
    return enum.IMAGENET1K_V1


@pytest.fixture(scope="module", params=NAMES)
def pair(request):
    """(name, torchvision model, our model holding its weights), built once per name."""
    name = request.param
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, name)(weights=None)
    compat.randomize_batchnorm(theirs, seed=1)
    theirs.eval()
    # Our model's own initialisation would be overwritten at once, so skip it:
    # build on the meta device and allocate storage without filling it.
    with torch.device("meta"):
        ours = models.create(name, init_weights=False)
    ours = ours.to_empty(device="cpu")
    compat.load_torchvision_state_dict(ours, theirs.state_dict())
    ours.eval()
    return name, theirs, ours


@torch.no_grad()
def test_same_output_in_eval_mode(pair):
    _, theirs, ours = pair
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    expected, got = theirs(x), ours(x)
    assert got.shape == expected.shape == (2, 1000)
    assert expected.abs().max() > 1e-3  # a non-trivial output, so equality means something
    assert (got - expected).abs().max().item() <= 1e-5


def test_round_trip_is_exact(pair):
    _, theirs, ours = pair
    back = compat.to_torchvision_state_dict(ours)
    original = theirs.state_dict()
    assert list(back) == list(original)
    for key, tensor in original.items():
        assert torch.equal(back[key], tensor), key


def test_parameters_equal_published_count(pair):
    name, _, ours = pair
    assert complexity.count_params(ours) == published(name).meta["num_params"]


def test_macs_within_one_percent_of_published_ops(pair):
    name, _, ours = pair
    macs = complexity.count_macs(ours, (1, 3, 224, 224))
    ops = published(name).meta["_ops"] * 1e9  # torchvision's "GFLOPS" count multiply-adds
    assert abs(macs - ops) / ops < 0.01


def test_loading_another_architecture_fails_clearly():
    with torch.device("meta"):
        vgg11 = torchvision.models.vgg11(weights=None)
        ours = models.create("vgg13", init_weights=False)
    with pytest.raises(ValueError, match="lacks 'features.2.weight'|has no place"):
        compat.load_torchvision_state_dict(ours, vgg11.state_dict())
