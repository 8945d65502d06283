"""How a signal travels through a network at initialisation.

Before any training, one forward and one backward pass already tell whether
a deep stack is easy to optimise: if the gradient reaching the first layers
is orders of magnitude smaller (or larger) than at the last ones, plain SGD
will move them at very different speeds. These helpers measure that, layer
by layer, and the size of each block's output on the way forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnbook.modes import train_mode


def gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[tuple[str, float]]:
    """L2 norm of the loss gradient for every conv/linear weight, in forward order.

    The model runs in training mode (as it would in its first SGD step, batch
    norm using the batch's statistics); its gradients are cleared afterwards
    and its mode is restored.
    """
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    order: list[str] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, _o, name=n: order.append(name)) for n, m in layers
    ]
    try:
        model.zero_grad(set_to_none=True)
        with train_mode(model):
            F.cross_entropy(model(x), y).backward()
    finally:
        for h in hooks:
            h.remove()
    by_name = dict(layers)
    norms = [(n, float(by_name[n].weight.grad.norm())) for n in order]
    model.zero_grad(set_to_none=True)
    return norms


@torch.no_grad()
def block_output_std(model: nn.Module, x: torch.Tensor, blocks: list[nn.Module]) -> list[float]:
    """Standard deviation of each listed block's output for input ``x`` (in the model's current mode)."""
    stds: list[float] = []
    hooks = [b.register_forward_hook(lambda _m, _i, o: stds.append(float(o.std()))) for b in blocks]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return stds
