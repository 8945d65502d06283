"""Fashion-MNIST loads from files in its own format, and never downloads unasked.

The files here are generated in the IDX format torchvision reads (the
format of the real download), so the whole loading path runs offline.
"""

from __future__ import annotations

import struct
import urllib.error

import pytest
import torch

from cnnbook import data

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]  # fmt: skip


def _write_idx(path, tensor: torch.Tensor) -> None:
    """IDX: zero, zero, type 0x08 (unsigned byte), rank; the sizes big-endian; the bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, tensor.dim())
    header += struct.pack(f">{tensor.dim()}I", *tensor.shape)
    path.write_bytes(header + tensor.to(torch.uint8).numpy().tobytes())


@pytest.fixture
def fashion_root(tmp_path):
    """A root holding FashionMNIST/raw/ with 30 training and 20 test images; and the latter."""
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    for prefix, n in (("train", 30), ("t10k", 20)):
        images = torch.randint(0, 256, (n, 28, 28), generator=g)
        labels = torch.arange(n) % 10
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return tmp_path, images


def test_loads_the_files_with_the_test_set_as_validation(fashion_root):
    root, test_images = fashion_root
    bundle = data.load("fashion_mnist", root=root, seed=1)
    assert bundle.classes == CLASSES
    assert (len(bundle.train), len(bundle.val)) == (30, 20)
    assert [bundle.val[i][1] for i in range(20)] == [i % 10 for i in range(20)]
    # Each validation image is its file's bytes, scaled and normalised: an affine
    # map of the pixels, so the correlation with the bytes written is 1.
    for i in (0, 19):
        image = bundle.val[i][0]
        assert image.shape == (1, 28, 28)
        pair = torch.stack([image.flatten(), test_images[i].flatten().float()])
        assert torch.corrcoef(pair)[0, 1] > 0.9999


def test_subset_caps_the_training_images_only(fashion_root):
    bundle = data.load("fashion_mnist", root=fashion_root[0], subset=8, image_size=32, channels=3)
    assert (len(bundle.train), len(bundle.val)) == (8, 20)
    assert bundle.train[0][0].shape == (3, 32, 32)


def test_never_downloads_unasked(tmp_path):
    with pytest.raises(data.DataError, match="download=True"):
        data.load("fashion_mnist", root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_offline_download_is_one_sentence(tmp_path, monkeypatch):
    import torchvision.datasets.mnist as tv_mnist

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", offline)
    with pytest.raises(data.DataError, match="could not download Fashion-MNIST") as caught:
        data.load("fashion_mnist", root=tmp_path, download=True)
    assert "\n" not in str(caught.value)


def test_the_validation_set_is_fixed(fashion_root):
    with pytest.raises(data.DataError, match="val_fraction does not apply"):
        data.load("fashion_mnist", root=fashion_root[0], val_fraction=0.1)
