"""Reading the kernel-size experiment for the "Why 3x3" page: costs, recorded run, figures.

The code that makes the numbers (:mod:`cnnbook.experiments.kernel_size`) is
fingerprinted with the recorded run; this module only reads them (the cost
table laid out per quantity, the sentences the page shows, the figures of
the stored curves), so it can be reworded without re-running anything.
Every sentence is written from the numbers it is given, never in advance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cnnbook import plots
from cnnbook.experiments import kernel_size as ks
from cnnbook.experiments import recorded


def change(x: float, y: float) -> str:
    """``x`` against ``y`` in words: '22% more' or '13% fewer'."""
    return f"{abs(x / y - 1):.0%} {'more' if x > y else 'fewer'}"


def cost_table(
    cost: Mapping[str, dict], seconds: Mapping[str, float], reference: str = ks.REFERENCE
) -> tuple[list[str], list[tuple]]:
    """Headers and rows of the designs' costs, one row per quantity, one column per design.

    ``cost`` is :func:`kernel_size.costs` by variant, ``seconds`` the CPU
    seconds per image by variant. Four designs side by side read as a
    comparison; ratios ("x") are to ``reference``, written with two
    decimals, CPU time in whole microseconds.
    """
    ref = cost[reference]
    names = list(cost)
    headers = ["per image", *(f"{v}\nwidths {cost[v]['widths']}" for v in names)]

    def ratio(values: Mapping[str, float], base: float) -> list[str]:
        return [f"{values[v] / base:.2f}" for v in names]

    params = {v: cost[v]["params"] for v in names}
    macs = {v: cost[v]["macs"] for v in names}
    rows = [
        ("convolutions", *(cost[v]["convs"] for v in names)),
        ("parameters", *params.values()),
        (f"parameters, x {reference}", *ratio(params, ref["params"])),
        ("MACs", *macs.values()),
        (f"MACs, x {reference}", *ratio(macs, ref["macs"])),
        ("values written", *(cost[v]["activations"] for v in names)),
        ("CPU µs, training step", *(f"{1e6 * seconds[v]:.0f}" for v in names)),
        (f"CPU time, x {reference}", *ratio(seconds, seconds[reference])),
    ]
    return headers, rows


def costs_explained(cost: Mapping[str, dict], channels: int) -> str:
    """Why the stack has fewer parameters but more MACs than one 5x5 of equal widths."""
    stack, single = cost[ks.REFERENCE], cost["1 x 5x5"]
    top3, top5 = stack["stages"][0], single["stages"][0]
    end3, end5 = stack["stages"][-1], single["stages"][-1]
    width = stack["widths"][0]
    return (
        f"The 2 x 3x3 network has {change(stack['params'], single['params'])} parameters "
        f"than the 1 x 5x5 one and {change(stack['macs'], single['macs'])} MACs per image. "
        f"A weight costs one MAC per position it is applied at: {top3['side'] ** 2} "
        f"positions in the first stage, {end3['side'] ** 2} in the last. In the first "
        f"stage, at full resolution, the stack runs two convolutions, the second from "
        f"{width} to {width} channels: {top3['macs']:,} MACs against {top5['macs']:,} for "
        f"one 5x5 that reads the {channels}-channel input. In the last stage, where a "
        f"C -> C layer costs 18C^2 weights as two 3x3 and 25C^2 as one 5x5, the 5x5 "
        f"network holds {end5['params']:,} parameters against {end3['params']:,}, but "
        f"uses each only {end5['side'] ** 2} times. Fewer weights can mean more MACs."
    )


def time_explained(cost: Mapping[str, dict], seconds: Mapping[str, float]) -> str:
    """How the measured CPU time relates to the MACs, from one run's timings."""
    stack, single = cost[ks.REFERENCE], cost["1 x 5x5"]
    times = seconds[ks.REFERENCE] / seconds["1 x 5x5"]
    macs = stack["macs"] / single["macs"]
    written = stack["activations"] / single["activations"]
    by_macs = cost["1 x 5x5, matched MACs"]
    ns = {v: 1e9 * seconds[v] / c["macs"] for v, c in cost.items()}  # CPU ns per MAC
    low, high = min(ns, key=ns.__getitem__), max(ns, key=ns.__getitem__)
    if ns[high] / ns[low] <= 1.15:
        follows = (
            f"Per MAC the four networks cost within {ns[high] / ns[low] - 1:.0%} of each "
            f"other ({ns[low]:.2f} to {ns[high]:.2f} ns of CPU time), so on this CPU time "
            "follows the MACs."
        )
    else:
        follows = (
            f"Per MAC they cost from {ns[low]:.2f} ns ({low}) to {ns[high]:.2f} ns "
            f"({high}) of CPU time, so time follows the MACs only roughly: besides its "
            "arithmetic every layer costs a call and a pass over the values it writes, "
            f"and the stack has twice the layers and writes {written:.2f}x the values of "
            "the 5x5 network."
        )
    return (
        f"Measured in one run, the 2 x 3x3 network takes {times:.2f}x the CPU time per "
        f"image of the 1 x 5x5 network for {macs:.2f}x its MACs; the 5x5 network matched "
        f"in MACs does {by_macs['macs'] / stack['macs']:.2f}x the stack's MACs in "
        f"{seconds[by_macs['variant']] / seconds[ks.REFERENCE]:.2f}x its time. {follows}"
    )


