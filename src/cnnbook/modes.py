"""Switching a model to evaluation (or training) mode for a moment, and back.

The engine, the analysis tools and the diagrams all run a model in a mode
other than the one the caller left it in; this is the one place that does
it, so every one of them restores the caller's mode, layer by layer, even
when the block raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn


@contextlib.contextmanager
def using_mode(model: nn.Module, training: bool) -> Iterator[nn.Module]:
    """Put ``model`` in training or eval mode inside the block; restore every layer's mode after."""
    before = [(m, m.training) for m in model.modules()]
    model.train(training)
    try:
        yield model
    finally:
        for m, was_training in before:
            m.training = was_training


def train_mode(model: nn.Module) -> contextlib.AbstractContextManager[nn.Module]:
    """Training mode inside the block (batch norm uses the batch's statistics)."""
    return using_mode(model, True)


def eval_mode(model: nn.Module) -> contextlib.AbstractContextManager[nn.Module]:
    """Put ``model`` in eval mode inside the block; restore every layer's mode after.

    Eval mode turns dropout off and makes batch norm use its running
    statistics. Each submodule gets its own previous mode back (not just the
    top module's), so a fine-tuning run that keeps some batch-norm layers
    frozen in eval mode still has them frozen afterwards, even when the
    block raised.

    >>> with eval_mode(model):
    ...     logits = model(x)
    """
    return using_mode(model, False)
