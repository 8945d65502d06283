"""Training, evaluation and prediction (see :mod:`cnnbook.engine.loop` for the loop itself).

>>> from cnnbook import data, engine, models
>>> bundle = data.load("mnist")
>>> model = models.create("vgg_mini")
>>> history = engine.fit(model, bundle.train, bundle.val, epochs=3)
"""

from __future__ import annotations

import os

from torch import nn

from cnnbook.engine import checkpoint
from cnnbook.engine.checkpoint import CheckpointError
from cnnbook.engine.device import DeviceError, resolve_device
from cnnbook.engine.history import History
from cnnbook.engine.loop import (
    ConfigError,
    TrainingDiverged,
    evaluate,
    fit,
    lr_factor,
    predict,
    predictions,
    seed_everything,
)

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DeviceError",
    "History",
    "TrainingDiverged",
    "checkpoint",
    "evaluate",
    "fit",
    "load_model",
    "lr_factor",
    "predict",
    "predictions",
    "resolve_device",
    "seed_everything",
]


def load_model(path: str | os.PathLike, device="cpu") -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint was trained as, with its weights.

    Works for checkpoints whose config names a registered model (the CLI and
    ``examples/train.py`` store ``model``, ``model_kwargs`` and ``data``).
    Returns ``(model_in_eval_mode, config)``; ``config["data"]`` holds the
    class names and normalisation needed by :func:`cnnbook.data.make_eval_transform`.
    """
    from cnnbook import models

    state = checkpoint.load(path, map_location="cpu")
    config = state.get("config", {})
    name = config.get("model")
    if not name:
        raise CheckpointError(
            f"{path} does not record which model it holds, so it cannot be rebuilt"
        )
    try:
        model = models.create(name, **config.get("model_kwargs", {}))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"cannot rebuild model {name!r} from {path}: {exc}") from None
    checkpoint.check_model_matches(model, state, path)
    model.load_state_dict(state["model"])
    return model.to(resolve_device(device)).eval(), config
