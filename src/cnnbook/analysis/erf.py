"""The effective receptive field (Luo et al., 2016).

The receptive field says which input pixels *can* influence a unit. The
effective receptive field says how much each one *does*: backpropagate a
gradient of 1 from the unit at the centre of a layer's output (all of its
channels) and record the magnitude of the gradient at every input pixel,
averaged over many inputs. Luo et al. showed that this map is roughly
Gaussian and fills only part of the theoretical field: a pixel near the
edge is reached by few paths through the network, a pixel near the centre
by many.

A one-layer 5x5 convolution has a single path to every pixel of its
window, so its map is flat over 5x5. Two stacked 3x3 convolutions see the
same 5x5 window, but the centre pixel is reached through 9 paths and a
corner through one, so their map is peaked: the same theoretical field, a
smaller effective one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from cnnbook.analysis.hooks import StopForward, forward_until
from cnnbook.analysis.receptive_field import spatial_layers
from cnnbook.modes import eval_mode


def effective_receptive_field(
    model: nn.Module,
    inputs: torch.Tensor | None = None,
    *,
    input_size: tuple[int, int, int] | None = None,
    layer: str | None = None,
    samples: int = 32,
    seed: int = 0,
) -> torch.Tensor:
    """Mean absolute input gradient of the centre unit of ``layer``: an ``(H, W)`` map.

    ``inputs`` is a batch ``(N, C, H, W)`` (for instance validation images);
    without it, ``samples`` standard-normal images of ``input_size = (C, H,
    W)`` are drawn with ``seed``, as in Luo et al.'s analysis at
    initialisation. ``layer`` names a module (default: the last convolution
    or pooling layer). The model runs in eval mode (batch norm uses its
    running statistics, so images do not influence each other) and its
    mode is restored afterwards. The map is normalised to sum to 1.
    """
    if inputs is None:
        if input_size is None:
            raise ValueError("give either inputs or input_size")
        gen = torch.Generator().manual_seed(seed)
        inputs = torch.randn(samples, *input_size, generator=gen)
    if inputs.ndim != 4:
        raise ValueError(f"inputs must be a batch (N, C, H, W), got shape {tuple(inputs.shape)}")
    name = layer if layer is not None else spatial_layers(model)[-1][0]
    try:
        target = model.get_submodule(name)
    except AttributeError:
        raise ValueError(f"the model has no layer named {name!r}") from None

    captured: list[torch.Tensor] = []

    def hook(_module: nn.Module, _inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        captured.append(output)
        raise StopForward

    param = next(model.parameters(), None)
    x = inputs.detach().to(param.dtype if param is not None else torch.float32).requires_grad_(True)
    handle = target.register_forward_hook(hook)
    try:
        with eval_mode(model), torch.enable_grad():
            forward_until(model, x)
            if not captured:
                raise ValueError(f"layer {name!r} did not run in the forward pass")
            out = captured[0]
            cy, cx = (out.shape[-2] - 1) // 2, (out.shape[-1] - 1) // 2
            # Summing over the batch keeps images independent (eval mode), so
            # one backward pass gives every image's own gradient.
            (grad,) = torch.autograd.grad(out[:, :, cy, cx].sum(), x)
    finally:
        handle.remove()
    erf = grad.abs().sum(dim=1).mean(dim=0).double()
    total = erf.sum()
    if total == 0:
        raise ValueError(f"the gradient of layer {name!r} is zero everywhere (dead units?)")
    return erf / total


def mean_effective_receptive_field(
    models: Iterable[nn.Module], inputs: torch.Tensor | None = None, **options: Any
) -> torch.Tensor:
    """The average of :func:`effective_receptive_field` over several models.

    With one network the map mirrors the particular random weights drawn;
    Luo et al.'s smooth maps are expectations over initialisations (or, after
    training, over training runs), so average over several seeds.
    """
    maps = [effective_receptive_field(m, inputs, **options) for m in models]
    if not maps:
        raise ValueError("need at least one model")
    mean = torch.stack(maps).mean(0)
    return mean / mean.sum()


def centre(erf: torch.Tensor) -> tuple[float, float]:
    """The map's centre of mass (row, column)."""
    h, w = erf.shape
    rows = torch.arange(h, dtype=erf.dtype)
    cols = torch.arange(w, dtype=erf.dtype)
    return float((erf.sum(1) * rows).sum() / erf.sum()), float(
        (erf.sum(0) * cols).sum() / erf.sum()
    )


def radius(erf: torch.Tensor) -> float:
    """Root-mean-square distance of the map's mass from its centre, in pixels.

    One number for "how spread out" the effective field is: for a flat
    k x k square it is sqrt((k^2 - 1) / 6); a peaked map gives less.
    """
    h, w = erf.shape
    cy, cx = centre(erf)
    rows = torch.arange(h, dtype=erf.dtype)[:, None]
    cols = torch.arange(w, dtype=erf.dtype)[None, :]
    d2 = (rows - cy) ** 2 + (cols - cx) ** 2
    return math.sqrt(float((erf * d2).sum() / erf.sum()))


def mass_within(erf: torch.Tensor, size: int) -> float:
    """Share of the map's mass inside the centred ``size`` x ``size`` square."""
    h, w = erf.shape
    cy, cx = round(centre(erf)[0]), round(centre(erf)[1])
    half = size // 2
    top, left = max(0, cy - half), max(0, cx - half)
    window = erf[top : cy - half + size, left : cx - half + size]
    return float(window.sum() / erf.sum())


def crop(erf: torch.Tensor, size: int) -> torch.Tensor:
    """The centred ``size`` x ``size`` window of a map (for plotting the interesting part)."""
    h, w = erf.shape
    cy, cx = (h - 1) // 2, (w - 1) // 2
    half = size // 2
    return erf[max(0, cy - half) : cy - half + size, max(0, cx - half) : cx - half + size]