def read_pair(p: dict) -> str:
    """One comparison of :func:`kernel_size.paired`, in words, from its numbers."""
    n, d = len(p["seeds"]), 100 * p["mean"]
    side = "above" if d > 0 else "below"
    if p["p"] is not None and p["p"] < 0.05:
        judged = f"paired t-test p = {p['p']:.2g}: the seeds agree on a difference"
    else:
        p_text = "no spread" if p["p"] is None else f"p = {p['p']:.2g}"
        judged = f"paired t-test {p_text}: {n} seeds cannot separate the two"
    return (
        f"{p['variant']} ends {abs(d):.2f} points {side} 2 x 3x3 in validation error "
        f"on average; 2 x 3x3 is the better of the two for {p['ahead']} of {n} seeds "
        f"and the worse for {p['behind']} ({judged})."
    )


def overall(pairs: Sequence[dict], val_count: int) -> str:
    """What the comparisons say together, and how large the differences are
    against one validation patch of ``val_count``."""
    held = [p for p in pairs if p["mean"] > 0 and p["p"] is not None and p["p"] < 0.05]
    largest = max(abs(100 * p["mean"]) for p in pairs)
    size = (
        f"The differences are small: at most {largest:.2f} points, about "
        f"{largest / (100 / val_count):.0f} of the {val_count} validation "
        f"patches (one patch is {100 / val_count:.2f} points)."
    )
    if len(held) == len(pairs):
        verdict = (
            "At this scale VGG's choice holds up: the stack ends with a lower error "
            "than every 5x5 network, the one matched in MACs included."
        )
    else:
        verdict = (
            f"The stack is ahead beyond chance in {len(held)} of the {len(pairs)} comparisons."
        )
    return f"{verdict} {size}"


def read_run(run: dict, val_count: int) -> str:
    """Every comparison of a recorded run, then what they say together."""
    pairs = ks.paired(run["rows"])
    return " ".join([read_pair(p) for p in pairs] + [overall(pairs, val_count)])


def plot_curves(run: dict) -> None:
    """Validation error per epoch, one panel per design: thin lines single seeds, thick their mean."""
    fig, axes = plots.subplots(2, 2, height=5.0, sharex=True, sharey=True)
    groups = recorded.by_model(run)
    epochs = range(1, run["setup"]["epochs"] + 1)
    panels = zip(axes.flat, ks.NETWORKS.items(), plots.PALETTE, strict=False)
    for ax, (label, name), color in panels:
        rows = groups[name]
        for r in rows:
            ax.plot(epochs, [100 * e for e in r["val_error"]], color=color, lw=0.6, alpha=0.5)
        mean = recorded.mean_curve(rows, "val_error")
        ax.plot(epochs, [100 * e for e in mean], color=color, lw=2.4)
        ax.set_title(label)
        ax.set_yscale("log")
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("validation error (%)")
    seeds = sorted({r["seed"] for r in run["rows"]})
    fig.suptitle(f"Seeds {seeds[0]}-{seeds[-1]}: thin, one seed; thick, their mean")


def plot_by_seed(run: dict) -> None:
    """Final validation error of every seed, the four designs of a seed joined by a line."""
    fig, ax = plots.subplots(height=3.4)
    groups = recorded.by_model(run)
    finals = [[100 * r["final_val_error"] for r in groups[n]] for n in ks.NETWORKS.values()]
    x = range(len(finals))
    for seed_values in zip(*finals, strict=True):
        ax.plot(x, seed_values, color=plots.INK, lw=0.7, alpha=0.6, marker="o", markersize=3)
    means = [sum(f) / len(f) for f in finals]
    ax.plot(x, means, color=plots.PALETTE[3], lw=2.4, marker="s", label="mean of the seeds")
    ax.set_xticks(x, [v.replace(", ", ",\n") for v in ks.NETWORKS])
    ax.set_ylabel("final validation error (%)")
    ax.set_title("Grey lines: the four networks of one seed")
    ax.legend()
