"""Weight interchange with torchvision.

A model of the book that re-implements a torchvision architecture can take
torchvision's weights and give them back. Models whose parameter names
already match torchvision's need nothing; a model with its own naming
(the hand-written VGG-16, the Keras-style ResNet-50) defines
``torchvision_key_map() -> dict[our_key, torchvision_key]``.

Loading is strict: every tensor of the source is used, none of ours is left
out, and shapes must agree. Anything else raises ``ValueError`` with one
sentence that names the first offending key.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn


def key_map(model: nn.Module) -> dict[str, str]:
    """Our state-dict keys mapped to torchvision's (identity by default)."""
    ours = list(model.state_dict().keys())
    custom = getattr(model, "torchvision_key_map", None)
    if custom is None:
        return {k: k for k in ours}
    mapping = dict(custom())
    missing = [k for k in ours if k not in mapping]
    if missing:
        raise ValueError(f"{type(model).__name__}.torchvision_key_map() misses {missing[0]!r}")
    return mapping


def load_torchvision_state_dict(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor]
) -> nn.Module:
    """Copy a torchvision ``state_dict`` into ``model`` strictly; returns ``model``."""
    mapping = key_map(model)
    ours = model.state_dict()
    wanted = set(mapping.values())
    extra = [k for k in state_dict if k not in wanted]
    if extra:
        raise ValueError(
            f"torchvision key {extra[0]!r} has no place in {type(model).__name__} "
            f"({len(extra)} unused); is it the same architecture?"
        )
    converted = {}
    for our_key, tv_key in mapping.items():
        if tv_key not in state_dict:
            raise ValueError(f"torchvision state dict lacks {tv_key!r} (needed for {our_key!r})")
        tensor = state_dict[tv_key]
        if tensor.shape != ours[our_key].shape:
            raise ValueError(
                f"shape mismatch for {tv_key!r}: torchvision has {tuple(tensor.shape)}, "
                f"{type(model).__name__} expects {tuple(ours[our_key].shape)}"
            )
        converted[our_key] = tensor
    model.load_state_dict(converted, strict=True)
    return model


def to_torchvision_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s weights under torchvision's names (tensors are cloned)."""
    mapping = key_map(model)
    return {mapping[k]: v.detach().clone() for k, v in model.state_dict().items()}


@torch.no_grad()
def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every batch norm random running statistics and affine terms.

    A fresh batch norm is the identity in eval mode (mean 0, variance 1,
    scale 1, shift 0), so an equality proof on fresh models would not notice
    a batch norm wired to the wrong layer or loaded with the wrong tensors.
    Random values make the evaluation path do real work. Returns ``model``.
    """
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            if m.affine:
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return model
