"""Switching a model to evaluation mode for a moment, and back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode inside the block; restore every layer's mode after.

    Eval mode turns dropout off and makes batch norm use its running
    statistics. Each submodule gets its own previous mode back (not just the
    top module's), so a fine-tuning run that keeps some batch-norm layers
    frozen in eval mode still has them frozen afterwards, even when the
    block raised.

    >>> with eval_mode(model):
    ...     logits = model(x)
    """
    before = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in before:
            m.training = training
