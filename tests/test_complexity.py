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


def test_meta_models_count_like_real_ones_and_allocate_for_timing():
    def build():
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.LazyLinear(4))

    real = build()
    real(torch.zeros(1, 3, 10, 10))  # materialise the lazy layer
    with torch.device("meta"):
        ghost = nn.Sequential(
            nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(512, 4)
        )
    assert complexity.count_params(ghost) == complexity.count_params(real)
    # torchinfo runs where the model is: on the meta device nothing is computed.
    assert complexity.count_macs(ghost, (1, 3, 10, 10)) == complexity.count_macs(
        real, (1, 3, 10, 10)
    )
    net = complexity.allocate(ghost)
    assert next(net.parameters()).device.type == "cpu" and not net.training
    assert all(not t.any() for t in net.state_dict().values())  # zeroed, not left uninitialised
    assert complexity.measure_latency(net, (1, 3, 10, 10), repeats=1)["min_s"] > 0


def test_summary_rows_give_block_totals_down_to_a_depth():
    net = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 1)),
        nn.Flatten(),
        nn.Linear(4 * 6 * 6, 2),
    )
    stats = complexity.summarize(net, (1, 3, 6, 6))
    shallow = complexity.summary_rows(stats, depth=1)
    assert [(r.name, r.kind, r.container) for r in shallow] == [
        ("0", "Sequential", True), ("1", "Flatten", False), ("2", "Linear", False)
    ]  # fmt: skip
    assert sum(r.params for r in shallow) == stats.total_params
    assert sum(r.macs for r in shallow) == stats.total_mult_adds
    block = shallow[0]
    assert block.macs == (27 * 4 + 4) * 36 + (4 * 4 + 4) * 36 and block.output_shape == (1, 4, 6, 6)
    deep = complexity.summary_rows(stats, depth=2)
    assert [r.name for r in deep] == ["0", "0.0", "0.1", "0.2", "1", "2"]
