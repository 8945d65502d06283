"""Data loaders and seeds for the loop: what decides the order and randomness of a run."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Sized

import torch
from torch.utils.data import DataLoader, Dataset

from cnnbook.data import TensorImageDataset, collate_batch
from cnnbook.errors import DataError


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (call before building a model for a reproducible init)."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def dataset_length(dataset: Dataset, name: str = "the dataset") -> int:
    """``len(dataset)``, or a :class:`DataError` naming ``name`` when it has no length.

    torch's ``Dataset`` does not promise ``__len__``; the loop needs it to
    count batches and to split the validation set between processes.
    """
    if not isinstance(dataset, Sized):
        raise DataError(
            f"{name} must know its length (a map-style dataset with __len__), "
            f"got a {type(dataset).__name__}"
        )
    return len(dataset)


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """The torch seed of one epoch on one process.

    A fresh, known seed per (epoch, rank) makes resuming at any epoch boundary
    replay exactly the same random draws (augmentation, dropout) with nothing
    saved, whatever the number of processes before the interruption; and ranks differ.
    """
    return (seed * 1_000_003 + epoch * 7_919 + rank * 104_729) % 2**63


def make_loader(
    dataset: Dataset, batch_sampler, device: torch.device, num_workers: int | None
) -> DataLoader:
    in_memory = isinstance(dataset, TensorImageDataset)
    on_gpu = isinstance(dataset, TensorImageDataset) and dataset.images.is_cuda
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
        pin_memory=device.type == "cuda" and not on_gpu,
        persistent_workers=num_workers > 0,
    )


class ShardSampler(torch.utils.data.Sampler):
    """Rank ``r`` of ``w`` takes items r, r+w, r+2w... with no padding (for exact evaluation)."""

    def __init__(self, n: int, rank: int, world: int) -> None:
        self.indices = list(range(rank, n, world))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def autocast(device: torch.device, dtype: torch.dtype | None):
    """``torch.autocast`` to ``dtype``, or nothing for full precision."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
