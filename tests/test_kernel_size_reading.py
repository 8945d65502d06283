"""Reading the kernel-size experiment for the page: the cost table, its sentences, its figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from cnnbook import results
from cnnbook.experiments import kernel_size as ks
from cnnbook.experiments import kernel_size_reading as reading

VARIANTS = list(ks.NETWORKS)


def _stage(side: int, params: int, macs: int) -> dict:
    return {"side": side, "params": params, "macs": macs}


def _costs() -> dict[str, dict]:
    """Four designs: the stack has fewer parameters but more MACs than the equal-width 5x5."""
    numbers = {
        "2 x 3x3": (8, 1_000, 50_000, 9_000),
        "1 x 5x5": (4, 1_300, 40_000, 5_000),
        "1 x 5x5, matched params": (4, 1_010, 30_000, 4_000),
        "1 x 5x5, matched MACs": (4, 1_700, 50_500, 6_000),
    }
    return {
        v: {
            "variant": v,
            "widths": (8, 16, 32, 32),
            "convs": convs,
            "params": params,
            "macs": macs,
            "activations": written,
            "stages": [_stage(16, 100, macs // 2), _stage(2, params - 100, macs // 2)],
        }
        for v, (convs, params, macs, written) in numbers.items()
    }


def test_cost_table_is_one_row_per_quantity_and_one_column_per_design():
    cost = _costs()
    seconds = dict(zip(VARIANTS, (2e-4, 1e-4, 0.8e-4, 1.5e-4), strict=True))
    headers, rows = reading.cost_table(cost, seconds)
    assert headers[0] == "per image" and len(headers) == 1 + len(VARIANTS)
    assert headers[1] == "2 x 3x3\nwidths (8, 16, 32, 32)"
    table = {row[0]: row[1:] for row in rows}
    assert all(len(values) == len(VARIANTS) for values in table.values())
    assert table["parameters"] == (1_000, 1_300, 1_010, 1_700)
    assert table["MACs"] == (50_000, 40_000, 30_000, 50_500)
    assert table["parameters, x 2 x 3x3"] == ("1.00", "1.30", "1.01", "1.70")
    assert table["MACs, x 2 x 3x3"] == ("1.00", "0.80", "0.60", "1.01")
    assert table["CPU µs, training step"] == ("200", "100", "80", "150")
    assert table["CPU time, x 2 x 3x3"] == ("1.00", "0.50", "0.40", "0.75")
    assert table["values written"] == (9_000, 5_000, 4_000, 6_000)


def test_change_says_more_or_fewer():
    assert reading.change(122, 100) == "22% more"
    assert reading.change(87, 100) == "13% fewer"


def test_costs_explained_is_written_from_the_numbers():
    text = reading.costs_explained(_costs(), channels=1)
    assert text.startswith("The 2 x 3x3 network has 23% fewer parameters than the 1 x 5x5")
    assert "and 25% more MACs per image" in text
    assert "256 positions in the first stage, 4 in the last" in text
    assert "25,000 MACs against 20,000" in text and "the 1-channel input" in text
    assert "holds 1,200 parameters against 900" in text


@pytest.mark.parametrize(
    ("fast_stack", "says"),
    [(True, "so on this CPU time follows the MACs."), (False, "only roughly")],
)
def test_time_explained_says_whether_time_follows_the_macs(fast_stack, says):
    cost = _costs()
    # Per MAC: equal for all four designs, or the stack twice as slow.
    per_mac = {v: (1.0 if fast_stack or v != "2 x 3x3" else 2.0) * 1e-9 for v in VARIANTS}
    seconds = {v: per_mac[v] * cost[v]["macs"] for v in VARIANTS}
    text = reading.time_explained(cost, seconds)
    assert says in text
    assert text.startswith(
        f"Measured in one run, the 2 x 3x3 network takes {1.25 if fast_stack else 2.5:.2f}x"
    )


def _pair(mean: float, p: float | None, ahead: int = 6, behind: int = 2) -> dict:
    return {"variant": "1 x 5x5", "seeds": list(range(8)), "mean": mean, "p": p,
            "ahead": ahead, "behind": behind, "sd": 0.001, "ties": 0}  # fmt: skip


def test_read_pair_judges_by_the_paired_test():
    held = reading.read_pair(_pair(0.0034, 0.004))
    assert held.startswith("1 x 5x5 ends 0.34 points above 2 x 3x3")
    assert "for 6 of 8 seeds and the worse for 2" in held
    assert "p = 0.004: the seeds agree on a difference" in held
    unclear = reading.read_pair(_pair(-0.001, 0.3))
    assert "0.10 points below" in unclear and "8 seeds cannot separate the two" in unclear
    assert "no spread" in reading.read_pair(_pair(0.0, None))


def test_overall_says_how_many_comparisons_hold_and_how_large_they_are():
    pairs = [_pair(0.004, 0.01), _pair(0.006, 0.02)]
    assert reading.overall(pairs, 768).startswith("At this scale VGG's choice holds up")
    assert "at most 0.60 points, about 5 of the 768 validation patches" in reading.overall(
        pairs, 768
    )
    mixed = reading.overall([_pair(0.004, 0.01), _pair(0.006, 0.2)], 768)
    assert mixed.startswith("The stack is ahead beyond chance in 1 of the 2 comparisons.")


@pytest.fixture(scope="module")
def stored():
    paths = results.find("kernel_size-*.json")
    if not paths:
        pytest.skip("no recorded kernel_size run")
    return results.load(paths[0])


def test_read_run_reads_every_comparison_of_the_stored_run(stored):
    text = reading.read_run(stored, 768)
    pairs = ks.paired(stored["rows"])
    assert len(pairs) == 3
    for p in pairs:
        assert reading.read_pair(p) in text
    assert text.endswith(reading.overall(pairs, 768))


def test_figures_show_every_design_and_every_seed(stored):
    plt.close("all")
    reading.plot_curves(stored)
    fig = plt.gcf()
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == VARIANTS
    seeds = len({r["seed"] for r in stored["rows"]})
    # Each panel: one thin line per seed and the thick mean.
    assert all(len(ax.lines) == seeds + 1 for ax in fig.axes)
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    reading.plot_by_seed(stored)
    ax = plt.gcf().axes[0]
    assert len(ax.lines) == seeds + 1
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "2 x 3x3"
    plt.close("all")
