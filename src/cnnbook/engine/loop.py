"""``fit``: the training loop the book teaches.

The loop itself is the one every tutorial writes (forward, loss, backward,
step; then evaluate with ``model.eval()`` and ``torch.no_grad()``). What
this module adds is what those tutorials leave out: a seeded data order,
metrics summed on the device (no ``.item()`` per step, which would stall a
GPU), a stop when the loss turns NaN, atomic ``last.pt``/``best.pt``
checkpoints with everything needed to resume exactly, and the handful of
lines that let the same call run under ``torchrun`` on many GPUs.

Read :func:`fit` top to bottom: each step it takes is one function below it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import torch
from torch import nn
from torch.utils.data import BatchSampler, Dataset, DistributedSampler

from cnnbook import distributed
from cnnbook.engine import checkpoint as ckpt_io
from cnnbook.engine.config import TrainConfig
from cnnbook.engine.device import autocast_dtype, resolve_device
from cnnbook.engine.evaluate import evaluate_loader
from cnnbook.engine.history import History
from cnnbook.engine.loaders import (
    ShardSampler,
    autocast,
    dataset_length,
    epoch_seed,
    make_loader,
)
from cnnbook.engine.optim import make_optimizer, make_scheduler
from cnnbook.errors import ConfigError, TrainingDiverged
from cnnbook.modes import eval_mode


def fit(
    model: nn.Module,
    train_data: Dataset,
    val_data: Dataset | None = None,
    config: TrainConfig | None = None,
    *,
    meta: dict | None = None,
    on_epoch_end: Callable[[dict], None] | None = None,
    **overrides,
) -> History:
    """Train ``model`` and return its :class:`History`.

    ``config`` holds the settings (see :class:`TrainConfig` for each one);
    keyword ``overrides`` replace single fields, so
    ``fit(model, train, val, epochs=3, lr=0.1)`` needs no config at all.

    With ``out_dir`` the run writes ``last.pt`` after every epoch,
    ``best.pt`` whenever validation accuracy improves, and
    ``history.json``; ``resume=True`` continues from ``last.pt``.
    ``meta`` (plain values: model name and options, data description) is
    stored in the checkpoints, so :func:`cnnbook.engine.load_model` can
    rebuild the model. ``on_epoch_end(row)`` is called after each epoch.
    """
    if config is not None and not isinstance(config, TrainConfig):
        raise ConfigError(
            "config must be a TrainConfig; plain values to store in checkpoints go in meta="
        )
    cfg = (config or TrainConfig()).replace(**overrides)
    if dataset_length(train_data, "the training set") == 0:
        raise ConfigError("the training set is empty")
    dev = resolve_device(cfg.device)
    ctx = distributed.setup(dev, cfg.dist_backend, cfg.dist_timeout)
    try:
        return _train(model, train_data, val_data, cfg, dict(meta or {}), on_epoch_end, dev, ctx)
    finally:
        ctx.close()


@dataclass
class _Parts:
    """What one run trains with, built once by :func:`_build`."""

    cfg: TrainConfig
    ctx: distributed.Context
    dev: torch.device
    dtype: torch.dtype | None
    channels_last: bool
    raw: nn.Module  # the model itself: checkpoints and evaluation use it
    net: nn.Module  # what the training step calls: raw, maybe wrapped in DDP and compiled
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler | None
    loss_fn: nn.Module
    sampler: DistributedSampler
    train_loader: torch.utils.data.DataLoader
    val_loader: torch.utils.data.DataLoader | None


@dataclass
class _Progress:
    """How far the run is: what a checkpoint saves and a resume restores."""

    history: History = field(default_factory=History)
    epoch: int = 0  # the last finished epoch
    step: int = 0  # optimizer steps taken
    best_acc: float = -1.0


def _train(model, train_data, val_data, cfg, meta, on_epoch_end, dev, ctx) -> History:
    dev = distributed.local_device(dev, ctx)
    ctx.check_same({**cfg.recipe(), **meta})
    saved = ckpt_io.open_run(
        cfg.out_dir, resume=cfg.resume, overwrite=cfg.overwrite, model_name=meta.get("model"),
        model=model, map_location=dev,
    )  # fmt: skip
    parts = _build(model, train_data, val_data, cfg, dev, ctx)
    progress = _restore(saved, parts) if saved is not None else _Progress()
    main, out = ctx.is_main, Path(cfg.out_dir) if cfg.out_dir is not None else None
    show_bar = main and cfg.log and (cfg.progress if cfg.progress is not None else _tty())
    if main and cfg.log and progress.epoch:
        print(f"resuming after epoch {progress.epoch} (step {progress.step}) from {out}/last.pt",
              flush=True)  # fmt: skip
    for epoch in range(progress.epoch + 1, cfg.epochs + 1):
        if cfg.max_steps is not None and progress.step >= cfg.max_steps:
            break
        row = train_epoch(parts, epoch, progress, show_bar, out)
        if parts.val_loader is not None:
            row["val_loss"], row["val_acc"] = validate(parts)
        row["seconds"] = time.perf_counter() - row.pop("started")
        improved = _record(progress, epoch, row)
        if out is not None and main:
            ckpt_io.write(_checkpoint_state(parts, progress, meta), out,
                          best=improved or parts.val_loader is None)  # fmt: skip
        if main and cfg.log:
            _log(progress.history.format_row(row, cfg.epochs), show_bar)
        if on_epoch_end is not None and main:
            on_epoch_end(row)
    ctx.barrier()
    return progress.history


def _tty() -> bool:
    return sys.stderr.isatty()


def _build(
    model: nn.Module,
    train_data: Dataset,
    val_data: Dataset | None,
    cfg: TrainConfig,
    dev: torch.device,
    ctx: distributed.Context,
) -> _Parts:
    """Model on its device, optimizer and scheduler, loaders, DDP and compile wrappers."""
    if ctx.enabled and dev.type == "cpu":
        # N processes on one machine share its cores; N x all-cores threads thrash.
        local = int(os.environ.get("LOCAL_WORLD_SIZE", ctx.world_size))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
    dtype = autocast_dtype(dev, cfg.amp)
    channels_last = cfg.channels_last if cfg.channels_last is not None else dev.type == "cuda"
    raw = model.to(dev)
    if channels_last:
        raw = raw.to(memory_format=torch.channels_last)
    if cfg.sync_bn and ctx.enabled:
        raw = distributed.convert_sync_batchnorm(raw, dev)

    per_rank = distributed.split_batch(cfg.batch_size, ctx)
    sampler: DistributedSampler[int] = DistributedSampler(
        train_data, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=cfg.seed
    )
    train_batches = BatchSampler(sampler, per_rank, drop_last=False)
    total_steps = min(cfg.max_steps or 10**18, len(train_batches) * cfg.epochs)
    opt = make_optimizer(
        cfg.optimizer, raw.parameters(), cfg.lr, cfg.momentum, cfg.weight_decay, cfg.nesterov
    )
    val_loader = None
    n_val = 0 if val_data is None else dataset_length(val_data, "the validation set")
    if val_data is not None and n_val:
        val_batches = BatchSampler(
            ShardSampler(n_val, ctx.rank, ctx.world_size),
            cfg.eval_batch_size or 2 * per_rank,
            False,
        )
        val_loader = make_loader(val_data, val_batches, dev, cfg.num_workers)
    net = raw
    if ctx.enabled:
        net = nn.parallel.DistributedDataParallel(
            raw, device_ids=[dev.index] if dev.type == "cuda" else None
        )
    if cfg.compile:
        # A compiled Module is an OptimizedModule (an nn.Module); torch types the
        # result of compile() only as a callable, for functions and modules alike.
        net = cast(nn.Module, torch.compile(net))
    return _Parts(
        cfg=cfg, ctx=ctx, dev=dev, dtype=dtype, channels_last=channels_last, raw=raw, net=net,
        optimizer=opt, scheduler=make_scheduler(opt, cfg, total_steps),
        scaler=torch.amp.GradScaler(dev.type) if dtype == torch.float16 else None,
        loss_fn=nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing), sampler=sampler,
        train_loader=make_loader(train_data, train_batches, dev, cfg.num_workers),
        val_loader=val_loader,
    )  # fmt: skip


def _restore(state: dict, parts: _Parts) -> _Progress:
    """Load weights, optimizer and scheduler from a checkpoint; return how far it got."""
    distributed.unwrap(parts.raw).load_state_dict(state["model"])
    parts.optimizer.load_state_dict(state["optimizer"])
    # Without the scheduler's step count the learning rate would start its
    # curve again (a cosine back at the top, milestones pushed later).
    parts.scheduler.load_state_dict(state["scheduler"])
    return _Progress(
        history=History.from_dict(state["history"]),
        epoch=int(state["epoch"]),
        step=int(state["step"]),
        best_acc=float(state.get("best_val_acc", -1.0)),
    )


def train_epoch(parts: _Parts, epoch: int, progress: _Progress, show_bar: bool, out) -> dict:
    """One pass over the training data; returns the epoch's row (training columns)."""
    cfg, dev, ctx = parts.cfg, parts.dev, parts.ctx
    torch.manual_seed(epoch_seed(cfg.seed, epoch, ctx.rank))
    parts.sampler.set_epoch(epoch)
    parts.net.train()
    totals = torch.zeros(3, dtype=torch.float64, device=dev)
    bad = torch.zeros((), dtype=torch.bool, device=dev)
    # Checking the loss for NaN needs the value on the host; on a GPU that is
    # a synchronisation, so there it happens every few steps, not every step.
    check_every = 1 if dev.type == "cpu" and not ctx.enabled else 25
    epoch_lr = parts.optimizer.param_groups[0]["lr"]
    started = time.perf_counter()
    bar = _bar(parts.train_loader, epoch, cfg.epochs) if show_bar else None
    batches = parts.train_loader if bar is None else bar
    for i, (x, y) in enumerate(batches):
        x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
        epoch_lr = parts.optimizer.param_groups[0]["lr"]
        loss, logits = _step(parts, x, y)
        progress.step += 1
        with torch.no_grad():
            totals[0] += loss.detach().double() * len(y)
            totals[1] += (logits.argmax(1) == y).sum()
            totals[2] += len(y)
            bad |= ~torch.isfinite(loss.detach())
        stop = cfg.max_steps is not None and progress.step >= cfg.max_steps
        last = i == len(parts.train_loader) - 1 or stop
        if (progress.step % check_every == 0 or last) and ctx.any(bool(bad), dev):
            _diverged(cfg, epoch, progress.step, out)
        if bar is not None and i % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if stop:
            break
    train_seconds = time.perf_counter() - started
    ctx.all_reduce_sum(totals)
    return {
        "epoch": epoch,
        "train_loss": float(totals[0] / totals[2]),
        "train_acc": float(totals[1] / totals[2]),
        "val_loss": None,
        "val_acc": None,
        "lr": float(epoch_lr),
        "images_per_s": float(totals[2]) / train_seconds,
        "started": started,
    }


