"""Small data: why validation accuracy swings, and what a pretrained start changes.

A ResNet trained from scratch on a few dozen images, scored each epoch on a
few dozen held-out ones, jumps up and down from one epoch to the next. The
same network first trained on another, larger dataset and then fine-tuned
on the small one starts from features that already work. :func:`run`
trains both, with several seeds, on the data that ships with the package:

* the small task: a few dozen patches of the brick, grass and gravel
  photos (``textures``), validated on a small set cut from a separate part
  of each photo;
* the larger one, for pretraining: the shipped MNIST digits.

Both starts train with the same recipe and see the same small data; only
the initial weights differ. :func:`swings` measures how much the
validation accuracy moves, :func:`summary` compares the two starts and
:func:`read_run` words the comparison from the numbers.
"""

from __future__ import annotations

import copy
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from cnnbook import data, engine, models, pretrained
from cnnbook.engine.loaders import dataset_length

#: The two starting points compared, in display order.
STARTS = ("from scratch", "pretrained")


@dataclass(frozen=True)
class Setup:
    """The scale: three seeds of both starts in about ten seconds of one CPU core."""

    model: str = "cifar_resnet20"  # the paper's CIFAR ResNet: 19 conv layers, batch norm
    base_channels: int = 8  # half the paper's width, to fit the time
    image_size: int = 16  # every image is shrunk to this side
    tiny_data: str = "textures"  # 3 classes
    train_images: int = 36  # the small training set
    val_fraction: float = 0.0625  # 1/16 of each photo: 16 validation patches per class
    epochs: int = 12
    batch_size: int = 8  # as small as the batches of the tutorial's bird photos
    optimizer: str = "adam"
    lr: float = 1e-3
    last_epochs: int = 5  # the window the swing is measured over
    pretrain_data: str = "mnist"  # 10 classes
    pretrain_images: int = 1000
    pretrain_epochs: int = 2
    pretrain_batch_size: int = 32
    pretrain_seed: int = 0  # one pretrained network serves every fine-tuning seed


def tiny_bundle(setup: Setup = Setup()) -> data.DataBundle:
    """The small task's data; the same images for every seed (seeds vary only the training)."""
    return data.load(
        setup.tiny_data,
        seed=0,
        subset=setup.train_images,
        image_size=setup.image_size,
        val_fraction=setup.val_fraction,
    )


def _model(setup: Setup, num_classes: int) -> nn.Module:
    return models.create(
        setup.model, num_classes=num_classes, in_channels=1, base_channels=setup.base_channels
    )


def _fit(
    model: nn.Module,
    bundle: data.DataBundle,
    setup: Setup,
    seed: int,
    pretraining: bool = False,
) -> list:
    """Validation accuracy after each epoch (after the last only, when pretraining)."""
    history = engine.fit(
        model,
        bundle.train,
        None if pretraining else bundle.val,
        epochs=setup.pretrain_epochs if pretraining else setup.epochs,
        batch_size=setup.pretrain_batch_size if pretraining else setup.batch_size,
        optimizer=setup.optimizer,
        lr=setup.lr,
        seed=seed,
        log=False,
    )
    if pretraining:
        return [engine.evaluate(model, bundle.val)["acc"]]
    return history.column("val_acc")


def pretrain(setup: Setup = Setup()) -> dict:
    """Train the network on the larger dataset once; returns its weights and final score."""
    bundle = data.load(
        setup.pretrain_data,
        seed=setup.pretrain_seed,
        subset=setup.pretrain_images,
        image_size=setup.image_size,
    )
    engine.seed_everything(setup.pretrain_seed)
    model = _model(setup, len(bundle.classes))
    accs = _fit(model, bundle, setup, setup.pretrain_seed, pretraining=True)
    return {"state_dict": copy.deepcopy(model.state_dict()), "val_acc": accs[-1]}


def train(
    bundle: data.DataBundle,
    setup: Setup,
    seed: int,
    backbone: dict[str, torch.Tensor] | None = None,
) -> dict:
    """One run on the small data: from scratch, or from ``backbone`` with a fresh head.

    The seed sets the initial weights (of the head alone when a backbone is
    given), the order of the batches and the random flips.
    """
    engine.seed_everything(seed)
    model = _model(setup, len(bundle.classes))
    if backbone is not None:
        pretrained.load_backbone(model, backbone)
    return {
        "start": STARTS[backbone is not None],
        "seed": seed,
        "val_acc": _fit(model, bundle, setup, seed),
        "val_acc_exact_bn": exact_bn_acc(model, bundle),
    }


