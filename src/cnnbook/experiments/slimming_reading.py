"""Reading a recorded slimming run (``docs/results/slimming-*.json``) for the page.

The code that makes the run (:mod:`cnnbook.experiments.slimming`) is
fingerprinted with it; reading it (medians, spreads, the sentences the page
prints) changes no number, so it lives here, outside the fingerprint, and
can be reworded without re-running the experiment.
"""

from __future__ import annotations

import statistics

from cnnbook.experiments.slimming import variant_name


def latency_summary(result: dict) -> list[dict]:
    """Per head and batch of a recorded run: medians over the rounds, in milliseconds.

    ``head_share`` is the head's median time alone over the network's: the
    fraction of a forward pass the head costs.
    """
    out = []
    for row in result["latency"]["rows"]:
        network = statistics.median(row["network_s"])
        head = statistics.median(row["head_s"])
        out.append(
            {
                "head": row["head"],
                "batch": row["batch"],
                "params": row["params"],
                "head_params": row["head_params"],
                "network_ms": 1000 * network,
                "head_ms": 1000 * head,
                "ms_per_image": 1000 * network / row["batch"],
                "head_share": head / network,
            }
        )
    return out


def read_latency(result: dict) -> list[str]:
    """When VGG-16's own head dominates the forward pass, in sentences written from the medians.

    A fully connected layer does one multiply-add per weight per image, so
    at batch 1 its time is the time to read its weights from memory; a
    larger batch reads them once for every image in it.
    """
    rows = {(r["head"], r["batch"]): r for r in latency_summary(result)}
    batches = sorted({batch for _, batch in rows})
    one, many = batches[0], batches[-1]
    full, slim, full_many = rows["full", one], rows["slim", one], rows["full", many]
    megabytes = 4 * full["head_params"] / 1e6  # float32 weights, read once per pass
    dominates = "dominates" if full["head_share"] >= 0.5 else "does not dominate"
    return [
        f"At batch {one} VGG-16's 4096-4096 head takes {full['head_ms']:.1f} ms of the "
        f"network's {full['network_ms']:.0f} ms ({full['head_share']:.1%}): it {dominates} the "
        f"latency. It reads its {full['head_params'] / 1e6:.0f}M weights ({megabytes:.0f} MB) "
        f"for a single image, {megabytes / full['head_ms']:.1f} GB/s, which is memory "
        f"traffic, not arithmetic; the slim head takes {slim['head_ms']:.1f} ms "
        f"({slim['head_share']:.1%}).",
        f"At batch {many} the same weights serve {many} images: the head's share falls to "
        f"{full_many['head_share']:.1%} ({full_many['head_ms'] / many:.2f} ms per image, "
        f"against {full_many['ms_per_image']:.0f} ms per image for the whole network).",
    ]


def accuracy_summary(result: dict) -> list[dict]:
    """Per variant of a recorded run (in the setup's order): final validation error over seeds.

    ``mean``, ``sd``, ``min`` and ``max`` over the seeds, the mean final
    training error ``train_mean``, and, against the full head of the same
    width, the mean of the per-seed differences and ``as_good``: for how
    many seeds the variant ended at or below it.
    """
    groups: dict[str, list[dict]] = {}
    for row in sorted(result["rows"], key=lambda r: r["seed"]):
        groups.setdefault(row["model"], []).append(row)
    base = result["setup"]["base_width"]
    full = [r["final_val_error"] for r in groups[variant_name("full", base)]]
    out = []
    for head, relative in result["setup"]["variants"]:
        name = variant_name(head, relative * base)
        errors = [r["final_val_error"] for r in groups[name]]
        out.append(
            {
                "model": name,
                "seeds": [r["seed"] for r in groups[name]],
                "mean": statistics.fmean(errors),
                "sd": statistics.stdev(errors) if len(errors) > 1 else 0.0,
                "min": min(errors),
                "max": max(errors),
                "train_mean": statistics.fmean(r["final_train_error"] for r in groups[name]),
                "minus_full": statistics.fmean(e - f for e, f in zip(errors, full, strict=True)),
                "as_good": sum(e <= f for e, f in zip(errors, full, strict=True)),
            }
        )
    return out


def read_accuracy(result: dict) -> list[str]:
    """Each lighter variant against the full head, seed by seed, in sentences from the numbers.

    A difference of means no larger than the larger of the two seed-to-seed
    spreads is reported as no difference this run can see. When every run
    ended without a single validation error, the task is too easy at this
    scale to tell the heads apart, and one sentence says so.
    """
    rows = accuracy_summary(result)
    full = next(r for r in rows if r["model"].startswith("full head"))
    if all(r["max"] == 0 for r in rows):
        return [
            "Every variant classified every validation patch correctly with every seed: "
            "at this scale the task does not separate the heads, so the run shows no loss "
            "of accuracy but could not show a small one."
        ]
    out = []
    for r in rows:
        if r is full:
            continue
        n, spread = len(r["seeds"]), max(r["sd"], full["sd"])
        verdict = (
            "within the seed-to-seed spread"
            if abs(r["minus_full"]) <= spread
            else ("higher" if r["minus_full"] > 0 else "lower") + ", beyond the spread"
        )
        name = r["model"][0].upper() + r["model"][1:]
        out.append(
            f"{name}: {r['mean']:.1%} validation error against {full['mean']:.1%} for the "
            f"full head ({100 * r['minus_full']:+.1f} points, {verdict}); at or below the "
            f"full head for {r['as_good']} of {n} seeds."
        )
    return out


def seed_spread(result: dict) -> tuple[float, float]:
    """Of a build-time run: the widest range of one variant's accuracy over its seeds,
    and the largest difference between two variants' mean accuracies."""
    ranges = [max(r["val_acc"]) - min(r["val_acc"]) for r in result["rows"]]
    means = [r["acc_mean"] for r in result["rows"]]
    return max(ranges), max(means) - min(means)
