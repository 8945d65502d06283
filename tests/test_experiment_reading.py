"""The pages' "reading of this run" is package code: each branch of it is checked here.

The sentences are written from the numbers of a run, so a page can never
claim a result its own run does not show. Synthetic runs put the numbers on
each side of every comparison.
"""

from __future__ import annotations

import pytest

from cnnbook.experiments import c3_compare, common, degradation


def _run(key: str, label: str, seed: int, loss: float, **extra) -> dict:
    return {key: label, "seed": seed, "train_loss": [9.0, loss], **extra}


def _degradation(p56, p20, r56, r20) -> dict:
    runs = []
    for name, losses in [
        ("cifar_plain20", p20),
        ("cifar_plain56", p56),
        ("cifar_resnet20", r20),
        ("cifar_resnet56", r56),
    ]:
        for seed, loss in enumerate(losses):
            runs.append(_run("model", name, seed, loss, train_acc=[0.1, 0.5], val_acc=0.5))
    return {"runs": runs}


@pytest.mark.parametrize(
    ("p56", "p20", "expected"),
    [
        ((0.9, 0.8, 0.7), (0.5, 0.4, 0.3), "for every seed (0.800 vs 0.400 on average)"),
        ((0.1, 0.2, 0.3), (0.5, 0.4, 0.35), "this run shows no degradation"),
        ((0.9, 0.2, 0.3), (0.5, 0.4, 0.35), "above plain-20 for 1 of 3 seeds"),
    ],
    ids=["degrades", "does-not", "mixed"],
)
def test_degradation_reading_follows_the_plain_numbers(p56, p20, expected):
    plain, _, _ = degradation.read_run(_degradation(p56, p20, (0.2,) * 3, (0.3,) * 3))
    assert expected in plain


def test_degradation_reading_of_the_residual_pair_and_the_shortcut():
    lines = degradation.read_run(_degradation((0.9,) * 3, (0.5,) * 3, (0.2,) * 3, (0.3,) * 3))
    assert "ResNet-56 ended at or below ResNet-20 for every seed (0.200 vs 0.300)" in lines[1]
    assert "from 0.900 (plain) to 0.200 (residual), a difference of +0.700" in lines[2]
    lines = degradation.read_run(_degradation((0.9,) * 3, (0.5,) * 3, (0.4, 0.2, 0.2), (0.3,) * 3))
    assert "ResNet-56 ended above ResNet-20 for 1 of 3 seeds" in lines[1]


def test_c3_reading_counts_wins_per_seed_and_signs_the_advantage():
    losses = {
        "C3 x1, shortcut": (0.5, 0.7),
        "C3 x1, no shortcut": (0.6, 0.6),
        "C3 x4, shortcut": (0.2, 0.3),
        "C3 x4, no shortcut": (0.9, 0.8),
    }
    runs = [
        _run("variant", label, seed, loss, val_acc=0.5 + 0.1 * seed)
        for label, pair in losses.items()
        for seed, loss in enumerate(pair)
    ]
    x1, x4, gap = c3_compare.read_run({"runs": runs})
    assert "gave the same mean final training loss (0.600 vs 0.600" in x1
    assert "lower in 1 of 2 seeds" in x1
    assert "gave a lower mean final training loss (0.250 vs 0.850; lower in 2 of 2 seeds)" in x4
    assert "+0.000 with a one-bottleneck chain and +0.600 with a four-bottleneck" in gap


def test_helpers_group_in_first_seen_order_and_pair_by_seed():
    runs = [_run("m", "b", 0, 1.0), _run("m", "a", 0, 2.0), _run("m", "b", 1, 3.0)]
    groups = common.group_runs(runs, "m")
    assert list(groups) == ["b", "a"] and common.final_values(groups["b"]) == [1.0, 3.0]
    assert common.count_above([1, 5, 3], [2, 4, 3]) == 1
    with pytest.raises(ValueError):
        common.count_above([1, 2], [1])