@torch.no_grad()
def exact_bn_acc(model: nn.Module, bundle: data.DataBundle) -> float:
    """Validation accuracy after replacing batch norm's running statistics by exact ones.

    During training each batch-norm layer keeps a running average of the
    means and variances of recent batches of 8 images, taken while the
    weights were still moving; evaluation normalises with that average.
    Here a copy of the model computes them once, from all training images
    in one batch (as training sees them, random flips included), under its
    final weights. The difference from the last
    epoch's score is what the running estimate cost (or gained) at the end.
    """
    exact = copy.deepcopy(model)
    for m in exact.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # a plain average of the batches seen: here, the one batch
    n = dataset_length(bundle.train)
    images, _ = bundle.train[list(range(n))]
    exact.train()(images)
    return engine.evaluate(exact, bundle.val)["acc"]


def run(seeds: Sequence[int] = (0, 1, 2), setup: Setup = Setup()) -> dict:
    """Both starts with every seed; returns ``{"setup", "pretrain_val_acc", "n_train", ...}``."""
    bundle = tiny_bundle(setup)
    base = pretrain(setup)
    runs = [train(bundle, setup, seed) for seed in seeds]
    runs += [train(bundle, setup, seed, base["state_dict"]) for seed in seeds]
    return {
        "setup": asdict(setup),
        "pretrain_val_acc": base["val_acc"],
        "n_train": dataset_length(bundle.train),
        "n_val": dataset_length(bundle.val),
        "classes": list(bundle.classes),
        "runs": runs,
    }


def swings(val_acc: Sequence[float], last: int) -> dict:
    """How much one run's validation accuracy moves over its ``last`` epochs.

    ``range``: highest minus lowest; ``step``: the mean size of an
    epoch-to-epoch change; ``drop``: the largest fall from one epoch to
    the next (0 when it never falls).
    """
    window = list(val_acc[-last:])
    changes = [b - a for a, b in zip(window[:-1], window[1:], strict=True)]
    return {
        "range": max(window) - min(window),
        "step": statistics.fmean(abs(c) for c in changes) if changes else 0.0,
        "drop": max([0.0, *(-c for c in changes)]),
    }


def summary(result: dict) -> list[dict]:
    """Per start: mean swing over seeds, and the final accuracy's mean and spread over seeds."""
    last = result["setup"]["last_epochs"]
    rows = []
    for start in STARTS:
        runs = [r for r in result["runs"] if r["start"] == start]
        each = [swings(r["val_acc"], last) for r in runs]
        finals = [r["val_acc"][-1] for r in runs]
        rows.append(
            {
                "start": start,
                "seeds": len(runs),
                "range": statistics.fmean(s["range"] for s in each),
                "step": statistics.fmean(s["step"] for s in each),
                "drop": max(s["drop"] for s in each),
                "final": statistics.fmean(finals),
                "final_min": min(finals),
                "final_max": max(finals),
            }
        )
    return rows


def read_run(result: dict) -> list[str]:
    """The comparison in sentences, written from the run's numbers (the page shows them)."""
    rows = {r["start"]: r for r in summary(result)}
    scratch, tuned = rows["from scratch"], rows["pretrained"]
    last = result["setup"]["last_epochs"]
    image = 100 / result["n_val"]

    def calmer(a: float, b: float) -> str:
        return "smaller" if a < b else "larger" if a > b else "the same"

    return [
        f"Over the last {last} epochs, validation accuracy moved by {100 * scratch['step']:.1f} "
        f"points per epoch on average from scratch and {100 * tuned['step']:.1f} after "
        f"pretraining ({calmer(tuned['step'], scratch['step'])}); one validation image is "
        f"{image:.1f} points.",
        f"The largest one-epoch fall in that window was {100 * scratch['drop']:.1f} points "
        f"from scratch and {100 * tuned['drop']:.1f} after pretraining.",
        f"Final accuracy: {100 * scratch['final']:.1f}% from scratch (seeds from "
        f"{100 * scratch['final_min']:.1f} to {100 * scratch['final_max']:.1f}%) and "
        f"{100 * tuned['final']:.1f}% after pretraining ({100 * tuned['final_min']:.1f} to "
        f"{100 * tuned['final_max']:.1f}%).",
    ]
