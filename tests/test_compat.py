"""Weight interchange with torchvision: the generic, model-independent parts."""

import pytest
import torch
from torch import nn

from cnnbook import compat


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


def test_strict_loading_names_the_offending_key():
    net = nn.Sequential(nn.Linear(2, 2))
    sd = dict(net.state_dict())
    with pytest.raises(ValueError, match="'extra'.*no place"):
        compat.load_torchvision_state_dict(net, {**sd, "extra": torch.zeros(1)})
    with pytest.raises(ValueError, match="lacks '0.bias'"):
        compat.load_torchvision_state_dict(net, {"0.weight": sd["0.weight"]})
    with pytest.raises(ValueError, match="shape mismatch for '0.weight'"):
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
