"""What a model costs to ship: the bytes of its weights, in memory and in a saved file.

A checkpoint made with ``torch.save(model.state_dict(), path)`` holds every
parameter and buffer at its dtype's width, plus a little bookkeeping (a
pickled index of the tensors and the zip archive's headers). So its size
follows from the parameter count, and :func:`saved_bytes` checks that by
serialising the state dict into a sink that only counts what it is given:
no file is written and no copy of the weights is kept.
"""

from __future__ import annotations

import torch
from torch import nn


def weight_bytes(model: nn.Module) -> int:
    """Bytes of every tensor in ``model.state_dict()``: elements times their dtype's size.

    Works on a model built on the meta device, which has shapes and dtypes
    but no memory, so a 138M-parameter model costs nothing to measure.
    """
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


class _CountingSink:
    """A write-only file that keeps the number of bytes written and nothing else."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        n = memoryview(data).nbytes
        self.size += n
        return n

    def flush(self) -> None:
        pass


def saved_bytes(model: nn.Module) -> int:
    """Size of the file ``torch.save(model.state_dict(), path)`` would write.

    The model's tensors must have memory (not the meta device); their
    values do not matter. Exact for a file named ``archive.pt``: torch.save
    names the folder inside its zip archive after the file (``archive``
    for a file object), so another name changes the size by a few bytes
    per tensor.
    """
    sink = _CountingSink()
    torch.save(model.state_dict(), sink)  # type: ignore[arg-type]  # a file-like object
    return sink.size


def published_file_mib(weights_enum: str) -> float:
    """torchvision's published checkpoint size for ``IMAGENET1K_V1`` weights, in MiB.

    Read from the weights' metadata (``_file_size``); nothing is downloaded.
    ``weights_enum`` is the enum's name, e.g. ``"VGG16_Weights"``.
    """
    from torchvision import models

    return float(getattr(models, weights_enum).IMAGENET1K_V1.meta["_file_size"])
