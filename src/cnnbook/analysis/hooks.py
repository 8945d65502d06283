"""Ending a forward pass early, from inside a forward hook.

The receptive-field tools need one layer's output, not the logits; a hook
on that layer raises :class:`StopForward` once it has what it needs, and
:func:`forward_until` runs the model and swallows exactly that exception.
Nothing after the layer runs, which also lets a head that would not accept
the probe's input size stay out of the way.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn


class StopForward(Exception):
    """Raised by a forward hook to end the pass after the layer of interest."""


def forward_until(model: nn.Module, x: torch.Tensor) -> None:
    """Run ``model(x)`` until a hook raises :class:`StopForward` (or to the end)."""
    with contextlib.suppress(StopForward):
        model(x)
