"""Plain versus residual networks of equal depth: the degradation experiment.

The ResNet paper's Figure 1 and Figure 6 show that a 56-layer *plain*
network ends with a higher *training* error than a 20-layer one, so the
problem is optimisation, not overfitting, and that the residual networks of
the same depths do not degrade. The pairs trained here (``cifar_plainN`` and
``cifar_resnetN``) have exactly the same layers and parameters; only the
shortcut additions differ.

:class:`Setup` fixes the scale. Its defaults are small enough to run on a
laptop CPU in seconds while the site builds (MNIST digits shrunk to 8x8,
networks a quarter of the paper's width, about a hundred SGD steps).
:data:`RECORDED` is the recorded run's scale: the paper's recipe scaled down
to what a 2-core CPU trains in under an hour (see :func:`record`); the
paper's own scale is ``examples/cifar_resnet.py --data cifar10 --device cuda``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields

from cnnbook import data
from cnnbook.engine.loaders import dataset_length
from cnnbook.experiments.common import count_above, final_values, group_runs, mean, train_one
from cnnbook.models import cifar_resnet  # noqa: F401  (registers the CIFAR networks)

#: The paper's comparison: two depths, with and without shortcuts.
MODELS = ("cifar_plain20", "cifar_plain56", "cifar_resnet20", "cifar_resnet56")


@dataclass(frozen=True)
class Setup:
    """The scale of one degradation experiment (SGD settings follow the paper)."""

    data: str = "mnist"
    image_size: int = 8
    subset: int | None = 640  # training images (None: all); an epoch is subset / batch_size steps
    base_channels: int = 4  # the paper uses 16
    batch_size: int = 32
    epochs: int = 6
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    decay_at: tuple[float, ...] = ()  # fractions of training where the rate is divided by 10
    val_curve: bool = False  # score the validation set after every epoch, not only at the end

    @property
    def steps_per_epoch(self) -> int:
        return -(-dataset_length(load_data(self).train, "the training set") // self.batch_size)


#: The recorded run's scale: the paper's CIFAR recipe (width 16, SGD 0.1 with
#: momentum 0.9 and weight decay 1e-4, batch 128, the rate divided by 10 at
#: half and three quarters of training: 32k and 48k of 64k iterations) on all
#: 4,000 shipped MNIST training digits at 16x16, for 32 epochs (1,024
#: iterations). That is what 3 seeds of the four networks train in under an
#: hour on 2 CPU cores; MNIST at 16x16 is the largest shipped data that fits.
RECORDED = Setup(
    image_size=16,
    subset=None,
    base_channels=16,
    batch_size=128,
    epochs=32,
    decay_at=(0.5, 0.75),
    val_curve=True,
)


def load_data(setup: Setup) -> data.DataBundle:
    """The (shipped, offline) dataset the setup names, at its size."""
    return data.load(setup.data, seed=0, subset=setup.subset, image_size=setup.image_size)


def setup_from(stored: dict) -> Setup:
    """The :class:`Setup` a recorded file stores (lists back to tuples)."""
    values = {f.name: stored[f.name] for f in fields(Setup)}
    values["decay_at"] = tuple(values["decay_at"])
    return Setup(**values)


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


def _recorded_row(name: str, seed: int, setup: Setup, device: str, threads: int) -> dict:
    """Train one network of the recorded run; its row of the recorded file."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    used = torch.get_num_threads()  # CPU sums depend on it in the last bits; a replay uses it
    started = time.perf_counter()
    run = train_one(
        name, load_data(setup), setup, seed, device=device, base_channels=setup.base_channels
    )
    seconds = time.perf_counter() - started
    # A line per network: the run takes most of an hour on a CPU.
    print(f"{name} seed {seed}: training error {1 - run['train_acc'][-1]:.4f} ({seconds:.0f} s)")
    return {
        "model": name,
        "seed": seed,
        "final_train_error": 1 - run["train_acc"][-1],
        "final_val_error": 1 - run["val_acc"],
        "train_error": [1 - a for a in run["train_acc"]],
        "train_loss": run["train_loss"],
        "val_error": [1 - a for a in run["val_acc_curve"]],
        "seconds": seconds,
        "threads": used,
    }


def record(
    seeds: Sequence[int] = (0, 1, 2),
    device: str = "cpu",
    jobs: int = 1,
    setup: Setup = RECORDED,
    model_names: Sequence[str] = MODELS,
) -> dict:
    """The recorded run: every model with every seed at ``setup``'s scale.

    Returns the ``setup`` and one row per (model, seed) with the final
    training and validation errors (fractions) and the per-epoch curves.
    On a CPU, ``jobs`` processes train networks side by side, each on its
    share of the cores; every network is seeded on its own, so the numbers
    do not depend on ``jobs``.
    """
    import os

    work = [(name, seed) for seed in seeds for name in model_names]
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else 0
    started = time.perf_counter()
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            futures = [pool.submit(_recorded_row, n, s, setup, device, threads) for n, s in work]
            rows = [f.result() for f in futures]
    else:
        rows = [_recorded_row(n, s, setup, device, threads) for n, s in work]
    return {
        "setup": asdict(setup),
        "steps_per_epoch": setup.steps_per_epoch,
        "rows": rows,
        "wall_seconds": time.perf_counter() - started,
    }


def replay(result: dict, steps: int | None = None) -> dict:
    """Train the first row's network again for its first epoch (or ``steps``), on the CPU.

    Returns the replayed ``train_loss`` and ``train_error`` of that epoch,
    to compare with the recorded curve's first point: the CPU run is
    deterministic, so a recorded number edited by hand, or made with other
    settings or code, does not come out again.
    """
    import torch

    setup = setup_from(result["setup"])
    first = result["rows"][0]
    threads = torch.get_num_threads()
    torch.set_num_threads(first["threads"])
    try:
        run = train_one(
            first["model"], load_data(setup), setup, first["seed"],
            max_steps=steps or setup.steps_per_epoch, base_channels=setup.base_channels,
        )  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    return {"train_loss": run["train_loss"][0], "train_error": 1 - run["train_acc"][0]}


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
