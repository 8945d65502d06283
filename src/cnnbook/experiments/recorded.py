"""Reading a recorded run (``docs/results/<experiment>-<device>.json``) for a page.

The code that *makes* a recorded run is fingerprinted with it; reading it
(summaries over seeds, how many seeds agree, the sentences a page prints)
does not change a number, so it lives here, outside the fingerprint, and
can be reworded without re-running an hour of training.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from cnnbook.experiments.common import count_above, group_runs


def by_model(result: dict, key: str = "model") -> dict[str, list[dict]]:
    """The rows of a recorded run grouped by ``key`` (model or variant), each in seed order."""
    groups = group_runs(result["rows"], key)
    return {name: sorted(rows, key=lambda r: r["seed"]) for name, rows in groups.items()}


def iterations(result: dict) -> list[int]:
    """The iteration at the end of each epoch (the x axis of the paper's Figure 6)."""
    steps = result["steps_per_epoch"]
    return [steps * (i + 1) for i in range(result["setup"]["epochs"])]


def mean_curve(rows: Sequence[dict], metric: str) -> list[float]:
    """The per-epoch mean of ``metric`` over the rows (seeds)."""
    return [statistics.fmean(points) for points in zip(*(r[metric] for r in rows), strict=True)]


def summary(result: dict, metrics: Sequence[str], key: str = "model") -> list[dict]:
    """Per ``key``: the number of seeds and, per metric, its mean, spread (sd), min and max."""
    out = []
    for name, rows in by_model(result, key).items():
        row: dict = {key: name, "seeds": len(rows)}
        for metric in metrics:
            values = [r[metric] for r in rows]
            row[metric] = {
                "mean": statistics.fmean(values),
                "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
                "min": min(values),
                "max": max(values),
            }
        out.append(row)
    return out


#: The columns of :func:`final_error_rows`: errors in percent.
FINAL_ERROR_HEADERS = (
    "model", "seeds", "training error (%)", "sd", "min", "max", "validation error (%)",
)  # fmt: skip


def final_error_rows(result: dict, key: str = "model") -> list[tuple]:
    """Per ``key``: seeds, final training error (mean, sd, min, max) and validation error, in %.

    The first column of :data:`FINAL_ERROR_HEADERS` names ``key``'s values.
    """
    rows = []
    for r in summary(result, ("final_train_error", "final_val_error"), key):
        train, val = r["final_train_error"], r["final_val_error"]
        percent = [100 * train[k] for k in ("mean", "sd", "min", "max")]
        rows.append((r[key], r["seeds"], *percent, 100 * val["mean"]))
    return rows


def provenance(result: dict) -> str:
    """One line naming a recorded run's command, hardware, versions and date."""
    info = result["runinfo"]
    where = info["gpu"] if result.get("device", "cpu") != "cpu" else info["cpu"]
    minutes = result.get("wall_seconds", 0) / 60
    return (
        f'Recorded with "{result["command"]}" on {where}, torch {info["torch"]}, '
        f"{info['date']}; {minutes:.0f} minutes of wall time."
    )


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def read_degradation(result: dict) -> list[str]:
    """The reading of a recorded degradation run, written from its numbers (seed by seed)."""
    groups = by_model(result)

    def final(name: str) -> list[float]:
        return [r["final_train_error"] for r in groups[name]]

    p20, p56 = final("cifar_plain20"), final("cifar_plain56")
    r20, r56 = final("cifar_resnet20"), final("cifar_resnet56")
    mean = statistics.fmean
    n = len(p56)
    worse = count_above(p56, p20)
    plain = (
        f"Plain-56 ended with a higher training error than plain-20 for {worse} of {n} seeds "
        f"({_pct(mean(p56))} against {_pct(mean(p20))} on average)"
        + (": the deeper plain network trains worse, which is degradation." if worse == n else ".")
    )
    res_worse = count_above(r56, r20)
    gap = max(a - b for a, b in zip(r56, r20, strict=True))
    residual = (
        f"ResNet-56 ended at or below ResNet-20 for {n - res_worse} of {n} seeds "
        f"({_pct(mean(r56))} against {_pct(mean(r20))} on average)"
        + (
            ", so the extra depth does not hurt once there are shortcuts."
            if res_worse == 0
            else f"; where it ended above, it did so by at most {100 * gap:.2f} percentage points."
        )
    )
    below = n - count_above(r56, p56) - sum(a == b for a, b in zip(r56, p56, strict=True))
    shortcut = (
        f"With the same weights, data and seeds, the shortcuts took the 56-layer network's "
        f"training error from {_pct(mean(p56))} to {_pct(mean(r56))} "
        f"(lower for {below} of {n} seeds)."
    )
    return [plain, residual, shortcut]


def read_c3(result: dict) -> list[str]:
    """The reading of a recorded C3 run: per chain depth, what the shortcut did, seed by seed."""
    groups = by_model(result, "variant")
    mean = statistics.fmean
    lines, one_sided = [], []
    for depth in ("x1", "x4"):
        on, off = groups[f"C3 {depth}, shortcut"], groups[f"C3 {depth}, no shortcut"]
        n = len(on)
        for metric, what in (("final_train_error", "training"), ("final_val_error", "validation")):
            a, b = [r[metric] for r in on], [r[metric] for r in off]
            lower = count_above(b, a)
            ties = sum(x == y for x, y in zip(a, b, strict=True))
            if metric == "final_train_error" and n in (lower, n - lower - ties):
                one_sided.append(depth)
            lines.append(
                f"With {depth[1:]} bottleneck(s) per C3, the shortcut's final {what} error was "
                f"{_pct(mean(a))} against {_pct(mean(b))} without it: lower for {lower}, "
                f"equal for {ties} and higher for {n - lower - ties} of {n} seeds."
            )
    if not one_sided:
        worst = max(r["final_train_error"] for r in result["rows"])
        lines.append(
            f"At neither depth does the shortcut end ahead, or behind, in training error for "
            f"every seed, and every network ends below {_pct(worst)}: at this depth and "
            f"scale the switch makes no difference that {n} seeds can separate."
        )
    return lines
