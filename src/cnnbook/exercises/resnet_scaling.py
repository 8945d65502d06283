"""Exercises of "Scaling up": the global batch, the linear scaling rule and warm-up.

The numbers are Goyal et al. (2017), "Accurate, Large Minibatch SGD": ResNet-50
on ImageNet at batch 8,192 on 256 GPUs, 32 images per GPU, learning rate
``0.1 * batch / 256`` reached after a 5-epoch linear warm-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnbook.engine.optim import lr_factor

#: ImageNet-1k's training images.
IMAGENET_TRAIN = 1_281_167
#: Goyal et al.'s reference: rate 0.1 for a batch of 256.
BASE_LR, BASE_BATCH = 0.1, 256


def global_batch(per_gpu: int, gpus_per_machine: int, machines: int = 1) -> int:
    """Images per optimizer step: every process contributes its own batch."""
    return per_gpu * gpus_per_machine * machines


def steps_per_epoch(batch: int, images: int = IMAGENET_TRAIN) -> int:
    """Optimizer steps in one pass over ``images``; the last, smaller batch is a step too."""
    return -(-images // batch)


def scaled_lr(batch: int) -> float:
    """The linear scaling rule: ``0.1 * batch / 256``."""
    return BASE_LR * batch / BASE_BATCH


def global_batch_text() -> str:
    batch = global_batch(32, 8, 32)
    return (
        f"32 images per GPU x 8 GPUs x 32 machines = {batch:,} images per step, Goyal et "
        f"al.'s largest batch. An ImageNet epoch ({IMAGENET_TRAIN:,} images) is then "
        f"{steps_per_epoch(batch)} steps, against {steps_per_epoch(BASE_BATCH):,} at "
        f"batch {BASE_BATCH}.\n\n"
        "Each process draws a different shard of the data (DistributedSampler) and DDP "
        "averages the gradients over all of them, so one step sees the global batch. "
        "Batch norm, unless synchronised, still sees only the 32 images of its own GPU."
    )


def linear_scaling_text() -> str:
    rows = "; ".join(f"batch {b:,}: {scaled_lr(b):g}" for b in (256, 1024, 8192))
    return (
        f"{rows}.\n\n"
        "A step on k times the batch averages k times as many gradients. To move the "
        "weights as far per epoch as k small steps would, the step must be about k times "
        "longer; that holds while the gradient changes little over those k steps, which "
        "fails early in training and beyond about 8k images for ResNet-50 on ImageNet."
    )


@dataclass(frozen=True)
class Warmup:
    """A 5-epoch linear warm-up at a given global batch, as the engine runs it."""

    batch: int
    steps: int
    peak_lr: float
    first_lr: float
    middle_lr: float
    last_lr: float


def warmup(batch: int = 8192, epochs: int = 5) -> Warmup:
    """The engine's learning rate at the first, middle and last warm-up step."""
    steps = epochs * steps_per_epoch(batch)
    peak = scaled_lr(batch)
    factor = lr_factor("constant", steps, warmup_steps=steps)
    return Warmup(
        batch,
        steps,
        peak,
        peak * factor(0),
        peak * factor(steps // 2 - 1),
        peak * factor(steps - 1),
    )


def warmup_text() -> str:
    w = warmup()
    return (
        f"At batch {w.batch:,} an epoch is {steps_per_epoch(w.batch)} steps, so 5 epochs "
        f"of warm-up are {w.steps:,} steps (--warmup-steps {w.steps}). With "
        f"--lr {w.peak_lr:g} the engine's ramp gives {w.first_lr:.4f} at the first step, "
        f"{w.middle_lr:.2f} halfway and {w.last_lr:g} at step {w.steps - 1:,}; the "
        "schedule's own decay takes over from there.\n\n"
        "The engine ramps from lr / warmup_steps; Goyal et al. start from 0.1, the rate of "
        "a 256 batch, and ramp to 3.2. Either way the first steps, taken while the "
        "weights are still random and the gradients large, are small ones."
    )
