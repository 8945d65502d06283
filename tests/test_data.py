"""cnnbook.data: shipped datasets, splits, statistics, transforms and bad folders."""

from __future__ import annotations

import urllib.error

import pytest
import torch
from PIL import Image

from cnnbook import data


def test_mnist_split_sizes_classes_and_statistics():
    b = data.load("mnist", seed=0)
    assert (len(b.train), len(b.val)) == (4000, 1000)
    assert b.classes == [str(i) for i in range(10)]
    assert (b.in_channels, b.image_size, b.norm_source) == (1, 28, "training split")
    x, y = b.train[0]
    assert x.shape == (1, 28, 28) and isinstance(y, int)
    # Normalised with the training split's own statistics: mean 0, std 1 there.
    assert abs(float(b.train.images.mean())) < 1e-4
    assert abs(float(b.train.images.std()) - 1) < 1e-3
    # ...and not with the validation split's (which differ slightly).
    assert abs(float(b.val.images.mean())) > 1e-4


def test_mnist_split_is_seeded_and_disjoint():
    raw, _ = data.builtin._mnist_arrays()
    a, b = data.load("mnist", seed=0), data.load("mnist", seed=0)
    assert torch.equal(a.train.labels, b.train.labels)
    c = data.load("mnist", seed=1)
    assert not torch.equal(a.train.labels, c.train.labels)
    tr, va = data.bundle.split_indices(len(raw), 0.2, 0)
    assert len(set(tr.tolist()) & set(va.tolist())) == 0
    assert len(set(tr.tolist()) | set(va.tolist())) == len(raw)


def test_subset_and_resize_and_channels():
    b = data.load("mnist", subset=100, image_size=32, channels=3)
    assert len(b.train) == 100 and len(b.val) == 1000
    assert b.train[0][0].shape == (3, 32, 32)
    assert b.eval_transform(Image.new("L", (50, 40))).shape == (3, 32, 32)


def test_textures_validation_patches_never_overlap_training_patches():
    b = data.load("textures", seed=0)
    assert b.classes == ["brick", "grass", "gravel"]
    assert b.train.images.shape[1:] == (1, 32, 32)
    train = {tuple(p.flatten().tolist()) for p in b.train.images}
    assert not any(tuple(p.flatten().tolist()) in train for p in b.val.images)
    assert data.class_counts(b.val, 3) == [len(b.val) // 3] * 3


def test_augmentation_only_in_training():
    b = data.load("textures", seed=0, subset=64)
    torch.manual_seed(0)
    flips = [not torch.equal(b.train[0][0], b.train.images[0]) for _ in range(20)]
    assert any(flips), "training augmentation never changed an image"
    assert b.val.augment is None
    assert torch.equal(b.val[3][0], b.val[3][0])
    img = Image.fromarray((torch.rand(40, 40) * 255).byte().numpy())
    assert torch.equal(b.eval_transform(img), b.eval_transform(img))


def test_batch_augment_shift_is_a_translation():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    torch.manual_seed(0)
    out = data.BatchAugment(hflip=False, pad=1)(x.repeat(50, 1, 1, 1))
    assert out.shape == (50, 1, 4, 4)
    # every output window is a shifted copy of the input with zero padding
    seen = set()
    for o in out:
        shifted = [
            (dy, dx)
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            if torch.equal(
                o, torch.nn.functional.pad(x, (1, 1, 1, 1))[0, :, 1 + dy : 5 + dy, 1 + dx : 5 + dx]
            )
        ]
        assert shifted
        seen.add(shifted[0])
    assert len(seen) > 3


def test_batched_indexing_matches_single_items():
    b = data.load("fake", size=40, image_size=16)
    xs, ys = b.train.__getitems__([3, 1, 2])
    assert torch.equal(xs[1], b.train[1][0]) and int(ys[0]) == b.train[3][1]


def test_image_folder_split_and_transform(engine_image_folder):
    b = data.load(str(engine_image_folder), image_size=16, val_fraction=0.25, seed=0)
    assert b.classes == ["cat", "dog"]
    assert (len(b.train), len(b.val)) == (12, 4)
    assert b.train[0][0].shape == (3, 16, 16)
    assert b.norm_source == "training split"
    p = data.load(str(engine_image_folder), image_size=16, pretrained=True)
    assert (p.mean, p.norm_source) == (data.IMAGENET_MEAN, "ImageNet")


def test_missing_and_empty_directories(tmp_path):
    with pytest.raises(data.DataError, match="does not exist"):
        data.load(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DataError, match="is empty"):
        data.load(str(tmp_path / "empty"))
    (tmp_path / "noimg" / "a").mkdir(parents=True)
    (tmp_path / "noimg" / "b").mkdir(parents=True)
    with pytest.raises(data.DataError, match="no image files"):
        data.load(str(tmp_path / "noimg"))


def test_one_class_directory(engine_image_folder):
    import shutil

    shutil.rmtree(engine_image_folder / "dog")
    with pytest.raises(data.DataError, match="only one class"):
        data.load(str(engine_image_folder))


def test_corrupt_image_is_named(engine_image_folder):
    bad = engine_image_folder / "dog" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    with pytest.raises(data.DataError, match="broken.png"):
        data.load(str(engine_image_folder))
    # Even unchecked, reading it names the file rather than failing obscurely.
    b = data.load(str(engine_image_folder), check=False, image_size=8, val_fraction=0.5)
    with pytest.raises(data.DataError, match="broken.png"):
        for ds in (b.train, b.val):
            for i in range(len(ds)):
                ds[i]


def test_unknown_dataset_lists_the_names():
    with pytest.raises(data.DataError, match="mnist, textures, cifar10, fashion_mnist, fake"):
        data.load("imagenet")


def test_cifar10_never_downloads_unasked(tmp_path):
    with pytest.raises(data.DataError, match="download=True"):
        data.load("cifar10", root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cifar10_offline_download_is_one_sentence(tmp_path, monkeypatch):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.datasets.CIFAR10, "download", offline)
    with pytest.raises(data.DataError, match="could not download CIFAR-10"):
        data.load("cifar10", root=tmp_path, download=True)
