"""Parameter and MAC counting, checked against hand arithmetic."""

import torch
from torch import nn

from cnnbook import runinfo
from cnnbook.analysis import complexity


def test_conv_cost_formula():
    # 3x3 conv, 64 -> 128 channels, 56x56 output: 9*64*128 weights + 128 biases
    params, macs = complexity.conv_cost(64, 128, 3, 56, 56)
    assert params == 9 * 64 * 128 + 128 == 73_856
    assert macs == 9 * 64 * 128 * 56 * 56


def test_counts_match_a_hand_count():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 10 * 10, 5)
    )
    assert complexity.count_params(net) == (27 * 8 + 8) + (800 * 5 + 5)
    # torchinfo counts a bias add as one more MAC per output element
    conv_macs = 27 * 8 * 10 * 10 + 8 * 10 * 10
    linear_macs = 800 * 5 + 5
    assert complexity.count_macs(net, (1, 3, 10, 10)) == conv_macs + linear_macs
    rows = complexity.layer_costs(net, (1, 3, 10, 10))
    assert [r.kind for r in rows] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    assert rows[0].name == "0" and rows[0].output_shape == (1, 8, 10, 10)
    assert sum(r.params for r in rows) == complexity.count_params(net)


def test_trainable_only_skips_frozen():
    net = nn.Linear(4, 2)
    net.bias.requires_grad_(False)
    assert complexity.count_params(net, trainable_only=True) == 8
    assert complexity.count_params(net) == 10


def test_summary_restores_training_mode():
    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout())
    net.train()
    complexity.summarize(net, (1, 4))
    assert net.training


def test_latency_is_positive_and_restores_mode():
    m = torch.nn.Sequential(torch.nn.Linear(8, 8))
    m.train()
    lat = complexity.measure_latency(m, (1, 8), repeats=3)
    assert 0 < lat["min_s"] <= lat["median_s"] and lat["repeats"] == 3
    assert m.training


def test_runinfo_names_versions_and_seed():
    line = runinfo.describe(seed=7)
    assert f"torch {torch.__version__}" in line and "seed 7" in line
    assert runinfo.info()["gpu"] == (
        "none" if not torch.cuda.is_available() else runinfo.accelerator()
    )
