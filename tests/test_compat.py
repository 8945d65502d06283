"""Weight interchange with torchvision: the generic, model-independent parts.

The proofs for each re-implemented torchvision model are in test_equality.py.
"""

import pytest
import torch
from torch import nn

from cnnbook import compat, models
from cnnbook.errors import CheckpointError


def floating_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items() if v.is_floating_point()}


@pytest.mark.parametrize("name", ["vgg_mini", "vgg11_quarter", "cifar_resnet20", "c3_net"])
def test_randomize_weights_changes_every_element_of_every_floating_tensor(name):
    torch.manual_seed(0)
    model = models.create(name)
    before = floating_tensors(model)
    after = floating_tensors(compat.randomize_weights(model, seed=1))
    assert set(after) == set(before) and before
    for key, tensor in before.items():
        assert (after[key] != tensor).all(), key  # no element, and so no tensor, left as it was
    # Batch-norm variances stay positive, so eval mode stays well defined.
    assert all((v > 0).all() for k, v in after.items() if k.endswith("running_var"))
    torch.manual_seed(0)
    again = floating_tensors(compat.randomize_weights(models.create(name), seed=1))
    other = floating_tensors(compat.randomize_weights(models.create(name), seed=2))
    for key, tensor in after.items():
        assert torch.equal(again[key], tensor), key  # same seed: same values
        assert not torch.equal(other[key], tensor), key  # another seed: other values


def test_randomize_weights_keeps_activations_in_range_through_depth():
    # He-scaled weights: a deep plain stack neither vanishes nor explodes, so an
    # equality proof compares numbers of a sensible size.
    net = nn.Sequential(*[m for _ in range(16) for m in (nn.Linear(256, 256), nn.ReLU())])
    compat.randomize_weights(net, seed=0)
    with torch.no_grad():
        y = net(torch.randn(64, 256, generator=torch.Generator().manual_seed(0)))
    assert 0.1 < y.std().item() < 10


def test_randomize_batchnorm_changes_eval_output_and_is_seeded():
    def net():
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()

    x = torch.randn(1, 3, 8, 8)
    fresh, a, b = (
        net(),
        compat.randomize_batchnorm(net(), seed=1),
        compat.randomize_batchnorm(net(), seed=1),
    )
    assert not torch.allclose(fresh(x), a(x))  # the statistics now matter in eval mode
    assert torch.equal(a(x), b(x))  # and the same seed gives the same model
    conv_before, conv_after = net()[0].state_dict(), a[0].state_dict()
    assert all(torch.equal(conv_after[k], v) for k, v in conv_before.items())  # BN only


def test_strict_loading_names_the_offending_key():
    net = nn.Sequential(nn.Linear(2, 2))
    sd = dict(net.state_dict())
    with pytest.raises(CheckpointError, match="'extra'.*no place"):
        compat.load_torchvision_state_dict(net, {**sd, "extra": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="lacks '0.bias'"):
        compat.load_torchvision_state_dict(net, {"0.weight": sd["0.weight"]})
    with pytest.raises(CheckpointError, match="shape mismatch for '0.weight'"):
        compat.load_torchvision_state_dict(net, {**sd, "0.weight": torch.zeros(3, 2)})


def test_custom_key_map_round_trips():
    class Renamed(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 3)

        def torchvision_key_map(self):
            return {"fc.weight": "0.weight", "fc.bias": "0.bias"}

    source = nn.Sequential(nn.Linear(2, 3))
    ours = compat.load_torchvision_state_dict(Renamed(), source.state_dict())
    assert torch.equal(ours.fc.weight, source[0].weight)
    back = compat.to_torchvision_state_dict(ours)
    assert set(back) == {"0.weight", "0.bias"} and torch.equal(back["0.bias"], source[0].bias)


def test_exported_tensors_are_copies():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 2))
    exported = compat.to_torchvision_state_dict(net)
    exported["0.weight"].zero_()  # editing the export must not edit the model
    assert torch.count_nonzero(net[0].weight) == 4


def test_a_key_map_that_misses_a_key_is_named():
    class Incomplete(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 3)

        def torchvision_key_map(self):
            return {"fc.weight": "0.weight"}

    source = nn.Sequential(nn.Linear(2, 3)).state_dict()
    with pytest.raises(CheckpointError, match="torchvision_key_map\\(\\) misses 'fc.bias'"):
        compat.load_torchvision_state_dict(Incomplete(), source)
    with pytest.raises(CheckpointError, match="misses 'fc.bias'"):
        compat.to_torchvision_state_dict(Incomplete())
