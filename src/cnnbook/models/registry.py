"""The model registry: one name, one network, everywhere.

Pages, examples and the CLI build models by name, so one string (for
instance ``--model vgg16``) means the same network everywhere. Each entry
also records what the network was designed for, so a caller can ask
before building instead of trying and catching:

* ``input_size``: the (channels, height, width) of the images the network
  was designed for (summaries, the model zoo and the tests use it);
* ``min_image_size``: the smallest side it accepts (every registered
  network ends in adaptive pooling or is told its image size, so any side
  from this one up works);
* ``options``: the keyword arguments its builder takes, read from the
  builder's signature (builders spell their options out; no ``**kwargs``).

:func:`create` is the one way to build a model: for a number of classes,
a number of input channels and an image side, or a :class:`ModelError`
that says in one sentence why not.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from cnnbook.errors import ModelError

#: What a model takes unless it says otherwise: an ImageNet-sized RGB image.
DEFAULT_INPUT_SIZE = (3, 224, 224)

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model name."""

    name: str
    builder: Builder
    input_size: tuple[int, int, int]
    min_image_size: int

    @property
    def options(self) -> tuple[str, ...]:
        """The keyword arguments the builder accepts, in signature order."""
        return tuple(inspect.signature(self.builder).parameters)

    def takes(self, option: str) -> bool:
        return option in self.options

    @property
    def in_channels(self) -> int:
        """The channels of the designed input."""
        return self.input_size[0]

    @property
    def image_size(self) -> int:
        """The side of the designed input."""
        return self.input_size[1]

    def channels_for(self, channels: int) -> int:
        """The channels this model will take when the data has ``channels``.

        A model whose first layer is built for any channel count takes the
        data as it is; one with a fixed first layer (torchvision's, made for
        RGB) needs the data converted to its own channel count.
        """
        return channels if self.takes("in_channels") else self.in_channels


_SPECS: dict[str, ModelSpec] = {}


def register(
    name: str,
    input_size: tuple[int, int, int] = DEFAULT_INPUT_SIZE,
    min_image_size: int = 32,
) -> Callable[[Builder], Builder]:
    """Decorator that files a model builder under ``name``.

    The builder takes ``num_classes`` and names every other option as a
    keyword argument (``in_channels`` and ``image_size`` when the network
    can be built for them), so the registry can tell callers what it takes.
    """

    def wrap(fn: Builder) -> Builder:
        if name in _SPECS:
            raise ValueError(f"model name {name!r} is registered twice")
        params = inspect.signature(fn).parameters.values()
        if any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in params):
            raise TypeError(f"the builder of {name!r} must name its options (no *args/**kwargs)")
        if "num_classes" not in inspect.signature(fn).parameters:
            raise TypeError(f"the builder of {name!r} must take num_classes")
        # Unpacked so a list of three is stored as the tuple the spec promises.
        channels, height, width = input_size
        _SPECS[name] = ModelSpec(name, fn, (channels, height, width), min_image_size)
        return fn

    return wrap


def available() -> list[str]:
    """All registered model names, in natural order (``cifar_plain20`` before ``cifar_plain110``)."""
    return sorted(_SPECS, key=_natural_key)


def _natural_key(name: str) -> tuple:
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``, or a one-sentence error listing the valid names."""
    try:
        return _SPECS[name]
    except KeyError:
        raise ModelError(
            f"unknown model {name!r}; choose one of: {', '.join(available())}"
        ) from None


def input_size(name: str) -> tuple[int, int, int]:
    """The (channels, height, width) input the model ``name`` was designed for."""
    return spec(name).input_size


def create(
    name: str,
    num_classes: int | None = None,
    *,
    in_channels: int | None = None,
    image_size: int | None = None,
    **options,
) -> nn.Module:
    """Build the model registered as ``name``.

    ``num_classes=None`` keeps the model's own default (1000 for the
    ImageNet models, 10 for the small ones). ``in_channels`` and
    ``image_size`` describe the images the model will see; they are passed
    to a builder that takes them and checked against one that does not.
    Anything else in ``options`` goes to the builder.

    Raises :class:`ModelError` (one sentence) for an unknown name or
    option, a channel count the model cannot take, or a side below its
    smallest.
    """
    s = spec(name)
    unknown = sorted(set(options) - set(s.options) - {"in_channels", "image_size"})
    if unknown:
        raise ModelError(
            f"model {name!r} takes no option {unknown[0]!r}; its options are: "
            f"{', '.join(o for o in s.options if o != 'num_classes')}"
        )
    if in_channels is not None:
        if s.takes("in_channels"):
            options["in_channels"] = in_channels
        elif in_channels != s.in_channels:
            raise ModelError(
                f"model {name!r} takes {s.in_channels}-channel images, not {in_channels}; "
                f"convert the images to {s.in_channels} channels"
            )
    if image_size is not None:
        if image_size < s.min_image_size:
            raise ModelError(
                f"model {name!r} needs images of at least {s.min_image_size}x{s.min_image_size} "
                f"pixels, got {image_size}x{image_size}"
            )
        if s.takes("image_size"):
            options["image_size"] = image_size
    if num_classes is not None:
        options["num_classes"] = num_classes
    return s.builder(**options)
