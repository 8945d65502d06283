"""Receptive fields, computed two ways: by arithmetic and by backpropagation.

*Analytic.* Walk the convolution and pooling layers in order. With ``k`` the
(dilated) kernel size, ``s`` the stride and ``p`` the padding of a layer, and
``size``, ``jump``, ``start`` the values before it::

    size  <- size + (k - 1) * jump      # how many input pixels one unit sees
    jump  <- jump * s                   # input pixels between neighbouring units
    start <- start + ((k - 1) / 2 - p) * jump_before   # centre of unit 0

``start`` is in input pixel indices (pixel ``i`` is centred at ``i``), so
unit ``u`` of a layer sees input pixels ``start + u * jump +- (size - 1) / 2``.
The walk begins with ``size = 1``, ``jump = 1``, ``start = 0``.

*Measured.* Backpropagate from one unit near the centre of a layer's output
and look at which input pixels get a non-zero gradient. Done naively this
undercounts: a max-pool sends gradient only to the winner of each window, a
ReLU whose input is negative sends none, and random weights can cancel. So
:func:`measure_receptive_fields` runs the model's own ``forward`` with every
convolution temporarily replaced by a one-channel convolution of the same
geometry whose weights are the positive constant ``1 / k**2`` (no bias),
every max-pool by an average pool of the same geometry, and batch norm by the
identity, on an all-ones input in float64. Every activation is then
positive, every ReLU passes its gradient on, and the gradient at an input
pixel is a sum of positive products: it is non-zero exactly where a path of
weights reaches the pixel, i.e. on the receptive field and nowhere else.
One channel suffices because the receptive field does not depend on the
number of channels, and it keeps the measurement fast even for VGG-16.

What is not handled: the analytic walk assumes the convolution and pooling
layers run one after another in the order in which they are registered, as
in ``nn.Sequential`` stacks and the whole VGG family. Models that branch
(ResNet shortcuts, Inception) would be chained wrongly, so the walk refuses
layers held by custom modules unless told ``strict=False``. The measured
version runs the real ``forward``; with ``strict=False`` it copes with
additions of equal-shaped branches, not with concatenation along channels.
Only square kernels, strides, padding and dilation; only zero padding (a
reflecting pad folds outside pixels back in). The walk stops at the first
adaptive pool, ``Flatten`` or ``Linear`` layer: past that point a unit sees
the whole input (or the geometry depends on the input size).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from cnnbook.analysis.hooks import StopForward, forward_until
from cnnbook.modes import eval_mode

_POOLS = (nn.MaxPool2d, nn.AvgPool2d)
_GEOMETRIC = (nn.Conv2d, *_POOLS)
_END_OF_SPATIAL = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Flatten, nn.Linear)
_Pair = tuple[int, int]
_UNSUPPORTED = (nn.ConvTranspose2d, nn.Upsample, nn.Conv1d, nn.Conv3d, nn.MaxPool1d, nn.MaxPool3d)


@dataclass(frozen=True)
class RFLayer:
    """The receptive field of the units after one layer (analytic)."""

    name: str
    kind: str
    kernel: int
    stride: int
    padding: int
    dilation: int
    size: int
    jump: int
    start: float

    def span(self, unit: int) -> tuple[float, float]:
        """First and last input pixel (indices, inclusive) seen by ``unit``."""
        centre = self.start + unit * self.jump
        half = (self.size - 1) / 2
        return centre - half, centre + half


@dataclass(frozen=True)
class MeasuredRF:
    """The input region whose gradient is non-zero for one unit (measured)."""

    name: str
    unit: tuple[int, int]
    height: int
    width: int
    top: int
    left: int
    filled: bool  # every pixel of the bounding box has a non-zero gradient
    clipped: bool  # the region touches the image border, so it may be cut off


def _square(value: object, what: str, name: str) -> int:
    if isinstance(value, tuple):
        if len(set(value)) != 1:
            raise ValueError(
                f"layer {name!r} has a non-square {what} {value}; only square ones are supported"
            )
        value = value[0]
    if isinstance(value, str):
        raise ValueError(f"layer {name!r} uses padding={value!r}; give the padding as a number")
    if not isinstance(value, int):
        raise ValueError(
            f"layer {name!r} has a {what} of type {type(value).__name__}, not a number"
        )
    return value


def _geometry(name: str, module: nn.Module) -> tuple[int, int, int, int]:
    """(kernel, stride, padding, dilation) of a convolution or pooling layer."""
    kernel = _square(module.kernel_size, "kernel", name)
    stride = _square(module.stride if module.stride is not None else kernel, "stride", name)
    padding = _square(module.padding, "padding", name)
    dilation = _square(getattr(module, "dilation", 1), "dilation", name)
    return kernel, stride, padding, dilation


def spatial_layers(model: nn.Module, strict: bool = True) -> list[tuple[str, nn.Module]]:
    """The convolution and pooling layers of ``model`` in registration order.

    Stops at the first adaptive pool, ``Flatten`` or ``Linear``; raises
    ``ValueError`` for a layer whose geometry the walk cannot follow. With
    ``strict`` (the default) it also refuses a layer held, at any depth, by
    a custom module other than the model itself, such as a ResNet block:
    such a module's ``forward`` may branch, and registration order would
    then be wrong. Layers reached through ``nn.Sequential`` containers only
    are accepted.
    """
    layers: list[tuple[str, nn.Module]] = []
    for name, module in model.named_modules():
        if isinstance(module, _END_OF_SPATIAL):
            break
        if isinstance(module, _UNSUPPORTED):
            raise ValueError(
                f"layer {name!r} ({type(module).__name__}) is not supported by the receptive-field walk"
            )
        if isinstance(module, _GEOMETRIC):
            custom = _custom_container(model, name) if strict else None
            if custom is not None:
                raise ValueError(
                    f"layer {name!r} sits in a {type(custom).__name__}, whose forward may branch; "
                    "the walk follows plain chains only (pass strict=False to walk it anyway)"
                )
            layers.append((name, module))
    if not layers:
        raise ValueError("the model has no Conv2d, MaxPool2d or AvgPool2d layer to walk")
    return layers


def _custom_container(model: nn.Module, name: str) -> nn.Module | None:
    """The first module between ``model`` and layer ``name`` that is not an ``nn.Sequential``."""
    parts = name.split(".")[:-1]
    for i in range(1, len(parts) + 1):
        module = model.get_submodule(".".join(parts[:i]))
        if not isinstance(module, nn.Sequential):
            return module
    return None


def receptive_fields(
    model_or_layers: nn.Module | Iterable[tuple[str, nn.Module]], strict: bool = True
) -> list[RFLayer]:
    """Analytic receptive field after every convolution and pooling layer.

    Accepts a model (walked with :func:`spatial_layers`) or a list of
    ``(name, layer)`` pairs.
    """
    if isinstance(model_or_layers, nn.Module):
        layers = spatial_layers(model_or_layers, strict)
    else:
        layers = list(model_or_layers)
    size, jump, start = 1, 1, 0.0
    rows = []
    for name, module in layers:
        kernel, stride, padding, dilation = _geometry(name, module)
        k = dilation * (kernel - 1) + 1  # a dilated kernel spans this many pixels
        start = start + ((k - 1) / 2 - padding) * jump
        size = size + (k - 1) * jump
        jump = jump * stride
        rows.append(
            RFLayer(
                name, type(module).__name__, kernel, stride, padding, dilation, size, jump, start
            )
        )
    return rows


def stack_receptive_field(kernels: Iterable[int], strides: Iterable[int] | None = None) -> int:
    """Receptive field of a plain stack of convolutions, e.g. ``(3, 3)`` -> 5."""
    kernels = list(kernels)
    strides = list(strides) if strides is not None else [1] * len(kernels)
    layers = [
        (f"conv{i}", nn.Conv2d(1, 1, k, s))
        for i, (k, s) in enumerate(zip(kernels, strides, strict=True))
    ]
    return receptive_fields(layers)[-1].size


# --- measurement -------------------------------------------------------------


def _probe_module(module: nn.Module) -> nn.Module:
    """A one-channel, positive-weight stand-in with the same geometry (see module doc)."""
    if isinstance(module, nn.Conv2d):
        # Conv2d stores its geometry as tuple[int, ...]; the constructor's stubs want pairs.
        probe = nn.Conv2d(
            1,
            1,
            cast(_Pair, module.kernel_size),
            stride=cast(_Pair, module.stride),
            padding=cast("str | tuple[int, int]", module.padding),
            dilation=cast(_Pair, module.dilation),
            bias=False,
            padding_mode=module.padding_mode,
        )
        nn.init.constant_(probe.weight, 1.0 / probe.weight.numel())
        return probe.double()
    if isinstance(module, _POOLS):
        if _square(getattr(module, "dilation", 1), "dilation", "pool") != 1:
            raise ValueError("dilated max-pooling is not supported by the measurement")
        return nn.AvgPool2d(
            module.kernel_size, module.stride, module.padding, ceil_mode=module.ceil_mode
        )
    return nn.Identity()  # batch norm: its learned scale could be negative


def _swap(root: nn.Module, name: str, new: nn.Module) -> nn.Module:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    old = getattr(parent, child)
    setattr(parent, child, new)
    return old


def measure_receptive_fields(
    model: nn.Module,
    image_size: int | tuple[int, int] = 224,
    names: Iterable[str] | None = None,
    strict: bool = True,
) -> list[MeasuredRF]:
    """Measured receptive field of the centre unit after each spatial layer.

    Runs ``model.forward`` on an all-ones ``(1, 1, H, W)`` float64 input with
    the stand-ins described in the module docstring swapped in (the model is
    restored afterwards, also on error), then backpropagates from the unit
    at the centre of each layer's output. ``names`` restricts the layers
    (default: every layer of :func:`spatial_layers`). Choose ``image_size``
    large enough that the deepest field fits; ``clipped`` flags those that
    touch the border.
    """
    height, width = (image_size, image_size) if isinstance(image_size, int) else image_size
    layers = spatial_layers(model, strict)
    wanted = set(names) if names is not None else {n for n, _ in layers}
    unknown = wanted - {n for n, _ in layers}
    if unknown:
        raise ValueError(f"no convolution or pooling layer named {sorted(unknown)[0]!r}")
    last = max(i for i, (n, _) in enumerate(layers) if n in wanted)
    layers = layers[: last + 1]

    swaps = _stand_ins(model, layers)
    outputs: dict[str, torch.Tensor] = {}
    hooks = {
        name: _recorder(outputs, name, stop=i == last)
        for i, (name, _) in enumerate(layers)
        if name in wanted
    }
    originals: dict[str, nn.Module] = {}
    handles: list[RemovableHandle] = []
    try:
        for name, new in swaps.items():
            originals[name] = _swap(model, name, new)
        handles = [swaps[name].register_forward_hook(hook) for name, hook in hooks.items()]
        x = torch.ones(1, 1, height, width, dtype=torch.float64, requires_grad=True)
        with eval_mode(model), torch.enable_grad():
            forward_until(model, x)
            return [_centre_unit_field(name, outputs.get(name), x) for name in hooks]
    finally:
        for handle in handles:
            handle.remove()
        for name, old in originals.items():
            _swap(model, name, old)


_Hook = Callable[[nn.Module, tuple[Any, ...], torch.Tensor], None]


def _stand_ins(model: nn.Module, layers: list[tuple[str, nn.Module]]) -> dict[str, nn.Module]:
    """Probe modules for ``layers`` and the identity for every batch norm of ``model``."""
    swaps = {n: _probe_module(m) for n, m in layers}
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            swaps[name] = nn.Identity()
    return swaps


def _recorder(outputs: dict[str, torch.Tensor], layer_name: str, stop: bool) -> _Hook:
    """A forward hook that keeps the layer's output and, for the last layer, ends the pass."""

    def hook(_module: nn.Module, _inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        outputs[layer_name] = output
        if stop:
            raise StopForward

    return hook


def _centre_unit_field(name: str, out: torch.Tensor | None, x: torch.Tensor) -> MeasuredRF:
    """The input region that reaches the centre unit of ``out`` (first channel)."""
    if out is None:
        raise ValueError(f"layer {name!r} did not run in the forward pass")
    uy, ux = (out.shape[-2] - 1) // 2, (out.shape[-1] - 1) // 2
    (grad,) = torch.autograd.grad(out[0, 0, uy, ux], x, retain_graph=True)
    return _region(name, (uy, ux), grad[0, 0] != 0)


def _region(name: str, unit: tuple[int, int], mask: torch.Tensor) -> MeasuredRF:
    rows = torch.nonzero(mask.any(dim=1)).flatten()
    cols = torch.nonzero(mask.any(dim=0)).flatten()
    if rows.numel() == 0:
        raise ValueError(f"no input pixel reaches layer {name!r}")
    top, bottom = int(rows[0]), int(rows[-1])
    left, right = int(cols[0]), int(cols[-1])
    box = mask[top : bottom + 1, left : right + 1]
    clipped = top == 0 or left == 0 or bottom == mask.shape[0] - 1 or right == mask.shape[1] - 1
    return MeasuredRF(
        name, unit, bottom - top + 1, right - left + 1, top, left, bool(box.all()), clipped
    )
