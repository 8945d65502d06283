"""``load(name, **options)``: one call for every dataset, named or a folder path.

This is the keyword interface the CLI, the examples and the pages use. It
picks the loader, sorts the keywords into the shared
:class:`~cnnbook.data.bundle.LoadOptions` and the loader's own few
options, and turns a misspelt or misplaced option into one sentence that
lists the valid ones (a plain ``TypeError`` would name neither).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, Subset

from cnnbook.data.builtin import (
    load_cifar10,
    load_fake,
    load_fashion_mnist,
    load_mnist,
    load_textures,
)
from cnnbook.data.bundle import DataBundle, LoadOptions
from cnnbook.data.folders import CheckedImageFolder, load_folder
from cnnbook.data.tensors import TensorImageDataset
from cnnbook.errors import DataError

DATASETS = ("mnist", "textures", "cifar10", "fashion_mnist", "fake")

_LOADERS: dict[str, Callable[..., DataBundle]] = {
    "mnist": load_mnist,
    "textures": load_textures,
    "cifar10": load_cifar10,
    "fashion_mnist": load_fashion_mnist,
    "fake": load_fake,
}


def _own_options(loader: Callable[..., DataBundle]) -> tuple[str, ...]:
    """The keyword-only options a loader adds to :class:`LoadOptions` (e.g. ``patch``)."""
    params = inspect.signature(loader).parameters.values()
    return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


def _looks_like_path(name: str) -> bool:
    return os.sep in name or "/" in name or name.startswith(".") or Path(name).exists()


def _resolve(name: str) -> tuple[Callable[..., DataBundle], tuple[Any, ...], str]:
    """The loader for ``name``, its positional arguments, and how to call it in messages."""
    if name in _LOADERS:
        return _LOADERS[name], (), f"dataset {name!r}"
    if _looks_like_path(name):
        return load_folder, (name,), "an image folder"
    raise DataError(
        f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}, or give a directory path"
    )


def load(name: str | os.PathLike[str] = "mnist", **options: Any) -> DataBundle:
    """Load a named dataset (``mnist``, ``textures``, ``cifar10``, ``fashion_mnist``, ``fake``)
    or a folder path.

    Options every dataset takes (see :class:`~cnnbook.data.bundle.LoadOptions`):
    ``seed``, ``subset`` (cap on training images), ``image_size`` (resize),
    ``channels`` (1 or 3), ``val_fraction``, ``pretrained`` (use ImageNet
    statistics), ``augment`` (None = the dataset's sensible default),
    ``download`` and ``root`` (CIFAR-10 and Fashion-MNIST only; the others
    ignore them).
    A few belong to one loader: ``patch`` (textures), ``size`` and
    ``num_classes`` (fake), ``check`` (folders). An option given as None
    takes its default, so callers can pass unset command-line flags through.

    Raises :class:`~cnnbook.errors.DataError`, with one sentence, for an
    unknown dataset, an option the loader does not take, or a bad value.
    """
    name = os.fspath(name)
    loader, args, what = _resolve(name)
    shared, own = LoadOptions.names(), _own_options(loader)
    given = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(given) - set(shared) - set(own))
    if unknown:
        raise DataError(
            f"{what} takes no option {', '.join(map(repr, unknown))}; "
            f"valid options: {', '.join(shared + own)}"
        )
    common = LoadOptions(**{k: v for k, v in given.items() if k in shared})
    return loader(*args, common, **{k: v for k, v in given.items() if k in own})


def class_counts(dataset: Dataset, num_classes: int) -> list[int]:
    """How many images of each class a dataset holds (for balance checks on pages)."""
    if isinstance(dataset, TensorImageDataset):
        labels = dataset.labels
    elif isinstance(dataset, CheckedImageFolder):
        labels = torch.tensor(dataset.targets)
    elif isinstance(dataset, Subset):
        labels = torch.tensor([dataset.dataset[i][1] for i in dataset.indices])
    else:
        labels = torch.tensor([dataset[i][1] for i in range(len(dataset))])  # type: ignore[arg-type]
    return torch.bincount(labels, minlength=num_classes).tolist()
