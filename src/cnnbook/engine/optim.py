"""Optimisers and learning-rate schedules, counted in optimizer steps.

Every schedule is a function ``step -> factor`` that multiplies the base
learning rate. Steps, not epochs, because that is how papers state them
(the ResNet paper divides by 10 "at 32k and 48k iterations").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch

from cnnbook.errors import ConfigError

SCHEDULES = ("constant", "multistep", "cosine")
OPTIMIZERS = ("sgd", "adam", "adamw")


def make_optimizer(
    name: str,
    params: Iterable,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> torch.optim.Optimizer:
    """``sgd`` (with momentum), ``adam`` or ``adamw`` over ``params``."""
    name = name.lower()
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ConfigError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")


def _base_schedule(
    schedule: str | Callable[[int], float],
    total_steps: int,
    milestones: Sequence[int],
    gamma: float,
) -> Callable[[int], float]:
    if callable(schedule):
        return schedule
    if schedule == "constant":
        return lambda step: 1.0
    if schedule == "multistep":
        marks = sorted(int(m) for m in milestones)
        return lambda step: gamma ** sum(step >= m for m in marks)
    if schedule == "cosine":
        total = max(1, total_steps)
        return lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    raise ConfigError(f"unknown scheduler {schedule!r}; choose one of: {', '.join(SCHEDULES)}")


def lr_factor(
    schedule: str | Callable[[int], float],
    total_steps: int,
    milestones: Sequence[int] = (),
    gamma: float = 0.1,
    warmup_steps: int = 0,
) -> Callable[[int], float]:
    """The learning-rate multiplier as a function of the step number.

    ``schedule`` is ``"constant"``, ``"multistep"`` (times ``gamma`` at each
    of ``milestones``), ``"cosine"`` (from 1 down to 0 at ``total_steps``) or
    a function of its own. ``warmup_steps`` ramps linearly from 1/warmup to 1
    first, as Goyal et al. do when they scale the learning rate with the batch.
    """
    base = _base_schedule(schedule, total_steps, milestones, gamma)

    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
        return warm * base(step)

    return factor


def paper_lr_factor(
    milestones: Sequence[int], gamma: float = 0.1, warmup_steps: int = 0
) -> Callable[[int], float]:
    """The ResNet paper's CIFAR schedule as ``step -> factor`` (pass it as ``scheduler``).

    The rate is multiplied by ``gamma`` at each milestone (the paper: 32k and
    48k iterations). For ResNet-110 the paper first trains at a tenth of the
    rate for about 400 iterations, because 0.1 is "slightly too large to
    start converging"; ``warmup_steps`` does that. Unlike the linear ramp of
    :func:`lr_factor`, this warm-up is one flat step at ``gamma``.
    """
    marks = sorted(int(m) for m in milestones)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return gamma
        return gamma ** sum(step >= m for m in marks)

    return factor


def make_scheduler(
    optimizer: torch.optim.Optimizer, config, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """The scheduler ``config`` (a :class:`~cnnbook.engine.TrainConfig`) asks for.

    Stepped once per optimizer step; its state (the step count) goes into
    every checkpoint, so a resumed run continues the curve instead of
    starting it again.
    """
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lr_factor(
            config.scheduler, total_steps, config.milestones, config.gamma, config.warmup_steps
        ),
    )
