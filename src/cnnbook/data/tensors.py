"""Small datasets held in memory as one normalised ``(N, C, H, W)`` tensor.

The built-in datasets fit in memory, so they are converted, resized and
normalised once, and then served a whole batch at a time: a CPU epoch costs
a few slicing calls instead of one Python call per image. Augmentation
works on whole batches for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from cnnbook.data.bundle import DataBundle, LoadOptions
from cnnbook.data.transforms import IMAGENET_MEAN, IMAGENET_STD, make_eval_transform
from cnnbook.errors import DataError

#: Something that maps a batch tensor to an augmented batch tensor of the same shape.
BatchTransform = Callable[[torch.Tensor], torch.Tensor]


class BatchAugment:
    """Random flips and shifted crops applied to a whole batch tensor at once.

    ``pad`` > 0 pads each side by ``pad`` pixels (zeros, i.e. the mean after
    normalisation) and cuts a random window of the original size: the
    "pad 4, random crop 32" recipe of the ResNet paper's CIFAR runs. Draws
    come from torch's global generator, which the engine seeds, so a run
    is reproducible.
    """

    def __init__(self, hflip: bool = True, vflip: bool = False, pad: int = 0) -> None:
        self.hflip, self.vflip, self.pad = hflip, vflip, pad

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, dev = x.shape[0], x.device
        if self.hflip:
            flip = torch.rand(n, device=dev) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        if self.vflip:
            flip = torch.rand(n, device=dev) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(2), x)
        if self.pad:
            x = self._shift(x)
        return x

    def _shift(self, x: torch.Tensor) -> torch.Tensor:
        # One gather for the whole batch: each image gets its own window.
        n, dev, p = x.shape[0], x.device, self.pad
        h, w = x.shape[2:]
        padded = F.pad(x, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (n,), device=dev)
        dx = torch.randint(0, 2 * p + 1, (n,), device=dev)
        rows = (dy[:, None] + torch.arange(h, device=dev)[None, :])[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w, device=dev)[None, :])[:, None, None, :]
        batch = torch.arange(n, device=dev)[:, None, None, None]
        chan = torch.arange(x.shape[1], device=dev)[None, :, None, None]
        return padded[batch, chan, rows, cols]

    def __repr__(self) -> str:
        return f"BatchAugment(hflip={self.hflip}, vflip={self.vflip}, pad={self.pad})"


class TensorImageDataset(Dataset):
    """Normalised images held in one ``(N, C, H, W)`` float tensor.

    Indexing with an int gives ``(image, label)`` like any dataset; indexing
    with a list of indices gives a whole batch ``(images, labels)`` in one
    tensor operation. The engine uses the second form (through
    ``__getitems__``), so an epoch costs a few slicing calls, not N Python calls.
    """

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, augment: BatchTransform | None = None
    ) -> None:
        if images.ndim != 4 or len(images) != len(labels):
            raise ValueError("images must be (N, C, H, W) with one label each")
        self.images = images.contiguous()
        self.labels = labels.long()
        self.augment = augment

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, int):
            x, y = self.get_batch([index])
            return x[0], int(y[0])
        return self.get_batch(index)

    def get_batch(self, indices: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and labels at ``indices`` (a list or tensor), augmented if training."""
        idx = torch.as_tensor(indices, dtype=torch.long, device=self.images.device)
        x = self.images[idx]
        if self.augment is not None:
            x = self.augment(x)
        return x, self.labels[idx]

    # DataLoader calls this with a whole batch of indices when it exists.
    def __getitems__(self, indices: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.get_batch(indices)


def collate_batch(batch: Any) -> Any:
    """Collate for :class:`TensorImageDataset` batches (already stacked) and plain lists."""
    if isinstance(batch, tuple) and len(batch) == 2 and torch.is_tensor(batch[0]):
        return batch
    return torch.utils.data.default_collate(batch)


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of a ``(N, C, H, W)`` tensor with values in [0, 1]."""
    x = images.double().transpose(0, 1).reshape(images.shape[1], -1)
    return tuple(x.mean(1).tolist()), tuple(x.std(1).tolist())


def _resize(images: torch.Tensor, size: int | None) -> torch.Tensor:
    if size is None or (images.shape[-1] == size and images.shape[-2] == size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True).clamp(0, 1)


def _to_channels(images: torch.Tensor, channels: int | None) -> torch.Tensor:
    if channels is None or channels == images.shape[1]:
        return images
    if images.shape[1] == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1)
    if images.shape[1] == 3 and channels == 1:
        w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (images * w).sum(1, keepdim=True)
    raise DataError(f"cannot convert {images.shape[1]}-channel images to {channels} channels")


def in_memory_bundle(
    name: str,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    classes: Sequence[str],
    options: LoadOptions,
    augment: BatchTransform | None,
) -> DataBundle:
    """Convert, resize and normalise float images in [0, 1]; wrap them as a :class:`DataBundle`.

    ``train`` and ``val`` are ``(images, labels)`` pairs; ``options`` supplies
    ``channels``, ``image_size`` and ``pretrained``.
    """
    train_images = _resize(_to_channels(train[0], options.channels), options.image_size)
    val_images = _resize(_to_channels(val[0], options.channels), options.image_size)
    c, size = train_images.shape[1], train_images.shape[-1]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    if options.pretrained:
        if c != 3:
            raise DataError("pretrained ImageNet statistics need 3-channel images; pass channels=3")
        mean, std, source = IMAGENET_MEAN, IMAGENET_STD, "ImageNet"
    else:
        # Statistics of the training split only: the validation images must
        # not influence anything the model sees before it is evaluated.
        mean, std = channel_stats(train_images)
        source = "training split"
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return DataBundle(
        name=name,
        train=TensorImageDataset(((train_images - m) / s).float(), train[1], augment),
        val=TensorImageDataset(((val_images - m) / s).float(), val[1], None),
        classes=list(classes),
        in_channels=c,
        image_size=size,
        mean=tuple(mean),
        std=tuple(std),
        norm_source=source,
        eval_transform=make_eval_transform(c, size, mean, std),
    )
