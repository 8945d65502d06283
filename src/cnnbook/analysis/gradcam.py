"""Grad-CAM: where in an image a network found the evidence for one class.

Selvaraju et al. (arXiv 1610.02391) take a convolutional layer's output
``A`` (``K`` maps of ``h x w``) and the gradient of one class's score
``y_c`` (the logit, before the softmax) with respect to it:

* each map ``k`` gets a weight ``w_k``: the gradient ``dy_c / dA_k``
  averaged over the ``h x w`` positions ("how much more class ``c`` would
  the network see if map ``k`` were brighter everywhere");
* the map is ``ReLU(sum_k w_k A_k)``: positions whose features argue for
  the class, with those that argue against it cut to zero.

The map has the layer's resolution (4 x 4 after three VGG blocks on a
32-pixel image); :func:`upsample` stretches it to the image for display.

Two hooks collect what the formula needs without changing the model: a
forward hook on the layer keeps its output, and a hook on that output
tensor keeps the gradient autograd passes through it. ``tests/test_gradcam.py``
proves the result equal to captum's ``LayerGradCam``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnbook.modes import eval_mode

#: The class to explain, as :func:`grad_cam` takes it: one for all images, or one each.
Target = int | Sequence[int] | torch.Tensor


def _targets(target: Target, n: int, num_classes: int) -> torch.Tensor:
    t = torch.as_tensor(target, dtype=torch.long).reshape(-1)
    if t.numel() == 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ValueError(f"give one target class or one per image ({n}), got {t.numel()}")
    if t.min() < 0 or t.max() >= num_classes:
        raise ValueError(f"target classes must be in 0..{num_classes - 1}, got {t.tolist()}")
    return t


def _layer(model: nn.Module, layer: nn.Module | str) -> nn.Module:
    if isinstance(layer, nn.Module):
        return layer
    try:
        return model.get_submodule(layer)
    except AttributeError:
        raise ValueError(f"the model has no layer named {layer!r}") from None


def activations_and_gradients(
    model: nn.Module, x: torch.Tensor, target: Target, layer: nn.Module | str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's output ``A`` for the batch ``x`` and ``d score[target] / dA``.

    The model runs in eval mode (dropout off, batch norm on its running
    statistics), so the images of a batch do not influence each other and
    one backward pass through the summed scores gives each image its own
    gradient. Only the layer's output receives a gradient: the parameters'
    ``.grad`` stay as they were.
    """
    if x.ndim != 4:
        raise ValueError(f"x must be a batch (N, C, H, W), got shape {tuple(x.shape)}")
    kept: dict[str, Any] = {}

    def keep_output(_layer: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        kept["A"], kept["version"] = output, output._version
        output.register_hook(lambda grad: kept.__setitem__("dA", grad))

    handle = _layer(model, layer).register_forward_hook(keep_output)
    try:
        with eval_mode(model), torch.enable_grad():
            # An input that needs a gradient builds the graph even when the
            # weights are frozen (requires_grad=False), as in fine-tuning.
            scores = model(x.detach().requires_grad_(True))
            if "A" not in kept:
                raise ValueError(f"layer {layer!r} did not run in the forward pass")
            if kept["A"]._version != kept["version"]:
                # An in-place ReLU after a convolution overwrites the kept output.
                raise ValueError(
                    "a later layer changed this layer's output in place; "
                    "hook that layer (e.g. the ReLU after the convolution) instead"
                )
            classes = _targets(target, len(x), scores.shape[1])
            chosen = scores.gather(1, classes[:, None])  # each image's score y_c
            chosen.sum().backward(inputs=[kept["A"]])
    finally:
        handle.remove()
    return kept["A"].detach(), kept["dA"]


def grad_cam(
    model: nn.Module, x: torch.Tensor, target: Target, layer: nn.Module | str
) -> torch.Tensor:
    """Grad-CAM maps ``(N, h, w)`` at ``layer`` (a module or a name) for ``target``."""
    A, dA = activations_and_gradients(model, x, target, layer)
    weights = dA.mean(dim=(2, 3), keepdim=True)  # w_k: one number per map k
    return F.relu((weights * A).sum(dim=1))


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Maps ``(N, h, w)`` stretched to ``size = (H, W)`` by bilinear interpolation."""
    # captum's LayerAttribution.interpolate(..., "bilinear") does the same.
    stretched = F.interpolate(maps[:, None], size, mode="bilinear", align_corners=False)
    return stretched[:, 0]