def _step(parts: _Parts, x: torch.Tensor, y: torch.Tensor):
    """Forward, loss, backward, optimizer step, scheduler step."""
    if parts.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    parts.optimizer.zero_grad(set_to_none=True)
    with autocast(parts.dev, parts.dtype):
        logits = parts.net(x)
        loss = parts.loss_fn(logits.float(), y)
    if parts.scaler is not None:
        parts.scaler.scale(loss).backward()
        parts.scaler.step(parts.optimizer)
        parts.scaler.update()
    else:
        loss.backward()
        parts.optimizer.step()
    parts.scheduler.step()
    return loss, logits


def validate(parts: _Parts) -> tuple[float, float]:
    """Mean loss and accuracy on the validation set (all processes together)."""
    with eval_mode(parts.raw):
        t = evaluate_loader(
            parts.raw, parts.val_loader, parts.dev, parts.dtype, parts.channels_last,
            nn.CrossEntropyLoss(),
        )  # fmt: skip
    parts.ctx.all_reduce_sum(t)
    return float(t[0] / t[2]), float(t[1] / t[2])


def _record(progress: _Progress, epoch: int, row: dict) -> bool:
    """Add the row; True when validation accuracy improved on the best so far."""
    progress.history.append(row)
    progress.epoch = epoch
    improved = row["val_acc"] is not None and row["val_acc"] > progress.best_acc
    if improved:
        progress.best_acc = row["val_acc"]
    return improved


