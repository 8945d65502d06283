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


def train_one(
    name: str, bundle: data.DataBundle, setup: SGDRecipe, seed: int, **options: Any
) -> dict:
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
