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

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from cnnbook import data, engine, models
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


def train_one(name: str, bundle: data.DataBundle, setup, seed: int, **options) -> dict:
    """Train one network from a seeded initialisation; returns its curve and final scores.

    ``setup`` supplies the SGD recipe (epochs, batch_size, lr, momentum,
    weight_decay); ``options`` go to the model's constructor. The C3
    comparison trains its variants with this same function.
    """
    engine.seed_everything(seed)
    model = models.create(
        name, num_classes=len(bundle.classes), in_channels=bundle.in_channels, **options
    )
    history = engine.fit(
        model,
        bundle.train,
        None,
        epochs=setup.epochs,
        batch_size=setup.batch_size,
        lr=setup.lr,
        momentum=setup.momentum,
        weight_decay=setup.weight_decay,
        seed=seed,
        log=False,
    )
    val = engine.evaluate(model, bundle.val)
    return {
        "model": name,
        "seed": seed,
        "train_loss": history.column("train_loss"),
        "train_acc": history.column("train_acc"),
        "val_acc": val["acc"],
        "seconds": sum(history.column("seconds")),
    }


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
    names = list(dict.fromkeys(r["model"] for r in result["runs"]))
    for name in names:
        runs = [r for r in result["runs"] if r["model"] == name]
        final = [r["train_loss"][-1] for r in runs]
        rows.append(
            {
                "model": name,
                "seeds": len(runs),
                "final_train_loss": statistics.fmean(final),
                "min": min(final),
                "max": max(final),
                "final_train_acc": statistics.fmean(r["train_acc"][-1] for r in runs),
                "val_acc": statistics.fmean(r["val_acc"] for r in runs),
            }
        )
    return rows
