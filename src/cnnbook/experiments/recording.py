"""Recorded runs of experiments that train with :func:`~cnnbook.experiments.common.train_one`.

A recorded run trains every (variant, seed) pair at a meaningful scale and
stores one row per pair: final training and validation errors (fractions)
and the per-epoch curves. :func:`record` trains the pairs, side by side in
``jobs`` processes on a CPU; every network is seeded on its own, so the
numbers do not depend on ``jobs``. :func:`replay` trains the first row's
network again for its first epoch, which ``cnnbook results check``
compares with the stored curve: the CPU run is deterministic for a given
thread count, so an edited number or other code does not come out again.

An experiment supplies a :class:`Job` per pair: which registered model,
which constructor options, the labels the row carries (a variant's name),
and ``load``, a module-level function that gives the data for the setup
(module-level so that worker processes can unpickle it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cnnbook.experiments.common import SGDRecipe, train_one


@dataclass(frozen=True)
class Job:
    """One network of a recorded run."""

    model: str  # registered name, for models.create
    seed: int
    setup: SGDRecipe
    load: Callable[[Any], Any]  # setup -> DataBundle; module-level (pickled by name)
    options: Mapping[str, Any] = field(default_factory=dict)  # constructor options
    labels: Mapping[str, Any] = field(default_factory=dict)  # extra row fields, e.g. variant
    device: str = "cpu"
    threads: int = 0  # CPU threads for this network; 0: torch's default


def train_row(job: Job, max_steps: int | None = None) -> dict:
    """Train one network; its row of the recorded file."""
    import torch

    if job.threads:
        torch.set_num_threads(job.threads)
    used = torch.get_num_threads()  # CPU sums depend on it in the last bits; a replay uses it
    started = time.perf_counter()
    run = train_one(
        job.model,
        job.load(job.setup),
        job.setup,
        job.seed,
        device=job.device,
        max_steps=max_steps,
        **job.options,
    )
    seconds = time.perf_counter() - started
    return {
        **job.labels,
        "model": job.model,
        "seed": job.seed,
        "final_train_error": 1 - run["train_acc"][-1],
        "final_val_error": 1 - run["val_acc"],
        "train_error": [1 - a for a in run["train_acc"]],
        "train_loss": run["train_loss"],
        "val_error": [1 - a for a in run["val_acc_curve"]],
        "seconds": seconds,
        "threads": used,
    }


def _logged(job: Job) -> dict:
    row = train_row(job)
    # A line per network: a recorded run takes many minutes on a CPU.
    label = " ".join(str(v) for v in job.labels.values()) or job.model
    print(
        f"{label}, seed {job.seed}: training error {row['final_train_error']:.4f}, "
        f"validation error {row['final_val_error']:.4f} ({row['seconds']:.0f} s)",
        flush=True,
    )
    return row


def threads_per_job(jobs: int) -> int:
    """Each of ``jobs`` processes gets its share of the cores (0: one process, torch's default)."""
    return max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else 0


def record(work: Sequence[Job], jobs: int = 1) -> dict:
    """Train every job (in ``jobs`` processes); ``{"rows": [...], "wall_seconds": ...}``."""
    started = time.perf_counter()
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            rows = list(pool.map(_logged, work))
    else:
        rows = [_logged(job) for job in work]
    return {"rows": rows, "wall_seconds": time.perf_counter() - started}


def replay(job: Job, steps: int) -> dict:
    """The first epoch (``steps`` steps) of ``job`` again: its first curve points."""
    import torch

    threads = torch.get_num_threads()
    try:
        row = train_row(job, max_steps=steps)
    finally:
        torch.set_num_threads(threads)
    return {"train_loss": row["train_loss"][0], "train_error": row["train_error"][0]}
