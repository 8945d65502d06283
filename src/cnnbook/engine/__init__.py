"""Training, evaluation and prediction.

>>> from cnnbook import data, engine, models
>>> bundle = data.load("mnist")
>>> model = models.create("vgg_mini")
>>> history = engine.fit(model, bundle.train, bundle.val, epochs=3)

The modules, in the order a reader meets them: :mod:`~cnnbook.engine.config`
(``TrainConfig``, every setting), :mod:`~cnnbook.engine.loop` (``fit``),
:mod:`~cnnbook.engine.optim` (optimisers and learning-rate schedules),
:mod:`~cnnbook.engine.evaluate` (``evaluate``, ``predictions``, ``predict``),
:mod:`~cnnbook.modes` (``eval_mode``), :mod:`~cnnbook.engine.checkpoint`,
:mod:`~cnnbook.engine.history`, :mod:`~cnnbook.engine.device`.
"""

from __future__ import annotations

import os

from torch import nn

from cnnbook.engine import checkpoint
from cnnbook.engine.config import TrainConfig
from cnnbook.engine.device import resolve_device
from cnnbook.engine.evaluate import evaluate, predict, predictions
from cnnbook.engine.history import History
from cnnbook.engine.loaders import seed_everything
from cnnbook.engine.loop import fit
from cnnbook.engine.optim import lr_factor, make_optimizer, paper_lr_factor
from cnnbook.errors import CheckpointError, ConfigError, DeviceError, TrainingDiverged
from cnnbook.modes import eval_mode

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DeviceError",
    "History",
    "TrainConfig",
    "TrainingDiverged",
    "checkpoint",
    "eval_mode",
    "evaluate",
    "fit",
    "load_model",
    "lr_factor",
    "make_optimizer",
    "paper_lr_factor",
    "predict",
    "predictions",
    "resolve_device",
    "seed_everything",
]


def load_model(path: str | os.PathLike, device="cpu") -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint was trained as, with its weights.

    Works for checkpoints whose ``meta`` names a registered model (the CLI and
    ``examples/train.py`` store ``model``, ``model_kwargs`` and ``data``).
    Returns ``(model_in_eval_mode, meta)``; ``meta["data"]`` holds the
    class names and normalisation needed by :func:`cnnbook.data.make_eval_transform`.
    """
    from cnnbook import models

    state = checkpoint.load(path, map_location="cpu")
    meta = state["meta"]
    name = meta.get("model")
    if not name:
        raise CheckpointError(
            f"{path} does not record which model it holds, so it cannot be rebuilt"
        )
    try:
        model = models.create(name, **meta.get("model_kwargs", {}))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"cannot rebuild model {name!r} from {path}: {exc}") from None
    checkpoint.check_model_matches(model, state, path)
    model.load_state_dict(state["model"])
    return model.to(resolve_device(device)).eval(), meta
