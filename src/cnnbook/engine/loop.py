"""``fit``, ``evaluate`` and ``predict``: the training loop the book teaches.

The loop itself is the one every tutorial writes (forward, loss, backward,
step; then evaluate with ``model.eval()`` and ``torch.no_grad()``). What
this module adds is what those tutorials leave out: a seeded data order,
metrics summed on the device (no ``.item()`` per step, which would stall a
GPU), a stop when the loss turns NaN, atomic ``last.pt``/``best.pt``
checkpoints with everything needed to resume exactly, and the handful of
lines that let the same call run under ``torchrun`` on many GPUs.
"""

from __future__ import annotations

from cnnbook.errors import ConfigError, TrainingDiverged  # noqa: F401  (re-exported)

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, DistributedSampler

from cnnbook import distributed
from cnnbook.data import DataError, TensorImageDataset, collate_batch
from cnnbook.engine import checkpoint as ckpt_io
from cnnbook.engine.device import autocast_dtype, resolve_device
from cnnbook.engine.history import History




SCHEDULES = ("constant", "multistep", "cosine")
OPTIMIZERS = ("sgd", "adam", "adamw")


# --------------------------------------------------------------------------- building blocks


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (call before building a model for a reproducible init)."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    # A fresh, known seed per (epoch, rank): resuming at any epoch boundary
    # replays exactly the same random draws (augmentation, dropout), whatever
    # the number of processes before the interruption, and ranks differ.
    return (seed * 1_000_003 + epoch * 7_919 + rank * 104_729) % 2**63


def make_optimizer(
    name: str, params, lr: float, momentum: float, weight_decay: float, nesterov=False
):
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


def lr_factor(
    schedule: str | Callable[[int], float],
    total_steps: int,
    milestones: Sequence[int] = (),
    gamma: float = 0.1,
    warmup_steps: int = 0,
) -> Callable[[int], float]:
    """The learning-rate multiplier as a function of the step (iteration) number.

    Every schedule is counted in optimizer steps, not epochs, because that is
    how papers state them (the ResNet paper divides by 10 "at 32k and 48k
    iterations"). ``warmup_steps`` ramps linearly from 1/warmup to 1 first,
    as Goyal et al. do when they scale the learning rate with the batch.
    """
    if callable(schedule):
        base = schedule
    elif schedule == "constant":

        def base(step):
            return 1.0
    elif schedule == "multistep":
        marks = sorted(int(m) for m in milestones)

        def base(step):
            return gamma ** sum(step >= m for m in marks)
    elif schedule == "cosine":

        def base(step):
            return 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / max(1, total_steps)))
    else:
        raise ConfigError(f"unknown scheduler {schedule!r}; choose one of: {', '.join(SCHEDULES)}")

    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
        return warm * base(step)

    return factor


