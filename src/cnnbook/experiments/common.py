"""What the book's experiments share: one training recipe and the reading of runs.

Each experiment module (degradation, the C3 comparison, ...) defines its
setup and what it compares; training one network from a seeded
initialisation, grouping the runs by what differs between them and
reading their final values are the same everywhere, so they live here.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from cnnbook import data, engine, models
from cnnbook.engine.loaders import dataset_length


class SGDRecipe(Protocol):
    """What :func:`train_one` reads from a setup (this module's and the C3 comparison's)."""

    @property
    def epochs(self) -> int: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def lr(self) -> float: ...
    @property
    def momentum(self) -> float: ...
    @property
    def weight_decay(self) -> float: ...
    @property
    def decay_at(self) -> Sequence[float]: ...
    @property
    def val_curve(self) -> bool: ...


def milestones(setup: SGDRecipe, steps_per_epoch: int) -> list[int]:
    """The steps where the rate is divided by 10: ``setup.decay_at`` fractions of training."""
    total = setup.epochs * steps_per_epoch
    return [round(fraction * total) for fraction in setup.decay_at]


def train_one(
    name: str,
    bundle: data.DataBundle,
    setup: SGDRecipe,
    seed: int,
    *,
    device: str = "cpu",
    max_steps: int | None = None,
    **options: Any,
) -> dict:
    """Train one network from a seeded initialisation; returns its curves and final scores.

    ``setup`` supplies the SGD recipe (epochs, batch_size, lr, momentum,
    weight_decay, and the fractions of training where the rate drops);
    ``options`` go to the model's constructor. With ``setup.val_curve`` the
    validation set is scored after every epoch, otherwise once at the end.
    ``max_steps`` stops early (a replay of the first steps). The C3
    comparison trains its variants with this same function.
    """
    engine.seed_everything(seed)
    model = models.create(
        name, num_classes=len(bundle.classes), in_channels=bundle.in_channels, **options
    )
    steps_per_epoch = -(
        -dataset_length(bundle.train, "the training set") // setup.batch_size
    )  # the last batch is kept
    marks = milestones(setup, steps_per_epoch)
    history = engine.fit(
        model,
        bundle.train,
        bundle.val if setup.val_curve else None,
        epochs=setup.epochs,
        batch_size=setup.batch_size,
        lr=setup.lr,
        momentum=setup.momentum,
        weight_decay=setup.weight_decay,
        scheduler="multistep" if marks else "constant",
        milestones=marks,
        max_steps=max_steps,
        seed=seed,
        device=device,
        log=False,
    )
    val = engine.evaluate(model, bundle.val, device=device)
    return {
        "model": name,
        "seed": seed,
        "train_loss": history.column("train_loss"),
        "train_acc": history.column("train_acc"),
        "val_acc_curve": history.column("val_acc") if setup.val_curve else [],
        "val_acc": val["acc"],
        "seconds": sum(history.column("seconds")),
    }


def group_runs(runs: Iterable[dict], key: str) -> dict[str, list[dict]]:
    """Runs grouped by ``run[key]`` (a model name, a variant label), in first-seen order."""
    groups: dict[str, list[dict]] = {}
    for run in runs:
        groups.setdefault(run[key], []).append(run)
    return groups


def final_values(runs: Sequence[dict], metric: str = "train_loss") -> list[float]:
    """The last value of a per-epoch ``metric`` for each run, in the runs' order (by seed)."""
    return [run[metric][-1] for run in runs]


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values)


def count_above(a: Sequence[float], b: Sequence[float]) -> int:
    """How many paired values (same seed) of ``a`` are strictly above those of ``b``."""
    return sum(x > y for x, y in zip(a, b, strict=True))
