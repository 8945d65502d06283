"""eval_mode / train_mode switch a model for one block and give every layer its mode back."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnbook.analysis import complexity, signal
from cnnbook.modes import eval_mode, train_mode


def _net() -> nn.Sequential:
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Dropout(0.5))
    net.train()
    net[1].eval()  # a frozen batch norm inside a model being trained
    return net


def _modes(net: nn.Module) -> list[bool]:
    return [m.training for m in net.modules()]


def test_eval_mode_switches_every_layer_and_restores_each_one():
    net = _net()
    before = _modes(net)
    with eval_mode(net) as inside:
        assert inside is net and not any(_modes(net))
    assert _modes(net) == before  # the frozen batch norm is still frozen


def test_modes_are_restored_when_the_block_raises():
    net = _net()
    before = _modes(net)
    with pytest.raises(RuntimeError), train_mode(net):
        assert all(_modes(net))
        raise RuntimeError("boom")
    assert _modes(net) == before


def test_analysis_tools_leave_the_callers_mode_alone():
    net = _net()
    before = _modes(net)
    complexity.count_macs(net, (1, 1, 6, 6))
    complexity.measure_latency(net, (1, 1, 6, 6), repeats=1, warmup=0)
    assert _modes(net) == before
    head = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(32, 3))
    head.eval()
    signal.gradient_norms(head, torch.randn(4, 1, 6, 6), torch.tensor([0, 1, 2, 0]))
    assert not any(_modes(head))