def _checkpoint_state(parts: _Parts, progress: _Progress, meta: dict) -> dict:
    return ckpt_io.make_state(
        model=distributed.unwrap(parts.raw), optimizer=parts.optimizer,
        scheduler=parts.scheduler, epoch=progress.epoch, step=progress.step,
        best_val_acc=progress.best_acc, history=progress.history,
        world_size=parts.ctx.world_size, settings=parts.cfg.recipe(), meta=meta,
    )  # fmt: skip


def _diverged(cfg: TrainConfig, epoch: int, step: int, out: Path | None):
    last = out / "last.pt" if out is not None else None
    keep = f" (the last good checkpoint is {last})" if last and last.exists() else ""
    raise TrainingDiverged(
        f"training stopped: the loss became NaN or infinite in epoch {epoch} (step {step}); "
        f"try a smaller learning rate than {cfg.lr:g}{keep}"
    )


def _bar(loader, epoch: int, epochs: int):
    from tqdm.auto import tqdm

    return tqdm(loader, desc=f"epoch {epoch}/{epochs}", leave=False, file=sys.stderr)


def _log(line: str, show_bar: bool) -> None:
    if show_bar:
        from tqdm.auto import tqdm

        tqdm.write(line, file=sys.stderr)
    else:
        print(line, flush=True)
