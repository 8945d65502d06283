"""``TrainConfig``: every setting of a training run, in one readable place.

Modelled on nanoGPT's ``GPTConfig``: a dataclass with one field per
setting and its default. :func:`cnnbook.engine.fit` takes one, or builds
one from keyword arguments, so both of these train the same way::

    engine.fit(model, train, val, epochs=3, lr=0.1)
    engine.fit(model, train, val, TrainConfig(epochs=3, lr=0.1))

A config is frozen: ``config.replace(lr=0.01)`` returns a changed copy,
checked again, so an invalid config never exists.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from cnnbook.engine.optim import OPTIMIZERS, SCHEDULES
from cnnbook.errors import ConfigError

#: The settings that decide the numbers a run produces (not where or how fast
#: it runs): stored in every checkpoint, and compared across ranks under torchrun.
RECIPE = (
    "epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay", "nesterov",
    "scheduler", "milestones", "gamma", "warmup_steps", "max_steps", "label_smoothing", "seed",
    "sync_bn",
)  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """The settings of one training run (see :func:`cnnbook.engine.fit`)."""

    # --- the recipe
    epochs: int = 3  # passes over the training set
    batch_size: int = 128  # the global batch: under torchrun each of N processes takes 1/N
    lr: float = 0.05  # base learning rate, before the schedule's factor
    optimizer: str = "sgd"  # "sgd", "adam" or "adamw"
    momentum: float = 0.9  # SGD momentum (Adam keeps its own betas)
    weight_decay: float = 0.0  # L2 penalty the optimizer applies to every parameter
    nesterov: bool = False  # Nesterov momentum for SGD
    scheduler: str | Callable[[int], float] = "constant"  # "multistep", "cosine" or step -> factor
    milestones: Sequence[int] = ()  # steps (not epochs) where "multistep" multiplies by gamma
    gamma: float = 0.1  # the factor "multistep" applies at each milestone
    warmup_steps: int = 0  # linear ramp of the rate over the first steps (0: none)
    max_steps: int | None = None  # stop after this many optimizer steps, even mid-epoch
    label_smoothing: float = 0.0  # weight moved from the true class to the others in the loss
    seed: int = 0  # random seed of the data order, augmentation and dropout
    # --- where and how fast it runs
    device: str | torch.device = "cpu"  # "auto", "cpu", "cuda", "cuda:N" or "mps"
    amp: bool | None = None  # autocast; None: bfloat16 on a CUDA GPU that has it, else off
    channels_last: bool | None = None  # NHWC memory layout; None: on for CUDA
    compile: bool = False  # torch.compile the model (slow first epoch, faster after)
    num_workers: int | None = None  # data-loading processes; None: chosen from the data/device
    eval_batch_size: int | None = None  # validation batch per process; None: twice the training
    sync_bn: bool = False  # batch-norm statistics over all processes under torchrun
    dist_backend: str | None = None  # "gloo" or "nccl"; None: nccl for CUDA, else gloo
    dist_timeout: float | None = None  # seconds a process waits for the others before failing
    # --- files and output
    out_dir: str | os.PathLike | None = None  # where last.pt, best.pt and history.json go
    resume: bool = False  # continue from out_dir/last.pt
    overwrite: bool = False  # start afresh even if out_dir holds a run
    log: bool = True  # one line per epoch (rank 0 only)
    progress: bool | None = None  # a progress bar; None: when stderr is a terminal

    def __post_init__(self) -> None:
        self.validate()
        # A tuple, so the frozen config cannot be changed through a list it shares.
        object.__setattr__(self, "milestones", tuple(int(m) for m in self.milestones))

    def validate(self) -> None:
        """Raise :class:`ConfigError` with one sentence for the first bad setting."""
        for name in ("epochs", "batch_size"):
            _check_positive(name, getattr(self, name))
        for name in ("max_steps", "eval_batch_size"):
            if getattr(self, name) is not None:
                _check_positive(name, getattr(self, name))
        _check_positive("lr", self.lr, float)
        _check_positive("gamma", self.gamma, float)
        if self.dist_timeout is not None:
            _check_positive("dist_timeout", self.dist_timeout, float)
        for name, kind in (("momentum", float), ("weight_decay", float), ("warmup_steps", int)):
            _check_not_negative(name, getattr(self, name), kind)
        if self.num_workers is not None:
            _check_not_negative("num_workers", self.num_workers, int)
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        _check_choices(self)
        if self.resume and self.out_dir is None:
            raise ConfigError("resume needs an output directory holding last.pt (out_dir / --out)")

    def replace(self, **overrides) -> TrainConfig:
        """A copy with ``overrides`` applied (field names only), checked again."""
        unknown = sorted(set(overrides) - set(field_names()))
        if unknown:
            raise ConfigError(
                f"unknown training setting {unknown[0]!r}; the settings are: "
                + ", ".join(field_names())
            )
        return dataclasses.replace(self, **overrides)

    def recipe(self) -> dict:
        """The settings that decide the result, as plain values (for checkpoints)."""
        plain = {name: getattr(self, name) for name in RECIPE}
        plain["milestones"] = list(self.milestones)
        if callable(self.scheduler):
            plain["scheduler"] = "custom"
        return plain


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(TrainConfig)]


def _check_number(name: str, value, kind) -> None:
    what = "an integer" if kind is int else "a finite number"
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (kind is int and int(value) != value)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise ConfigError(f"{name} must be {what}, got {value!r}")


def _check_positive(name: str, value, kind=int) -> None:
    _check_number(name, value, kind)
    if not value > 0:
        raise ConfigError(f"{name} must be positive, got {value}")


def _check_not_negative(name: str, value, kind=float) -> None:
    _check_number(name, value, kind)
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {value}")


def _check_choices(config: TrainConfig) -> None:
    if not isinstance(config.optimizer, str) or config.optimizer.lower() not in OPTIMIZERS:
        raise ConfigError(
            f"unknown optimizer {config.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}"
        )
    if not callable(config.scheduler) and config.scheduler not in SCHEDULES:
        raise ConfigError(
            f"unknown scheduler {config.scheduler!r}; choose one of: {', '.join(SCHEDULES)}"
        )
    if isinstance(config.milestones, (str, bytes)) or not all(
        isinstance(m, numbers.Integral) and not isinstance(m, bool) and m >= 0
        for m in config.milestones
    ):
        raise ConfigError(
            f"milestones must be step numbers (integers, 0 or more), got {config.milestones!r}"
        )
