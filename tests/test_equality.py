"""Equality proofs: each of our torchvision re-implementations is torchvision's model.

For every entry of :data:`cnnbook.compat.TORCHVISION_TWINS`, torchvision's
model gets random values in every tensor (weights, biases, batch-norm
statistics: fresh values would hide a bias or a batch norm in the wrong
place), our model loads them strictly through :mod:`cnnbook.compat`, and
then:

* both give the same output in eval mode on a small image;
* the weights go back to torchvision's names unchanged (torchvision -> ours
  -> torchvision is the identity);
* the key map is a one-to-one map onto torchvision's keys, so the other way
  round (ours -> torchvision -> ours) is the identity too, with no second
  model to build; a state dict with one key missing is refused, naming it;
* the parameter count equals, and the MAC count is within 1% of,
  torchvision's published figures for the same architecture.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torchvision
from torch import nn

from cnnbook import compat, models
from cnnbook.analysis import complexity
from cnnbook.errors import CheckpointError

TWINS = sorted(compat.TORCHVISION_TWINS.items())

# A VGG works from 32x32 and a ResNet from less; 64 keeps every stage more than
# one pixel wide, so a misplaced stride or pool changes the output.
X = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))


@dataclass(frozen=True)
class Pair:
    """Our model and torchvision's, holding the same random weights, both in eval mode."""

    name: str  # our registry name
    tv_name: str  # the torchvision builder
    ours: nn.Module
    theirs: nn.Module


def ours_uninitialised(name: str) -> nn.Module:
    """Our model with storage but no initialisation: its values are about to be replaced."""
    with torch.device("meta"):
        model = models.create(name)
    return model.to_empty(device="cpu").eval()


@pytest.fixture(scope="module", params=TWINS, ids=[name for name, _ in TWINS])
def pair(request) -> Pair:
    name, tv_name = request.param
    with torch.device("meta"):
        theirs = getattr(torchvision.models, tv_name)(weights=None)
    theirs = theirs.to_empty(device="cpu")
    # num_batches_tracked is left uninitialised by to_empty; give it a value.
    for buf in theirs.buffers():
        if not buf.is_floating_point():
            buf.zero_()
    compat.randomize_weights(theirs, seed=sum(map(ord, name))).eval()
    ours = compat.load_torchvision_state_dict(ours_uninitialised(name), theirs.state_dict())
    return Pair(name, tv_name, ours, theirs)


def max_error(got: torch.Tensor, expected: torch.Tensor) -> float:
    """Largest difference, relative to the largest output (deep random nets grow large)."""
    return ((got - expected).abs().max() / expected.abs().max()).item()


@torch.no_grad()
def test_same_output_in_eval_mode(pair):
    expected, got = pair.theirs(X), pair.ours(X)
    assert got.shape == expected.shape == (1, 1000)
    assert torch.isfinite(expected).all() and expected.std() > 1e-3  # an output worth comparing
    assert max_error(got, expected) <= 1e-5


def test_round_trip_to_torchvision_is_exact(pair):
    back = compat.to_torchvision_state_dict(pair.ours)
    original = pair.theirs.state_dict()
    assert set(back) == set(original)
    if pair.name == pair.tv_name:  # same names, so the same order as well
        assert list(back) == list(original)
    for key, tensor in original.items():
        assert torch.equal(back[key], tensor), key


def test_key_map_is_one_to_one_onto_torchvisions_keys(pair):
    mapping = compat.key_map(pair.ours)
    assert set(mapping) == set(pair.ours.state_dict())
    assert sorted(mapping.values()) == sorted(pair.theirs.state_dict())


def test_a_missing_key_is_refused_by_name(pair):
    state = dict(pair.theirs.state_dict())
    dropped = next(k for k in reversed(state) if k.endswith("bias"))
    del state[dropped]
    with pytest.raises(CheckpointError, match=f"lacks '{dropped}'"):
        compat.load_torchvision_state_dict(pair.ours, state)


def published(tv_name: str) -> dict:
    """torchvision's ImageNet weights metadata for ``tv_name`` (nothing downloads)."""
    enum = torchvision.models.get_model_weights(tv_name)
    return enum.IMAGENET1K_V1.meta


def test_parameters_equal_published_count(pair):
    assert complexity.count_params(pair.ours) == published(pair.tv_name)["num_params"]


# A 224x224 forward pass per model (up to 20 GMACs): about a second each, 14 of them.
@pytest.mark.slow
def test_macs_within_one_percent_of_published_ops(pair):
    macs = complexity.count_macs(pair.ours, (1, 3, 224, 224))
    ops = published(pair.tv_name)["_ops"] * 1e9  # torchvision's "GFLOPS" count multiply-adds
    assert abs(macs - ops) / ops < 0.01


def shapes_only(builder, **options) -> nn.Module:
    with torch.device("meta"):
        return builder(**options)


@pytest.mark.parametrize(
    ("ours", "theirs", "message"),
    [
        ("vgg13", "vgg11", "lacks 'features.2.weight'|has no place"),
        ("resnet50_keras", "resnet18", "shape mismatch for 'layer1.0.conv1.weight'"),
        ("resnet50", "resnet101", "'layer3.6.conv1.weight' has no place"),
    ],
)
def test_another_architecture_is_refused_with_a_sentence(ours, theirs, message):
    model = shapes_only(models.create, name=ours)
    state = shapes_only(getattr(torchvision.models, theirs), weights=None).state_dict()
    with pytest.raises(CheckpointError, match=message):
        compat.load_torchvision_state_dict(model, state)


def test_another_number_of_classes_is_refused_with_a_sentence():
    ours = shapes_only(models.create, name="vgg16_by_hand", num_classes=3)
    theirs = shapes_only(torchvision.models.vgg16, weights=None)
    with pytest.raises(CheckpointError, match=r"shape mismatch for 'classifier.6.weight'"):
        compat.load_torchvision_state_dict(ours, theirs.state_dict())
