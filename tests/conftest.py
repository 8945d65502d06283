"""Shared fixtures. Names start with the area they serve (``engine_...``) to stay distinct."""

from __future__ import annotations

import os

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs the suite in one process per core: each then computes on
    # one thread (and so do the scripts it starts), or two workers would fight
    # over each core.
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


def _tiny_model(num_classes: int = 4, bn: bool = False, dropout: float = 0.0, seed: int = 0):
    from cnnbook import models

    torch.manual_seed(seed)
    return models.create("tiny_cnn", num_classes=num_classes, batch_norm=bn, dropout=dropout)


@pytest.fixture
def engine_tiny_model():
    """Factory for a 3-channel conv net small enough to train in milliseconds."""
    return _tiny_model


def _tiny_data(
    n_train: int = 96, n_val: int = 48, num_classes: int = 4, augment=None, seed: int = 1
):
    """Learnable synthetic images: class k is bright in quadrant k, plus noise."""
    from cnnbook.data import TensorImageDataset

    g = torch.Generator().manual_seed(seed)

    def make(n):
        y = torch.arange(n) % num_classes
        x = 0.5 * torch.randn(n, 3, 8, 8, generator=g)
        for k in range(num_classes):
            r, c = divmod(k, 2)
            x[y == k, :, 4 * r : 4 * r + 4, 4 * c : 4 * c + 4] += 1.5
        return x, y

    xt, yt = make(n_train)
    xv, yv = make(n_val)
    return TensorImageDataset(xt, yt, augment), TensorImageDataset(xv, yv)


@pytest.fixture
def engine_tiny_data():
    """Factory for (train, val) in-memory datasets of 3x8x8 images, 4 classes."""
    return _tiny_data


@pytest.fixture
def engine_image_folder(tmp_path):
    """A small ImageFolder tree: ``root/{cat,dog}/*.png`` (8 RGB 20x20 images per class)."""
    from PIL import Image

    root = tmp_path / "folder"
    g = torch.Generator().manual_seed(0)
    for k, name in enumerate(("cat", "dog")):
        (root / name).mkdir(parents=True)
        for i in range(8):
            arr = (torch.rand(20, 20, 3, generator=g) * 100 + 120 * k).clamp(0, 255).byte().numpy()
            Image.fromarray(arr).save(root / name / f"{i}.png")
    return root
