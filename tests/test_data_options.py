"""cnnbook.data's loading options: one typed set, checked before any data is read."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from cnnbook import data
from cnnbook.data import builtin, bundle, dispatch, folders, tensors, transforms


def test_unknown_option_is_one_sentence_listing_the_valid_ones():
    with pytest.raises(data.DataError) as info:
        data.load("mnist", sede=1)
    msg = str(info.value)
    assert "takes no option 'sede'" in msg
    assert "valid options: seed, subset, image_size, channels, val_fraction" in msg
    assert "\n" not in msg


def test_an_option_of_another_loader_is_refused_and_its_own_are_listed():
    with pytest.raises(data.DataError, match="dataset 'mnist' takes no option 'patch'"):
        data.load("mnist", patch=16)
    with pytest.raises(data.DataError, match=r"valid options: .*, root, patch$"):
        data.load("textures", size=10)
    with pytest.raises(data.DataError, match=r"image folder takes no option 'num_classes'"):
        data.load("./no-such-folder", num_classes=3)
    b = data.load("textures", patch=16, subset=8)
    assert b.train.images.shape[1:] == (1, 16, 16)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10"])
def test_bad_subset(bad):
    with pytest.raises(data.DataError, match="subset must be a positive number of images"):
        data.load("mnist", subset=bad)


@pytest.mark.parametrize("bad", [0, -1, 3.5, "32", False])
def test_bad_image_size(bad):
    with pytest.raises(data.DataError, match="image_size must be a positive side length"):
        data.load("fake", size=8, image_size=bad)


@pytest.mark.parametrize(
    ("option", "bad", "fragment"),
    [
        ("channels", 2, "channels must be 1 (grey) or 3 (colour)"),
        ("channels", True, "channels must be 1 (grey) or 3 (colour)"),
        ("val_fraction", 1.0, "val_fraction must lie strictly between 0 and 1"),
        ("val_fraction", 0, "val_fraction must lie strictly between 0 and 1"),
        ("augment", "yes", "augment must be True, False or None"),
        ("pretrained", 1, "pretrained must be True or False"),
        ("download", "no", "download must be True or False"),
        ("seed", 1.5, "seed must be a whole number"),
        ("root", 3, "root must be a directory path"),
    ],
)
def test_bad_shared_option_values(option, bad, fragment):
    with pytest.raises(data.DataError) as info:
        data.LoadOptions(**{option: bad})
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("name", "option", "bad"),
    [("fake", "size", 0), ("fake", "num_classes", -1), ("textures", "patch", 0)],
)
def test_bad_loader_option_values(name, option, bad):
    with pytest.raises(data.DataError, match=f"{option} must be a positive"):
        data.load(name, **{option: bad})


def test_bad_check_flag_on_a_folder(engine_image_folder):
    with pytest.raises(data.DataError, match="check must be True or False"):
        data.load(engine_image_folder, check="no")


def test_options_are_checked_before_any_data_is_read(tmp_path):
    # An empty root would otherwise fail first, with "CIFAR-10 is not in ...".
    with pytest.raises(data.DataError, match="subset must be"):
        data.load("cifar10", root=tmp_path, subset=0)
    with pytest.raises(data.DataError, match="val_fraction does not apply"):
        data.load("cifar10", root=tmp_path, val_fraction=0.1)
    assert list(tmp_path.iterdir()) == []


def test_none_means_the_default_so_unset_flags_pass_through():
    b = data.load(
        "mnist", seed=None, subset=None, image_size=None, channels=None, download=None, root=None
    )
    assert (len(b.train), len(b.val), b.image_size, b.in_channels) == (4000, 1000, 28, 1)


def test_loaders_take_a_load_options_directly(engine_image_folder):
    opts = data.LoadOptions(subset=10, image_size=12, val_fraction=0.5)
    b = data.load_mnist(opts)
    assert (len(b.train), len(b.val), b.image_size) == (10, 2500, 12)
    f = data.load_folder(engine_image_folder, opts, check=False)
    assert (len(f.train), len(f.val), f.image_size) == (8, 8, 12)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.subset = 3  # type: ignore[misc]


def test_option_names_match_the_fields_and_the_documented_list():
    assert data.LoadOptions.names() == (
        "seed", "subset", "image_size", "channels", "val_fraction",
        "pretrained", "augment", "download", "root",
    )  # fmt: skip
    for name in data.LoadOptions.names():
        assert f"``{name}``" in data.load.__doc__


def test_augment_false_turns_the_default_augmentation_off():
    assert data.load("textures", subset=8).train.augment is not None
    assert data.load("textures", subset=8, augment=False).train.augment is None
    assert data.load("mnist", subset=8).train.augment is None
    assert data.load("mnist", subset=8, augment=True).train.augment is not None


def _functions():
    for module in (builtin, bundle, dispatch, folders, tensors, transforms):
        for _, obj in inspect.getmembers(module):
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield obj
            elif inspect.isclass(obj):
                # Only methods written in the module, not those dataclass generates.
                yield from (
                    f
                    for f in vars(obj).values()
                    if inspect.isfunction(f) and f.__code__.co_filename == module.__file__
                )


def test_every_function_has_type_annotations():
    seen = 0
    for fn in _functions():
        sig = inspect.signature(fn)
        params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
        missing = [p.name for p in params if p.annotation is inspect.Parameter.empty]
        assert not missing, f"{fn.__qualname__} lacks annotations for {missing}"
        assert sig.return_annotation is not inspect.Signature.empty, fn.__qualname__
        seen += 1
    assert seen > 20


def test_public_names_are_importable_from_the_package():
    for name in data.__all__:
        assert hasattr(data, name), name
    assert data.DataError is __import__("cnnbook.errors").errors.DataError
    assert data.load is dispatch.load and data.TensorImageDataset is tensors.TensorImageDataset
