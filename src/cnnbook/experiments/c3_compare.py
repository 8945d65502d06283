"""C3 with and without residual bottlenecks: cost and a small trained comparison.

The switch ``shortcut`` of YOLOv5's C3 adds or removes the ``x + ...`` in
every bottleneck of its chain. It costs no parameters and almost no
arithmetic (one addition per element), so the question is only whether it
helps training. :func:`costs` counts, :func:`run` trains the variants with
several seeds on shipped data.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from cnnbook import data, models
from cnnbook.analysis.complexity import count_macs, count_params
from cnnbook.experiments.degradation import train_one
from cnnbook.models import c3  # noqa: F401  (registers c3_net)

#: (label, model options) of the variants compared by default: the chain
#: depth of every stage's C3, with the residual additions on and off.
SETTINGS: tuple[tuple[str, dict], ...] = (
    ("C3 x1, shortcut", {"depths": (1, 1, 1), "shortcut": True}),
    ("C3 x1, no shortcut", {"depths": (1, 1, 1), "shortcut": False}),
    ("C3 x4, shortcut", {"depths": (4, 4, 4), "shortcut": True}),
    ("C3 x4, no shortcut", {"depths": (4, 4, 4), "shortcut": False}),
)


@dataclass(frozen=True)
class Setup:
    """The scale of the comparison: small enough for a CPU in seconds."""

    data: str = "mnist"
    image_size: int = 16
    subset: int = 512
    batch_size: int = 64
    epochs: int = 5
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4


def costs(
    variants: Sequence[tuple[str, dict]] = SETTINGS,
    num_classes: int = 10,
    in_channels: int = 1,
    image_size: int = 16,
) -> list[dict]:
    """Parameters and MACs of each variant for one image."""
    rows = []
    for label, options in variants:
        model = models.create("c3_net", num_classes=num_classes, in_channels=in_channels, **options)
        rows.append(
            {
                "variant": label,
                "params": count_params(model),
                "macs": count_macs(model, (1, in_channels, image_size, image_size)),
            }
        )
    return rows


def run(
    variants: Sequence[tuple[str, dict]] = SETTINGS,
    seeds: Sequence[int] = (0, 1, 2),
    setup: Setup = Setup(),
) -> dict:
    """Train every variant with every seed; returns ``{"setup": ..., "runs": [...]}``."""
    bundle = data.load(setup.data, seed=0, subset=setup.subset, image_size=setup.image_size)
    runs = []
    for seed in seeds:
        for label, options in variants:
            trained = train_one("c3_net", bundle, setup, seed, **options)
            runs.append(
                {
                    "variant": label,
                    "seed": seed,
                    "train_loss": trained["train_loss"],
                    "val_acc": trained["val_acc"],
                }
            )
    return {"setup": asdict(setup), "runs": runs}


def aggregate(result: dict) -> list[dict]:
    """Per variant: mean final training loss and validation accuracy, with their spread."""
    rows = []
    for label in dict.fromkeys(r["variant"] for r in result["runs"]):
        runs = [r for r in result["runs"] if r["variant"] == label]
        losses = [r["train_loss"][-1] for r in runs]
        accs = [r["val_acc"] for r in runs]
        rows.append(
            {
                "variant": label,
                "seeds": len(runs),
                "final_train_loss": statistics.fmean(losses),
                "val_acc": statistics.fmean(accs),
                "val_acc_min": min(accs),
                "val_acc_max": max(accs),
            }
        )
    return rows
