"""The measurements behind the two "Inside torchvision" pages, as plain data.

Each page reads a torchvision model file and, after each listing, runs an
experiment on that same code. The experiments live here, not in the pages'
cells, so that the page prints exactly what ``tests/test_torchvision_facts.py``
asserts: a torchvision release that changes a fact fails the tests instead
of leaving the page's prose wrong. ``vgg`` holds the VGG page's
measurements, ``resnet`` the ResNet page's; the helpers below serve both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import torch
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def meta_model(builder: Callable[..., nn.Module], **kwargs: object) -> nn.Module:
    """``builder(**kwargs)`` on the meta device: real structure and shapes, no memory, no init.

    Shapes and parameter counts need no values, so a 100-million-parameter
    model costs nothing this way.
    """
    with torch.device("meta"):
        return builder(**kwargs)


def submodule(model: nn.Module, name: str, kind: type[ModuleT]) -> ModuleT:
    """``model.get_submodule(name)``, checked to be a ``kind``.

    The measurements read attributes of a torchvision layer (a conv's stride,
    a linear layer's fan-in) by its dotted name; a release that changes what
    sits there should fail here, by name, rather than deep inside a table.
    """
    module = model.get_submodule(name)
    if not isinstance(module, kind):
        raise TypeError(f"{name} is a {type(module).__name__}, not a {kind.__name__}")
    return module


def shape_text(shape: Sequence[int]) -> str:
    """``C x H x W`` for a table cell (the batch dimension dropped)."""
    return " x ".join(map(str, shape[1:]))


def meta_shapes(
    model: nn.Module, nodes: Iterable[str], image_size: int = 224
) -> dict[str, tuple[int, ...]]:
    """The output shape of each traced node for one ``image_size`` image.

    ``model`` should live on the meta device: every operation then computes
    the shape of its result and nothing else, so tracing a large input is free.
    """
    nodes = list(nodes)
    extractor = create_feature_extractor(model, return_nodes=nodes)
    out = extractor(torch.empty(1, 3, image_size, image_size, device="meta"))
    return {node: tuple(out[node].shape) for node in nodes}