def _loader(
    dataset: Dataset, batch_sampler, device: torch.device, num_workers: int | None
) -> DataLoader:
    in_memory = isinstance(dataset, TensorImageDataset)
    if num_workers is None:
        # In-memory batches are one slicing call: worker processes would only
        # add copying. Decoding image files on a GPU run needs workers so the
        # GPU never waits for the CPU.
        cpus = os.cpu_count() or 1
        local = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
        num_workers = 0 if in_memory or device.type != "cuda" else min(8, max(1, cpus // local - 1))
    return DataLoader(
        dataset,
        batch_sampler=batch_sampler,
        collate_fn=collate_batch,
        num_workers=num_workers,
        # Pinned (page-locked) host memory lets the copy to the GPU overlap
        # compute; a dataset already on the GPU has nothing to pin.
        pin_memory=device.type == "cuda" and not (in_memory and dataset.images.is_cuda),
        persistent_workers=num_workers > 0,
    )


class _ShardSampler(torch.utils.data.Sampler):
    """Rank ``r`` of ``w`` takes items r, r+w, r+2w... with no padding (for exact evaluation)."""

    def __init__(self, n: int, rank: int, world: int) -> None:
        self.indices = list(range(rank, n, world))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def _check_positive(name: str, value, kind=int) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (kind is int and int(value) != value)
    ):
        raise ConfigError(
            f"{name} must be a positive {'integer' if kind is int else 'number'}, got {value!r}"
        )
    if not value > 0 or (isinstance(value, float) and not math.isfinite(value)):
        raise ConfigError(f"{name} must be positive, got {value}")


# --------------------------------------------------------------------------- evaluation


@torch.no_grad()
def _evaluate_loader(model, loader, device, dtype, channels_last, loss_fn) -> torch.Tensor:
    """Sum of loss, number correct and count over a loader, as one tensor on ``device``."""
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    for x, y in loader:
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with _autocast(device, dtype):
            out = model(x)
        loss = loss_fn(out.float(), y)
        totals[0] += loss.double() * len(y)
        totals[1] += (out.argmax(1) == y).sum()
        totals[2] += len(y)
    return totals


def _autocast(device: torch.device, dtype):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def evaluate(
    model: nn.Module,
    dataset: Dataset,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    amp: bool | None = False,
) -> dict:
    """Mean cross-entropy and accuracy of ``model`` on ``dataset``.

    ``model.eval()`` switches dropout off and makes batch norm use its
    running statistics; ``torch.no_grad()`` skips building the autograd
    graph. Without the first the score is noisy and wrong; without the
    second it is right but slow and memory-hungry. The model's previous
    mode is restored afterwards.
    """
    dev = resolve_device(device)
    was_training = model.training
    model.to(dev).eval()
    try:
        loader = _loader(dataset, BatchSampler(range(len(dataset)), batch_size, False), dev, 0)
        t = _evaluate_loader(
            model, loader, dev, autocast_dtype(dev, amp), False, nn.CrossEntropyLoss()
        )
    finally:
        model.train(was_training)
    n = int(t[2])
    return {"loss": float(t[0] / n), "acc": float(t[1] / n), "n": n}


@torch.no_grad()
def predictions(
    model: nn.Module, dataset: Dataset, batch_size: int = 256, device: str | torch.device = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """True and predicted class of every item, in order (for a confusion matrix)."""
    dev = resolve_device(device)
    was_training = model.training
    model.to(dev).eval()
    ys, ps = [], []
    try:
        for x, y in _loader(dataset, BatchSampler(range(len(dataset)), batch_size, False), dev, 0):
            ps.append(model(x.to(dev)).argmax(1).cpu())
            ys.append(torch.as_tensor(y))
    finally:
        model.train(was_training)
    return torch.cat(ys), torch.cat(ps)


@torch.no_grad()
def predict(
    model: nn.Module,
    image,
    transform: Callable,
    classes: Sequence[str],
    device: str | torch.device = "cpu",
    top_k: int | None = None,
):
    """Classify one image (a path or a PIL image) with the evaluation transform.

    Returns ``(class_name, probability)``, or with ``top_k`` a list of the
    ``k`` most likely ``(class_name, probability)`` pairs.
    """
    from PIL import Image, UnidentifiedImageError

    if not isinstance(image, Image.Image):
        path = Path(image)
        if not path.is_file():
            raise DataError(f"no image file at {path}")
        try:
            with Image.open(path) as im:
                image = im.convert("RGB") if im.mode not in ("L", "RGB") else im.copy()
        except (UnidentifiedImageError, OSError):
            raise DataError(f"{path} is not an image file that PIL can read") from None
    dev = resolve_device(device)
    was_training = model.training
    model.to(dev).eval()
    try:
        probs = model(transform(image).unsqueeze(0).to(dev)).float().softmax(1)[0].cpu()
    finally:
        model.train(was_training)
    if top_k is None:
        i = int(probs.argmax())
        return classes[i], float(probs[i])
    values, idx = probs.topk(min(top_k, len(classes)))
    return [(classes[int(i)], float(v)) for v, i in zip(values, idx, strict=True)]


# --------------------------------------------------------------------------- training


def fit(
    model: nn.Module,
    train_data: Dataset,
    val_data: Dataset | None = None,
    *,
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 0.05,
    optimizer: str = "sgd",
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    scheduler: str | Callable[[int], float] = "constant",
    milestones: Sequence[int] = (),
    gamma: float = 0.1,
    warmup_steps: int = 0,
    max_steps: int | None = None,
    label_smoothing: float = 0.0,
    seed: int = 0,
    device: str | torch.device = "cpu",
    amp: bool | None = None,
    channels_last: bool | None = None,
    compile: bool = False,
    num_workers: int | None = None,
    eval_batch_size: int | None = None,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    log: bool = True,
    progress: bool | None = None,
    sync_bn: bool = False,
    dist_backend: str | None = None,
    dist_timeout: float | None = None,
    config: dict | None = None,
    on_epoch_end: Callable[[dict], None] | None = None,
) -> History:
    """Train ``model`` and return its :class:`History`.

    ``batch_size`` is the global batch: under torchrun each of the N
    processes takes ``batch_size / N``. ``scheduler`` is ``"constant"``,
    ``"multistep"`` (multiply by ``gamma`` at each of ``milestones``,
    counted in steps), ``"cosine"``, or a function ``step -> factor``.
    ``max_steps`` ends training after that many optimizer steps.

    With ``out_dir`` the run writes ``last.pt`` after every epoch,
    ``best.pt`` whenever validation accuracy improves, and
    ``history.json``; ``resume=True`` continues from ``last.pt``.
    ``config`` is stored in the checkpoints (plain values only).
    """
    opts = dict(locals())
    _check_positive("epochs", epochs)
    _check_positive("batch_size", batch_size)
    _check_positive("lr", lr, float)
    if max_steps is not None:
        _check_positive("max_steps", max_steps)
    if resume and out_dir is None:
        raise ConfigError("resume needs an output directory holding last.pt (out_dir / --out)")
    if len(train_data) == 0:
        raise ConfigError("the training set is empty")
    make_optimizer(optimizer, [torch.zeros(1, requires_grad=True)], lr, momentum, weight_decay)
    lr_factor(scheduler, 1, milestones, gamma, warmup_steps)  # validates the name early

    dev = resolve_device(device)
    ctx = distributed.setup(dev, dist_backend, dist_timeout)
    try:
        return _fit(dev=dev, ctx=ctx, **opts)
    finally:
        ctx.close()


def _fit(
    model, train_data, val_data, *, epochs, batch_size, lr, optimizer, momentum, weight_decay,
    nesterov, scheduler, milestones, gamma, warmup_steps, max_steps, label_smoothing, seed,
    device, amp, channels_last, compile, num_workers, eval_batch_size, out_dir, resume, overwrite,
    log, progress, sync_bn, dist_backend, dist_timeout, config, on_epoch_end, dev, ctx,
) -> History:  # fmt: skip
    dev = distributed.local_device(dev, ctx)
    main = ctx.is_main
    per_rank = distributed.split_batch(batch_size, ctx)
    run_config = {
        "epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": optimizer,
        "momentum": momentum, "weight_decay": weight_decay, "nesterov": nesterov,
        "scheduler": scheduler if isinstance(scheduler, str) else "custom",
        "milestones": [int(m) for m in milestones], "gamma": gamma, "warmup_steps": warmup_steps,
        "max_steps": max_steps, "label_smoothing": label_smoothing, "seed": seed,
        "sync_bn": sync_bn, **(config or {}),
    }  # fmt: skip
    ctx.check_same(run_config)
    if ctx.enabled and dev.type == "cpu":
        # N processes on one machine share its cores; N x all-cores threads thrash.
        local = int(os.environ.get("LOCAL_WORLD_SIZE", ctx.world_size))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))

    dtype = autocast_dtype(dev, amp)
    if channels_last is None:
        channels_last = dev.type == "cuda"
    out = Path(out_dir) if out_dir is not None else None
    last_path = out / "last.pt" if out else None

    raw = model.to(dev)
    if channels_last:
        raw = raw.to(memory_format=torch.channels_last)
    if sync_bn and ctx.enabled:
        raw = distributed.convert_sync_batchnorm(raw, dev)
    opt = make_optimizer(optimizer, raw.parameters(), lr, momentum, weight_decay, nesterov)

    train_sampler = DistributedSampler(
        train_data, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=seed
    )
    train_batches = BatchSampler(train_sampler, per_rank, drop_last=False)
    steps_per_epoch = len(train_batches)
    total_steps = min(max_steps or 10**18, steps_per_epoch * epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lr_factor(scheduler, total_steps, milestones, gamma, warmup_steps)
    )

    history = History()
    start_epoch, step, best_acc = 0, 0, -1.0
    if resume:
        if not last_path.is_file():
            raise ckpt_io.CheckpointError(f"cannot resume: there is no checkpoint at {last_path}")
        state = ckpt_io.load(last_path, map_location=dev)
        ckpt_io.check_model_matches(
            distributed.unwrap(raw), state, last_path, (config or {}).get("model")
        )
        distributed.unwrap(raw).load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        history = History.from_dict(state["history"])
        start_epoch, step = int(state["epoch"]), int(state["step"])
        best_acc = float(state.get("best_val_acc", -1.0))
        if state.get("world_size", 1) == ctx.world_size:
            ckpt_io.set_rng_state(state["rng"])
    elif out is not None and last_path.exists() and not overwrite:
        raise ckpt_io.CheckpointError(
            f"{out} already holds a checkpoint; pass --resume to continue it or choose another --out"
        )

    net = raw
    if ctx.enabled:
        net = nn.parallel.DistributedDataParallel(
            raw, device_ids=[dev.index] if dev.type == "cuda" else None
        )
    if compile:
        net = torch.compile(net)

    train_loader = _loader(train_data, train_batches, dev, num_workers)
    val_loader = None
    if val_data is not None and len(val_data):
        val_batches = BatchSampler(
            _ShardSampler(len(val_data), ctx.rank, ctx.world_size),
            eval_batch_size or 2 * per_rank,
            False,
        )
        val_loader = _loader(val_data, val_batches, dev, num_workers)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    eval_loss_fn = nn.CrossEntropyLoss()
    scaler = torch.amp.GradScaler(dev.type) if dtype == torch.float16 else None
    show_bar = main and log and (progress if progress is not None else sys.stderr.isatty())
    # Checking the loss for NaN needs the value on the host; on a GPU that is
    # a synchronisation, so there it happens every few steps, not every step.
    check_every = 1 if dev.type == "cpu" and not ctx.enabled else 25

    if main and log and start_epoch:
        print(f"resuming after epoch {start_epoch} (step {step}) from {last_path}", flush=True)
    for epoch in range(start_epoch + 1, epochs + 1):
        if max_steps is not None and step >= max_steps:
            break
        torch.manual_seed(_epoch_seed(seed, epoch, ctx.rank))
        train_sampler.set_epoch(epoch)
        net.train()
        totals = torch.zeros(3, dtype=torch.float64, device=dev)
        bad = torch.zeros((), dtype=torch.bool, device=dev)
        epoch_lr = opt.param_groups[0]["lr"]
        t0 = time.perf_counter()
        batches = train_loader
        if show_bar:
            from tqdm.auto import tqdm

            batches = tqdm(
                train_loader, desc=f"epoch {epoch}/{epochs}", leave=False, file=sys.stderr
            )
        for i, (x, y) in enumerate(batches):
            x = x.to(dev, non_blocking=True)
            y = y.to(dev, non_blocking=True)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            opt.zero_grad(set_to_none=True)
            with _autocast(dev, dtype):
                logits = net(x)
                loss = loss_fn(logits.float(), y)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            epoch_lr = opt.param_groups[0]["lr"]
            sched.step()
            step += 1
            with torch.no_grad():
                totals[0] += loss.detach().double() * len(y)
                totals[1] += (logits.argmax(1) == y).sum()
                totals[2] += len(y)
                bad |= ~torch.isfinite(loss.detach())
            last_batch = i == steps_per_epoch - 1 or (max_steps is not None and step >= max_steps)
            if (step % check_every == 0 or last_batch) and ctx.any(bool(bad), dev):
                raise TrainingDiverged(
                    f"training stopped: the loss became NaN or infinite in epoch {epoch} (step {step}); "
                    f"try a smaller learning rate than {lr:g}"
                    + (
                        f" (the last good checkpoint is {last_path})"
                        if last_path and last_path.exists()
                        else ""
                    )
                )
            if show_bar and i % 10 == 0:
                batches.set_postfix(loss=f"{loss.item():.3f}")
            if max_steps is not None and step >= max_steps:
                break
        ctx.all_reduce_sum(totals)
        train_seconds = time.perf_counter() - t0
        row = {
            "epoch": epoch,
            "train_loss": float(totals[0] / totals[2]),
            "train_acc": float(totals[1] / totals[2]),
            "val_loss": None,
            "val_acc": None,
            "lr": float(epoch_lr),
        }
        if val_loader is not None:
            raw.eval()
            vt = _evaluate_loader(raw, val_loader, dev, dtype, channels_last, eval_loss_fn)
            ctx.all_reduce_sum(vt)
            row["val_loss"] = float(vt[0] / vt[2])
            row["val_acc"] = float(vt[1] / vt[2])
        row["seconds"] = time.perf_counter() - t0
        row["images_per_s"] = float(totals[2]) / train_seconds
        history.append(row)
        improved = row["val_acc"] is not None and row["val_acc"] > best_acc
        if improved:
            best_acc = row["val_acc"]
        if out is not None and main:
            state = {
                "format": ckpt_io.FORMAT,
                "version": ckpt_io.VERSION,
                "model": {
                    k: v.detach().cpu() for k, v in distributed.unwrap(raw).state_dict().items()
                },
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "epoch": epoch,
                "step": step,
                "best_val_acc": best_acc,
                "history": history.to_dict(),
                "rng": ckpt_io.rng_state(),
                "world_size": ctx.world_size,
                "config": run_config,
            }
            # best.pt first: if the process dies between the two writes,
            # last.pt still points at the previous epoch, which is redone.
            if improved or val_loader is None:
                ckpt_io.atomic_save(state, out / "best.pt")
            ckpt_io.atomic_save(state, last_path)
            import json

            ckpt_io.atomic_write_text(json.dumps(history.to_dict(), indent=1), out / "history.json")
        if main and log:
            line = history.format_row(row, epochs)
            if show_bar:
                from tqdm.auto import tqdm

                tqdm.write(line, file=sys.stderr)
            else:
                print(line, flush=True)
        if on_epoch_end is not None and main:
            on_epoch_end(row)
    ctx.barrier()
    return history
