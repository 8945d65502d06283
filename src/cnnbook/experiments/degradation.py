"""Plain versus residual networks of equal depth: the degradation experiment.

The ResNet paper's Figure 1 and Figure 6 show that a 56-layer *plain*
network ends with a higher *training* error than a 20-layer one, so the
problem is optimisation, not overfitting, and that the residual networks of
the same depths do not degrade. The pairs trained here (``cifar_plainN`` and
``cifar_resnetN``) have exactly the same layers and parameters; only the
shortcut additions differ.

:class:`Setup` fixes the scale. Its defaults are small enough to run on a
laptop CPU in seconds (MNIST digits shrunk to 8x8, networks a quarter of the
paper's width, about a hundred SGD steps); the paper's scale is
``examples/cifar_resnet.py --data cifar10 --device cuda``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from cnnbook import data
from cnnbook.experiments.common import count_above, final_values, group_runs, mean, train_one
from cnnbook.models import cifar_resnet  # noqa: F401  (registers the CIFAR networks)

#: The paper's comparison: two depths, with and without shortcuts.
MODELS = ("cifar_plain20", "cifar_plain56", "cifar_resnet20", "cifar_resnet56")


@dataclass(frozen=True)
class Setup:
    """The scale of one degradation experiment (SGD settings follow the paper)."""

    data: str = "mnist"
    image_size: int = 8
    subset: int = 640  # training images; one epoch is subset / batch_size steps
    base_channels: int = 4  # the paper uses 16
    batch_size: int = 32
    epochs: int = 6
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.subset // self.batch_size)


def load_data(setup: Setup) -> data.DataBundle:
    """The (shipped, offline) dataset the setup names, at its size."""
    return data.load(setup.data, seed=0, subset=setup.subset, image_size=setup.image_size)


def run(
    model_names: Sequence[str] = MODELS, seeds: Sequence[int] = (0, 1, 2), setup: Setup = Setup()
) -> dict:
    """Train every model with every seed; returns ``{"setup": ..., "runs": [...]}``."""
    bundle = load_data(setup)
    runs = [
        train_one(name, bundle, setup, seed, base_channels=setup.base_channels)
        for seed in seeds
        for name in model_names
    ]
    return {"setup": asdict(setup), "steps_per_epoch": setup.steps_per_epoch, "runs": runs}


def aggregate(result: dict) -> list[dict]:
    """Per model: final-epoch training loss (mean, min, max over seeds) and validation accuracy."""
    rows = []
    for name, runs in group_runs(result["runs"], "model").items():
        final = final_values(runs)
        rows.append(
            {
                "model": name,
                "seeds": len(runs),
                "final_train_loss": mean(final),
                "min": min(final),
                "max": max(final),
                "final_train_acc": mean(final_values(runs, "train_acc")),
                "val_acc": mean([r["val_acc"] for r in runs]),
            }
        )
    return rows


def read_run(result: dict) -> list[str]:
    """The reading of a run in sentences, written from its numbers (the page prints it).

    Compares 56 with 20 layers seed by seed, for the plain and the residual
    networks, and the two 56-layer networks with each other.
    """
    runs = group_runs(result["runs"], "model")
    p56, p20 = final_values(runs["cifar_plain56"]), final_values(runs["cifar_plain20"])
    r56, r20 = final_values(runs["cifar_resnet56"]), final_values(runs["cifar_resnet20"])
    n, pd, ps, rd, rs = len(p56), mean(p56), mean(p20), mean(r56), mean(r20)
    worse = count_above(p56, p20)
    if worse == n:
        plain = (
            f"Plain-56 ended with a higher training loss than plain-20 for every seed "
            f"({pd:.3f} vs {ps:.3f} on average): the deeper plain network trains worse, "
            "which is degradation."
        )
    elif worse == 0:
        plain = (
            f"Plain-56 ended below plain-20 for every seed ({pd:.3f} vs {ps:.3f}): "
            "this run shows no degradation."
        )
    else:
        plain = (
            f"Plain-56 ended above plain-20 for {worse} of {n} seeds ({pd:.3f} vs {ps:.3f} "
            "on average): a mixed result at this scale."
        )
    res_worse = count_above(r56, r20)
    if res_worse == 0:
        residual = f"ResNet-56 ended at or below ResNet-20 for every seed ({rd:.3f} vs {rs:.3f})."
    else:
        residual = (
            f"ResNet-56 ended above ResNet-20 for {res_worse} of {n} seeds ({rd:.3f} vs "
            f"{rs:.3f} on average), so in this run the extra depth has not paid off for the "
            "residual net either."
        )
    shortcut = (
        f"At depth 56, the shortcuts changed the final training loss from {pd:.3f} (plain) "
        f"to {rd:.3f} (residual), a difference of {pd - rd:+.3f} with identical weights, "
        "data and seeds."
    )
    return [plain, residual, shortcut]
