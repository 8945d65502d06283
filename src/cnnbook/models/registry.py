"""A tiny name -> constructor registry.

Pages, examples and the CLI build models by name so that one string (for
instance ``--model vgg16``) means the same network everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}
_INPUT_SIZES: dict[str, tuple[int, int, int]] = {}

#: What a model takes unless it says otherwise: an ImageNet-sized RGB image.
DEFAULT_INPUT_SIZE = (3, 224, 224)


def register(
    name: str, input_size: tuple[int, int, int] = DEFAULT_INPUT_SIZE
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator that files a model constructor under ``name``.

    ``input_size`` (channels, height, width) is the input the model was
    designed for; summaries and the model zoo use it.
    """

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _BUILDERS:
            raise ValueError(f"model name {name!r} is registered twice")
        _BUILDERS[name] = fn
        _INPUT_SIZES[name] = tuple(input_size)
        return fn

    return wrap


def input_size(name: str) -> tuple[int, int, int]:
    """The (channels, height, width) input the model ``name`` was designed for."""
    if name not in _BUILDERS:
        create(name)  # raises the one-sentence error listing valid names
    return _INPUT_SIZES[name]


def available() -> list[str]:
    """All registered model names, sorted."""
    return sorted(_BUILDERS)


def create(name: str, num_classes: int | None = None, **kwargs) -> nn.Module:
    """Build the model registered as ``name``.

    ``num_classes=None`` keeps the model's own default (1000 for the
    ImageNet models, 10 for the small ones).

    Raises ``ValueError`` (one sentence, listing the valid names) for an
    unknown name, so the CLI can show it without a traceback.
    """
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; choose one of: {', '.join(available())}"
        ) from None
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    return builder(**kwargs)
