"""Any ``root/class_name/image`` directory (the tutorials' potato-leaf and bird folders).

A folder can hold thousands of full-size photos, so unlike the built-in
datasets it is read lazily, one file at a time, through the per-image
transforms. Everything that can be wrong with a folder (missing, empty,
one class, a broken file) is checked up front and reported in one sentence
that names the folder or file, rather than halfway through an epoch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from cnnbook.data.bundle import DataBundle, LoadOptions, cap, check_bool, split_indices
from cnnbook.data.tensors import channel_stats
from cnnbook.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageTransform,
    make_eval_transform,
    make_train_transform,
)
from cnnbook.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

#: Images read to estimate the normalisation statistics: enough for two decimals.
STATS_SAMPLE = 256


class CheckedImageFolder(Dataset):
    """An ``ImageFolder`` view whose read errors name the offending file."""

    def __init__(self, folder: Any, indices: Sequence[int], transform: ImageTransform) -> None:
        self.folder = folder
        self.indices = list(indices)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        path, label = self.folder.samples[self.indices[i]]
        try:
            img = self.folder.loader(path)
        except Exception as exc:  # PIL raises several types for broken files
            raise DataError(f"cannot read image {path}: {exc}") from None
        return self.transform(img), label

    @property
    def targets(self) -> list[int]:
        """The class index of every image in this view, in order."""
        return [self.folder.samples[i][1] for i in self.indices]


def _open_image_folder(root: Path) -> Any:
    """torchvision's ``ImageFolder`` over ``root``, after checking it is a usable tree."""
    from torchvision.datasets import ImageFolder

    if not root.is_dir():
        raise DataError(f"data directory {root} does not exist")
    class_dirs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if not class_dirs:
        raise DataError(
            f"data directory {root} is empty: it needs one sub-folder of images per class"
        )
    try:
        folder = ImageFolder(str(root), allow_empty=True)
    except (FileNotFoundError, OSError) as exc:
        raise DataError(f"cannot read data directory {root}: {exc}") from None
    _check_classes(root, folder.classes, [label for _, label in folder.samples])
    return folder


def _check_classes(root: Path, classes: Sequence[str], labels: Sequence[int]) -> None:
    """At least two class folders must hold images, or there is nothing to classify."""
    present = set(labels)
    with_images = [c for i, c in enumerate(classes) if i in present]
    if not with_images:
        raise DataError(
            f"data directory {root} holds no image files (looked for {', '.join(IMAGE_SUFFIXES)})"
        )
    if len(with_images) < 2:
        raise DataError(
            f"data directory {root} holds only one class ({with_images[0]!r}); "
            "classification needs at least two class sub-folders"
        )


def _verify_images(paths: Sequence[str]) -> None:
    """Open every file's header once, so a broken image is named before training starts."""
    from PIL import Image

    for p in paths:
        try:
            with Image.open(p) as im:
                im.verify()
        except Exception:
            raise DataError(f"{p} is not a readable image; remove or replace it") from None


def _folder_statistics(
    folder: Any, train_indices: list[int], channels: int, size: int, pretrained: bool
) -> tuple[tuple[float, ...], tuple[float, ...], str]:
    """Normalisation ``(mean, std, source)``: ImageNet's, or estimated on training images."""
    if pretrained:
        return IMAGENET_MEAN[:channels], IMAGENET_STD[:channels], "ImageNet"
    identity = make_eval_transform(channels, size, [0.0] * channels, [1.0] * channels)
    probe = CheckedImageFolder(folder, train_indices[:STATS_SAMPLE], identity)
    mean, std = channel_stats(torch.stack([probe[i][0] for i in range(len(probe))]))
    return mean, std, "training split"


def load_folder(
    path: str | os.PathLike[str], options: LoadOptions | None = None, *, check: bool = True
) -> DataBundle:
    """Any ``root/class_name/image`` tree (the tutorials' potato-leaf and bird folders).

    Images are resized to ``image_size`` (default 224), converted to
    ``channels`` (default 3) and split into training and validation sets
    (``val_fraction``, default 0.2) with ``seed``. ``check=True`` opens every
    file's header once, so a broken image is reported by name before
    training starts rather than halfway through an epoch.
    """
    opts = options or LoadOptions()
    check_bool("check", check)
    root = Path(path)
    folder = _open_image_folder(root)
    if check:
        _verify_images([p for p, _ in folder.samples])
    c, size = opts.channels or 3, opts.image_size or 224
    tr, va = split_indices(len(folder.samples), opts.fraction(0.2), opts.seed)
    train_indices = cap(tr, opts.subset).tolist()
    mean, std, source = _folder_statistics(folder, train_indices, c, size, opts.pretrained)
    augment = opts.augments(True)
    return DataBundle(
        name=str(root),
        train=CheckedImageFolder(
            folder, train_indices, make_train_transform(c, size, mean, std, augment)
        ),
        val=CheckedImageFolder(folder, va.tolist(), make_eval_transform(c, size, mean, std)),
        classes=list(folder.classes),
        in_channels=c,
        image_size=size,
        mean=tuple(mean),
        std=tuple(std),
        norm_source=source,
        eval_transform=make_eval_transform(c, size, mean, std),
    )
