"""What each kind of recorded result is: the code it depends on, its fields, its replay.

A file ``docs/results/<name>-<device>.json`` belongs to the entry ``name``.
The entry lists the code whose fingerprint the file must carry (an
experiment, the models, the engine and the data loading it uses), the
fields its rows must have, and, for an experiment whose CPU run is
deterministic, how to replay its first steps.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnbook.results import ROOT
from cnnbook.results.fingerprint import fingerprint

#: The code every training result depends on.
TRAINING = (
    "src/cnnbook/engine",
    "src/cnnbook/data",
    "src/cnnbook/models/registry.py",
    "src/cnnbook/modes.py",
)


#: The fields of every row of a recorded training run: its seed, its final
#: errors (fractions), its per-epoch curves and the CPU threads it ran on.
CURVES = (
    "seed",
    "final_train_error",
    "final_val_error",
    "train_error",
    "train_loss",
    "val_error",
    "threads",
)


@dataclass(frozen=True)
class Kind:
    """One kind of recorded result."""

    name: str
    code: tuple[str, ...]  # files and folders, relative to the checkout
    required: tuple[str, ...] = ("rows",)  # top-level fields beside command, runinfo, code
    row_fields: tuple[str, ...] = ()  # fields every row must have
    # The current code's setup, which a stored ``setup`` must equal (experiments only).
    setup: Callable[[], dict] | None = None
    # Replays a CPU result's first steps: {curve name: value of its first point}.
    replay: Callable[[dict], dict] | None = None
    # Makes the result (seeds, device, jobs, dry_run) -> its fields, for ``cnnbook results record``.
    make: Callable[..., dict] | None = None

    def fingerprint(self, root: Path = ROOT) -> str:
        return fingerprint(self.code, root)


def _later(module: str, attr: str) -> Callable[..., Any]:
    """``module.attr(...)``, imported on the first call (the check imports no experiment it skips)."""

    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), attr)(*args)

    return call


def _recorded_setup(module: str) -> Callable[[], dict]:
    """The current ``RECORDED`` setup of an experiment module, as a dict."""
    return lambda: dataclasses.asdict(importlib.import_module(module).RECORDED)


def _degradation_make(seeds: tuple[int, ...], device: str, jobs: int, dry_run: bool) -> dict:
    from cnnbook.experiments import degradation

    setup = degradation.RECORDED
    if dry_run:  # every code path of the real run, on 128 images at 8x8, width 2, one epoch
        setup = dataclasses.replace(setup, image_size=8, subset=128, base_channels=2, epochs=1)
    return degradation.record(seeds=seeds, device=device, jobs=jobs, setup=setup)


def _slimming_make(seeds: tuple[int, ...], device: str, jobs: int, dry_run: bool) -> dict:
    from cnnbook.experiments import slimming

    setup = slimming.RECORDED
    if dry_run:  # every code path of the real run, on 96 patches, 1/64 width, one epoch
        setup = dataclasses.replace(
            setup, subset=96, base_width=1 / 64, epochs=1, latency_width=1 / 64,
            latency_image_size=32, latency_batches=(1, 2), latency_rounds=1,
        )  # fmt: skip
    return slimming.record(seeds=seeds, device=device, jobs=jobs, setup=setup)


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "degradation",
            code=(
                "src/cnnbook/experiments/degradation.py",
                "src/cnnbook/experiments/common.py",
                "src/cnnbook/models/cifar_resnet.py",
                *TRAINING,
            ),
            required=("rows", "setup"),
            row_fields=("model", *CURVES),
            setup=_recorded_setup("cnnbook.experiments.degradation"),
            replay=_later("cnnbook.experiments.degradation", "replay"),
            make=_degradation_make,
        ),
        Kind(
            "slimming",
            code=(
                "src/cnnbook/experiments/slimming.py",
                "src/cnnbook/experiments/common.py",
                "src/cnnbook/models/vgg_variants.py",
                "src/cnnbook/models/vgg.py",
                *TRAINING,
            ),
            required=("rows", "setup", "latency"),
            row_fields=("model", "head", "width", *CURVES),
            setup=_recorded_setup("cnnbook.experiments.slimming"),
            replay=_later("cnnbook.experiments.slimming", "replay"),
            make=_slimming_make,
        ),
        Kind(
            "kernel_size",
            code=(
                "src/cnnbook/experiments/kernel_size.py",
                "src/cnnbook/models/kernel_nets.py",
                "src/cnnbook/analysis/erf.py",
                *TRAINING,
            ),
            required=("rows", "setup", "steps_per_epoch", "erf"),
            row_fields=("variant", "model", *CURVES),
            setup=_later("cnnbook.experiments.kernel_size", "recorded_setup"),
            replay=_later("cnnbook.experiments.kernel_size", "replay"),
            make=_later("cnnbook.experiments.kernel_size", "make"),
        ),
        Kind(
            "c3",
            code=(
                "src/cnnbook/experiments/c3_compare.py",
                "src/cnnbook/experiments/recording.py",
                "src/cnnbook/experiments/common.py",
                "src/cnnbook/models/c3.py",
                *TRAINING,
            ),
            required=("rows", "setup", "steps_per_epoch"),
            row_fields=("variant", "model", *CURVES),
            setup=_later("cnnbook.experiments.c3_compare", "recorded_setup"),
            replay=_later("cnnbook.experiments.c3_compare", "replay"),
            make=_later("cnnbook.experiments.c3_compare", "make"),
        ),
        Kind(
            "scaling",
            code=(
                "benchmarks/scaling.py",
                "src/cnnbook/distributed.py",
                "src/cnnbook/models/vgg_blocks.py",
                *TRAINING,
            ),
            row_fields=("launch", "nproc", "epoch_images_per_s", "speedup", "efficiency"),
        ),
        Kind(
            "gpu_report",
            code=(
                "benchmarks/gpu_report.py",
                "src/cnnbook/analysis/throughput.py",
                "src/cnnbook/analysis/gpu_peaks.py",
                "src/cnnbook/analysis/complexity.py",
                "src/cnnbook/models/vgg.py",
                "src/cnnbook/models/resnet.py",
                *TRAINING,
            ),
            row_fields=("model", "mode", "image_size"),
        ),
        Kind(
            "train_throughput",
            code=("benchmarks/train_throughput.py", "src/cnnbook/models/vgg_blocks.py", *TRAINING),
            required=("overhead",),
        ),
    )
}
