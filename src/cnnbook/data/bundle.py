"""What every loader takes (:class:`LoadOptions`) and returns (:class:`DataBundle`).

The options are written once here, with their checks, so every dataset
accepts the same names with the same meaning, and a bad value fails with
one sentence before any image is read. The seeded train/validation split
lives here too: all loaders split the same way.
"""

from __future__ import annotations

import dataclasses
import numbers
import os
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import torch
from torch.utils.data import Dataset

from cnnbook.data.transforms import ImageTransform
from cnnbook.errors import DataError


@dataclass
class DataBundle:
    """Everything a training run and a later prediction need to know about the data."""

    name: str
    train: Dataset
    val: Dataset
    classes: list[str]
    in_channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    norm_source: str  # "training split" or "ImageNet"
    eval_transform: ImageTransform = field(repr=False)

    def describe(self) -> dict[str, Any]:
        """Plain facts about the data, stored in checkpoints (no tensors, no callables)."""
        return {
            "name": self.name,
            "classes": list(self.classes),
            "in_channels": self.in_channels,
            "image_size": self.image_size,
            "mean": [float(m) for m in self.mean],
            "std": [float(s) for s in self.std],
            "norm_source": self.norm_source,
        }


def is_int(value: object) -> TypeGuard[numbers.Integral]:
    """True for ints (numpy's too), false for bools: ``subset=True`` is a mistake, not 1."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_positive_int(name: str, value: object, meaning: str = "a positive whole number") -> None:
    """Raise :class:`DataError` unless ``value`` is None or an int of at least 1."""
    if value is not None and not (is_int(value) and int(value) >= 1):
        raise DataError(f"{name} must be {meaning}, got {value!r}")


def check_bool(name: str, value: object, none_ok: bool = False) -> None:
    """Raise :class:`DataError` unless ``value`` is True or False (or None when allowed)."""
    if not (isinstance(value, bool) or (none_ok and value is None)):
        allowed = "True, False or None" if none_ok else "True or False"
        raise DataError(f"{name} must be {allowed}, got {value!r}")


@dataclass(frozen=True)
class LoadOptions:
    """The options every loader shares; ``None`` means "the dataset's own default".

    * ``seed``: random seed of the train/validation split and of the
      training subset.
    * ``subset``: cap on the number of training images (validation stays whole).
    * ``image_size``: side in pixels to resize to.
    * ``channels``: 1 (grey) or 3 (colour); images are converted to it.
    * ``val_fraction``: share of the images held out for validation, strictly
      between 0 and 1 (CIFAR-10 validates on its own test set instead).
    * ``pretrained``: normalise with ImageNet's statistics instead of the
      training split's.
    * ``augment``: random training augmentation on (True) or off (False);
      None picks the dataset's sensible default.
    * ``download`` and ``root``: whether and where a downloadable dataset
      (CIFAR-10, Fashion-MNIST) may be fetched; the offline datasets ignore them.
    """

    seed: int = 0
    subset: int | None = None
    image_size: int | None = None
    channels: int | None = None
    val_fraction: float | None = None
    pretrained: bool = False
    augment: bool | None = None
    download: bool = False
    root: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        if not is_int(self.seed):
            raise DataError(f"seed must be a whole number, got {self.seed!r}")
        check_positive_int("subset", self.subset, "a positive number of images")
        check_positive_int("image_size", self.image_size, "a positive side length in pixels")
        if self.channels is not None and not (is_int(self.channels) and self.channels in (1, 3)):
            raise DataError(f"channels must be 1 (grey) or 3 (colour), got {self.channels!r}")
        self._check_fraction()
        check_bool("pretrained", self.pretrained)
        check_bool("augment", self.augment, none_ok=True)
        check_bool("download", self.download)
        if self.root is not None and not isinstance(self.root, str | os.PathLike):
            raise DataError(f"root must be a directory path, got {self.root!r}")

    def _check_fraction(self) -> None:
        v = self.val_fraction
        if v is None:
            return
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or not 0.0 < v < 1.0:
            raise DataError(f"val_fraction must lie strictly between 0 and 1, got {v!r}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names, in the order the dataclass declares them."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def fraction(self, default: float) -> float:
        """``val_fraction``, or the dataset's ``default`` when none was given."""
        return default if self.val_fraction is None else float(self.val_fraction)

    def augments(self, default: bool) -> bool:
        """Whether to augment: ``augment``, or the dataset's ``default`` when None."""
        return default if self.augment is None else self.augment


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random split of ``range(n)`` into (training, validation) index tensors."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}")
    perm = seeded_order(n, seed)
    n_val = max(1, round(n * val_fraction))
    if n - n_val < 1:
        raise DataError(f"{n} images are too few to split into training and validation sets")
    return perm[n_val:], perm[:n_val]


def cap(indices: torch.Tensor, subset: int | None) -> torch.Tensor:
    """The first ``subset`` indices (all of them when ``subset`` is None)."""
    if subset is None:
        return indices
    if subset < 1:
        raise DataError(f"subset must be a positive number of images, got {subset}")
    return indices[:subset]


def seeded_order(n: int, seed: int) -> torch.Tensor:
    """A random permutation of ``range(n)`` that depends only on ``seed``."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))
