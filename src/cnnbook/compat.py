"""Weight interchange with torchvision.

A model of the book that re-implements a torchvision architecture can take
torchvision's weights and give them back. Models whose parameter names
already match torchvision's need nothing; a model with its own naming
(the hand-written VGG-16, the Keras-style ResNet-50) defines
``torchvision_key_map() -> dict[our_key, torchvision_key]``.

Loading is strict: every tensor of the source is used, none of ours is left
out, and shapes must agree. Anything else raises
:class:`~cnnbook.errors.CheckpointError` (a ``ValueError``) with one
sentence that names the first offending key.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from cnnbook.errors import CheckpointError


def key_map(model: nn.Module) -> dict[str, str]:
    """Our state-dict keys mapped to torchvision's (identity by default)."""
    ours = list(model.state_dict().keys())
    custom = getattr(model, "torchvision_key_map", None)
    if custom is None:
        return {k: k for k in ours}
    mapping = dict(custom())
    missing = [k for k in ours if k not in mapping]
    if missing:
        raise CheckpointError(f"{type(model).__name__}.torchvision_key_map() misses {missing[0]!r}")
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
        raise CheckpointError(
            f"torchvision key {extra[0]!r} has no place in {type(model).__name__} "
            f"({len(extra)} unused); is it the same architecture?"
        )
    converted = {}
    for our_key, tv_key in mapping.items():
        if tv_key not in state_dict:
            raise CheckpointError(
                f"torchvision state dict lacks {tv_key!r} (needed for {our_key!r})"
            )
        tensor = state_dict[tv_key]
        if tensor.shape != ours[our_key].shape:
            raise CheckpointError(
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


#: Each of our registry names that re-implements a torchvision model, and the
#: torchvision builder whose architecture (and so whose weights) it shares.
TORCHVISION_TWINS: dict[str, str] = {
    **{name: name for name in ("vgg11", "vgg13", "vgg16", "vgg19")},
    **{f"{name}_bn": f"{name}_bn" for name in ("vgg11", "vgg13", "vgg16", "vgg19")},
    "vgg16_by_hand": "vgg16",
    **{f"resnet{d}": f"resnet{d}" for d in (18, 34, 50, 101, 152)},
    "resnet50_keras": "resnet50",
}


def _batchnorm_values(m: nn.modules.batchnorm._BatchNorm, g: torch.Generator) -> None:
    # Means and shifts small, scales and variances around 1 (variances must stay
    # positive): eval mode then does real work without blowing activations up.
    m.running_mean.normal_(0.0, 0.1, generator=g)
    m.running_var.uniform_(0.5, 1.5, generator=g)
    if m.affine:
        m.weight.uniform_(0.5, 1.5, generator=g)
        m.bias.normal_(0.0, 0.1, generator=g)


@torch.no_grad()
def randomize_weights(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every floating parameter and batch-norm statistic a random value; returns ``model``.

    An equality proof between two implementations is only as strong as the
    weights it runs on. Fresh weights hide mistakes: every VGG bias starts at
    0, and a fresh batch norm is the identity in eval mode, so a bias or a
    batch norm loaded into the wrong layer changes nothing. Here weights of
    two or more dimensions get He-scaled normal values (so activations keep
    their size through deep stacks), every other parameter (biases) small
    normal values, and batch norms random statistics and affine terms.
    Modules are visited in registration order from one seeded generator, so
    the same ``seed`` gives the same values on any machine. Integer buffers
    (``num_batches_tracked``) keep theirs.
    """
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            _batchnorm_values(m, g)
            continue
        for p in m.parameters(recurse=False):
            if not p.is_floating_point():
                continue
            if p.dim() >= 2:
                fan_in = p[0].numel()
                p.normal_(0.0, (2.0 / fan_in) ** 0.5, generator=g)
            else:
                p.normal_(0.0, 0.1, generator=g)
    return model


@torch.no_grad()
def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every batch norm random running statistics and affine terms; returns ``model``.

    A fresh batch norm is the identity in eval mode (mean 0, variance 1,
    scale 1, shift 0), so it would hide being wired to the wrong layer.
    :func:`randomize_weights` does this and randomises every other weight too.
    """
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            _batchnorm_values(m, g)
    return model
