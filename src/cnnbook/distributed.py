"""Data-parallel training under ``torchrun``, with nothing to change in the caller.

``torchrun --nproc_per_node=N script.py`` starts N copies of a script and
tells each one who it is through environment variables (``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``/``MASTER_PORT``). The
engine reads them through :func:`setup`: when they are absent it returns a
single-process context and every helper here becomes a no-op, so the same
``fit()`` call serves a laptop and a cluster.

What each process does differently (and what this module provides):

* joins the process group (``gloo`` on CPU, ``nccl`` on CUDA) with a
  timeout, so a dead peer ends the run with an error instead of a hang;
* reads its own shard of every epoch (``DistributedSampler``);
* sums its metrics with the others' (:meth:`Context.all_reduce_sum`) so all
  ranks report the numbers of the whole global batch;
* leaves printing and checkpoint writing to rank 0.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn
from torch.autograd.function import FunctionCtx

from cnnbook.errors import DistributedError  # noqa: F401  (re-exported)

#: Seconds a collective may wait for a peer before the run fails.
DEFAULT_TIMEOUT_S = 300


def launched_by_torchrun() -> bool:
    """True when this process was started by torchrun (or another launcher setting WORLD_SIZE)."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


@dataclass
class Context:
    """Who this process is in the run; ``enabled`` is False for a plain single process."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    enabled: bool = False
    backend: str | None = None
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum ``tensor`` over all ranks, in place (a no-op for a single process)."""
        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def any(self, flag: bool, device: torch.device | str = "cpu") -> bool:
        """True on every rank when ``flag`` is True on at least one."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def check_same(self, config: dict) -> None:
        """Fail on every rank when the ranks were launched with different settings.

        Each rank publishes a digest of its configuration; ranks then compare
        the whole list, so all of them reach the same verdict and exit together.
        """
        if not self.enabled:
            return
        digest = hashlib.sha256(
            json.dumps(config, sort_keys=True, default=str).encode()
        ).hexdigest()
        digests: list = [None] * self.world_size
        dist.all_gather_object(digests, digest)
        if len(set(digests)) > 1:
            odd = [r for r, d in enumerate(digests) if d != digests[0]]
            raise DistributedError(
                f"ranks disagree on the training configuration (rank {odd[0]} differs from rank 0); "
                "launch every process with the same arguments"
            )

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


def setup(
    device: torch.device, backend: str | None = None, timeout_s: float | None = None
) -> Context:
    """Join the process group described by torchrun's environment, if there is one.

    ``backend=None`` picks ``nccl`` for CUDA and ``gloo`` otherwise. On CUDA
    each process takes the GPU numbered by its ``LOCAL_RANK``.
    """
    if not launched_by_torchrun():
        return Context()
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if not dist.is_available():
        raise DistributedError(
            "this PyTorch build has no torch.distributed support; install a standard build"
        )
    if backend is None:
        backend = "nccl" if device.type == "cuda" else "gloo"
    available = {"gloo": dist.is_gloo_available(), "nccl": dist.is_nccl_available()}
    if backend in available and not available[backend]:
        raise DistributedError(
            f"the {backend} backend is not available in this PyTorch build; "
            f"use --dist-backend {'gloo' if backend == 'nccl' else 'nccl'}"
        )
    if backend == "nccl" and device.type != "cuda":
        raise DistributedError("the nccl backend needs CUDA GPUs; use gloo on CPU")
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
    timeout = timedelta(
        seconds=timeout_s or float(os.environ.get("CNNBOOK_DIST_TIMEOUT", DEFAULT_TIMEOUT_S))
    )
    owns = False
    if not dist.is_initialized():
        try:
            dist.init_process_group(backend=backend, timeout=timeout)
        except (RuntimeError, ValueError) as exc:
            raise DistributedError(
                f"could not join the {backend} process group: {exc}".splitlines()[0]
            ) from None
        owns = True
    return Context(rank, local_rank, world, True, backend, owns)


def local_device(device: torch.device, ctx: Context) -> torch.device:
    """On CUDA under torchrun, each process drives the GPU of its local rank."""
    if ctx.enabled and device.type == "cuda" and device.index is None:
        return torch.device("cuda", ctx.local_rank)
    return device


def split_batch(global_batch: int, ctx: Context) -> int:
    """Per-rank batch size; the user's batch size is the global one and is never changed."""
    if global_batch < ctx.world_size:
        raise DistributedError(
            f"batch size {global_batch} gives each of {ctx.world_size} processes a batch of zero; "
            f"use a batch size of at least {ctx.world_size}"
        )
    if global_batch % ctx.world_size:
        raise DistributedError(
            f"batch size {global_batch} does not divide evenly over {ctx.world_size} processes; "
            f"use a multiple of {ctx.world_size}"
        )
    return global_batch // ctx.world_size


# --------------------------------------------------------------------------- SyncBatchNorm


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks whose gradient is again a sum over ranks (each rank's loss
    depends on every rank's activations through the shared statistics)."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        dist.all_reduce(x, op=dist.ReduceOp.SUM)
        return x

    @staticmethod
    def backward(ctx: FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad


class _GlooSyncBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose batch statistics span all processes (works on CPU with gloo).

    PyTorch's ``nn.SyncBatchNorm`` only runs on GPUs. This version computes
    the global mean and variance with two differentiable all-reduces, so the
    forward pass and the gradients equal those of one BatchNorm over the
    global batch.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        all_reduce = _AllReduceSum.apply
        c = x.shape[1]
        n = torch.tensor([x.numel() // c], dtype=x.dtype, device=x.device)
        local = torch.cat([x.sum(dim=(0, 2, 3)), n])
        total = all_reduce(local)
        count = total[-1]
        mean = total[:c] / count
        centred = x - mean.view(1, c, 1, 1)
        var = all_reduce((centred * centred).sum(dim=(0, 2, 3))) / count
        if self.track_running_stats:
            # With track_running_stats these buffers exist (BatchNorm types them Optional).
            tracked, running_mean, running_var = (
                self.num_batches_tracked,
                self.running_mean,
                self.running_var,
            )
            assert tracked is not None and running_mean is not None and running_var is not None
            with torch.no_grad():
                tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(tracked)
                running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                unbiased = var.detach() * count / (count - 1)
                running_var.mul_(1 - m).add_(unbiased, alpha=m)
        y = centred * torch.rsqrt(var + self.eps).view(1, c, 1, 1)
        if self.affine:
            y = y * self.weight.view(1, c, 1, 1) + self.bias.view(1, c, 1, 1)
        return y


def convert_sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """Replace every BatchNorm2d by a synchronised one (PyTorch's on GPUs, ours on CPU)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for name, child in model.named_children():
        if type(child) is nn.BatchNorm2d:
            sync = _GlooSyncBatchNorm2d(
                child.num_features,
                child.eps,
                child.momentum,
                child.affine,
                child.track_running_stats,
            )
            sync.load_state_dict(child.state_dict())
            sync.to(next(child.buffers()).device if list(child.buffers()) else device)
            setattr(model, name, sync)
        else:
            convert_sync_batchnorm(child, device)
    return model


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside DistributedDataParallel and ``torch.compile`` wrappers."""
    while True:
        compiled_inner = getattr(model, "_orig_mod", None)
        if isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        elif isinstance(compiled_inner, nn.Module):
            model = compiled_inner
        else:
            return model


def is_main_process() -> bool:
    """True for rank 0 of a torchrun job, and for a plain single process."""
    return int(os.environ.get("RANK", "0")) == 0
