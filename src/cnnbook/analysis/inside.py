"""Looking inside a trained CNN: its first filters, its feature maps, and half-and-half images.

The "Seeing inside a CNN" page uses these next to :mod:`cnnbook.analysis.gradcam`:

* :func:`first_conv` finds the layer whose weights act on the pixels;
* :func:`layer_outputs` runs the model once and keeps the output of each named
  layer (for instance each VGG block) through forward hooks;
* :func:`half_and_half` and :func:`share_on_left` make and score the test of
  whether Grad-CAM points at the right thing: an image whose left half is one
  class and right half another, and the share of a map's mass on each half.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from cnnbook.analysis.gradcam import grad_cam
from cnnbook.modes import eval_mode


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The first ``Conv2d`` the model registers: the one that sees the pixels."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module
    raise ValueError("the model has no Conv2d layer")


def layer_outputs(
    model: nn.Module, x: torch.Tensor, names: Sequence[str]
) -> dict[str, torch.Tensor]:
    """The outputs of the layers ``names`` for the batch ``x``, in eval mode, without gradients.

    Forward hooks read the outputs while the model runs its own ``forward``,
    so this works for any model, not only for chains one can call block by
    block. Each output is copied: a later in-place layer cannot change it.
    """
    kept: dict[str, torch.Tensor] = {}

    def keeper(name: str) -> Any:
        def hook(_module: nn.Module, _inputs: tuple[Any, ...], output: torch.Tensor) -> None:
            kept[name] = output.detach().clone()

        return hook

    handles = []
    try:
        for name in names:
            try:
                layer = model.get_submodule(name)
            except AttributeError:
                raise ValueError(f"the model has no layer named {name!r}") from None
            handles.append(layer.register_forward_hook(keeper(name)))
        with eval_mode(model), torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    missing = [n for n in names if n not in kept]
    if missing:
        raise ValueError(f"layer {missing[0]!r} did not run in the forward pass")
    return {name: kept[name] for name in names}


def half_and_half(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """Images ``(N, C, H, W)`` made of the left half of ``left`` and the right half of ``right``."""
    if left.shape != right.shape or left.ndim != 4:
        raise ValueError(
            f"need two batches of the same shape (N, C, H, W), got {tuple(left.shape)} "
            f"and {tuple(right.shape)}"
        )
    cut = left.shape[-1] // 2
    return torch.cat([left[..., :cut], right[..., cut:]], dim=-1)


def share_on_left(maps: torch.Tensor) -> torch.Tensor:
    """Each map's share of its total on the left half of its columns (NaN for an all-zero map).

    ``maps`` is ``(N, H, W)`` with non-negative values (Grad-CAM after its
    ReLU). The width must be even, so that the halves are the same size.
    """
    if maps.ndim != 3 or maps.shape[-1] % 2:
        raise ValueError(f"need maps (N, H, W) of even width, got {tuple(maps.shape)}")
    if (maps < 0).any():
        raise ValueError("maps must be non-negative (Grad-CAM after its ReLU)")
    total = maps.sum(dim=(1, 2))
    left = maps[..., : maps.shape[-1] // 2].sum(dim=(1, 2))
    # An all-zero map says nothing about either half; NaN keeps it out of means.
    return torch.where(total > 0, left / total.clamp_min(1e-30), torch.nan)


def target_half_shares(
    model: nn.Module,
    layer: nn.Module | str,
    images: torch.Tensor,
    labels: torch.Tensor,
    per_class: int = 16,
) -> torch.Tensor:
    """Grad-CAM's share on the half of a half-and-half image that shows the target class.

    For every ordered pair of classes ``(a, b)``, the first ``per_class``
    images of each are cut into half-and-half images (``a`` on the left);
    Grad-CAM for ``a`` should lie on the left, for ``b`` on the right. The
    shares are measured on the layer's own grid, before any upsampling
    blurs the border. Returns one share per image and target (NaN where the
    map is all zero); 0.5 is what a map blind to the class would give.
    """
    classes = sorted(int(c) for c in labels.unique())
    by_class = {c: images[labels == c][:per_class] for c in classes}
    if any(len(v) < per_class for v in by_class.values()):
        raise ValueError(f"every class needs at least {per_class} images")
    shares = []
    for a in classes:
        for b in classes:
            if a == b:
                continue
            mixed = half_and_half(by_class[a], by_class[b])
            shares.append(share_on_left(grad_cam(model, mixed, a, layer)))
            shares.append(1 - share_on_left(grad_cam(model, mixed, b, layer)))
    return torch.cat(shares)
