"""Training throughput: images per second of a training step, and the share of the peak it uses.

Model FLOPs utilisation (MFU) is the arithmetic a training step needs by
the model's own count, divided by the time it took and by the device's
peak (:mod:`cnnbook.analysis.gpu_peaks`). It says how far a run is from the
hardware's limit, whatever tricks (mixed precision, channels_last,
``torch.compile``) got it there.

The FLOPs of a training step follow the usual convention: the backward
pass costs twice the forward pass (one product for the gradient of the
input, one for the gradient of the weights), so a step is three forward
passes, and a multiply-accumulate is two FLOPs. The forward MACs are the
package's own count (:func:`cnnbook.analysis.complexity.count_macs`).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, cast

import torch
from torch import nn

from cnnbook.analysis.complexity import count_macs
from cnnbook.engine.device import autocast_dtype
from cnnbook.engine.loaders import autocast

#: How :func:`training_flops_per_image` counts, in words for a results file.
FLOPS_CONVENTION = "training step = 3 x forward (backward = 2 x forward); 1 MAC = 2 FLOPs"

R = TypeVar("R")


@dataclass(frozen=True)
class Mode:
    """How a training step runs: precision, memory layout, compiled or not."""

    name: str
    amp: bool  # autocast to bf16 (fp16 on a GPU without bf16), as ``cnnbook train --amp``
    channels_last: bool
    compile: bool


MODES = (
    Mode("fp32 eager", amp=False, channels_last=False, compile=False),
    Mode("bf16 + channels_last", amp=True, channels_last=True, compile=False),
    Mode("bf16 + channels_last + compile", amp=True, channels_last=True, compile=True),
)


def training_flops_per_image(model: nn.Module, image_size: int, in_channels: int = 3) -> int:
    """FLOPs of one image's forward, backward and update, by :data:`FLOPS_CONVENTION`."""
    return 3 * 2 * count_macs(model, (1, in_channels, image_size, image_size))


def precision(device: torch.device, amp: bool) -> str:
    """The precision the convolutions run at, as :mod:`gpu_peaks` names it.

    Autocast picks bf16 (or fp16 where a GPU lacks bf16). Without it, cuDNN
    runs fp32 convolutions on tf32 tensor cores unless told not to
    (``torch.backends.cudnn.allow_tf32``, on by default); the convolutions
    are nearly all of a CNN's arithmetic, so that is the peak to compare with.
    """
    dtype = autocast_dtype(device, amp)
    if dtype is torch.bfloat16:
        return "bf16"
    if dtype is torch.float16:
        return "fp16"
    if device.type == "cuda" and torch.backends.cudnn.allow_tf32:
        return "tf32"
    return "fp32"


def mfu(images_per_s: float, flops_per_image: float, peak_flops: float | None) -> float | None:
    """Model FLOPs utilisation: achieved model FLOP/s over the peak; None without a peak."""
    if peak_flops is None:
        return None
    return images_per_s * flops_per_image / peak_flops


def sync(device: torch.device) -> None:
    """Wait for the device: CUDA calls return before the GPU has done the work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(
    step: Callable[[], object], steps: int, warmup: int, wait: Callable[[], None]
) -> tuple[float, float]:
    """(seconds of the ``warmup`` steps, seconds of the ``steps`` timed after them).

    The warm-up pays for what happens once (cuDNN's algorithm search,
    compilation, the allocator growing), so it is timed apart. ``wait``
    runs before each clock reading, so the clock sees work done, not work queued.
    """
    start = time.perf_counter()
    for _ in range(warmup):
        step()
    wait()
    timed_from = time.perf_counter()
    for _ in range(steps):
        step()
    wait()
    end = time.perf_counter()
    return timed_from - start, end - timed_from


@dataclass(frozen=True)
class Measurement:
    """One model trained in one mode at one batch size."""

    batch_size: int
    precision: str
    images_per_s: float
    step_ms: float
    warmup_s: float  # includes compilation in a compiled mode


def measure(
    model: nn.Module,
    mode: Mode,
    batch_size: int,
    image_size: int,
    device: torch.device,
    steps: int,
    warmup: int,
    num_classes: int = 1000,
    compile_backend: str = "inductor",
) -> Measurement:
    """Time ``steps`` SGD training steps of ``model`` on one synthetic batch kept on ``device``.

    Synthetic data on the device leaves the input pipeline out: what is
    measured is forward, loss, backward and update. ``model`` is trained in
    place; ``num_classes`` is the size of its output.
    """
    model = model.to(device).train()
    memory_format = torch.channels_last if mode.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    # The compiled module shares its parameters with ``model``: one optimiser serves both.
    net = cast(nn.Module, torch.compile(model, backend=compile_backend)) if mode.compile else model
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(batch_size, 3, image_size, image_size, device=device, generator=g)
    x = x.contiguous(memory_format=memory_format)
    y = torch.randint(0, num_classes, (batch_size,), device=device, generator=g)
    dtype = autocast_dtype(device, mode.amp)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        with autocast(device, dtype):
            loss = loss_fn(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    warmup_s, timed_s = time_steps(step, steps, warmup, lambda: sync(device))
    return Measurement(
        batch_size=batch_size,
        precision=precision(device, mode.amp),
        images_per_s=batch_size * steps / timed_s,
        step_ms=1000 * timed_s / steps,
        warmup_s=warmup_s,
    )


def shrink_on_oom(
    run: Callable[[int], R], batch_size: int, min_batch_size: int = 1
) -> tuple[int, R]:
    """(batch size, ``run(batch size)``), halving the batch while the device runs out of memory.

    ``run`` must build what it needs itself, so that nothing of a failed
    attempt is still referenced when the memory is freed for the next.
    """
    while True:
        try:
            return batch_size, run(batch_size)
        except torch.OutOfMemoryError:
            if batch_size // 2 < min_batch_size:
                raise
        # Outside the except block: the exception (and the tensors its frames hold) is gone.
        batch_size //= 2
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
