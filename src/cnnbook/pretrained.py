"""Starting from trained weights: torchvision's ImageNet weights, or any backbone.

Fine-tuning keeps everything a network learned except its last layer, the
classifier head, which is sized for the old task's classes: the head is
drawn afresh for the new classes and the rest starts from the trained
values. This module is the one place that does it:

* :func:`head_name` finds the head (the last ``nn.Linear``);
* :func:`load_backbone` copies a state dict into a model, all but the head;
* :func:`freeze_backbone` stops everything but the head from learning;
* :func:`weights` and :func:`fetch` turn a torchvision weights name
  (``IMAGENET1K_V1``, ``DEFAULT``...) into a state dict, through torch's hub
  cache (``$TORCH_HOME/hub/checkpoints``), downloading only when it is not there;
* :func:`create` puts them together for ``cnnbook train --weights``.

ImageNet weights expect three colour channels normalised with ImageNet's
statistics, so grey images are repeated into R, G and B (the CLI and the
training example load the data that way with ``--weights``). A grey photo
looks like that to the pretrained first layer, and the weights need no
change; summing that layer's filters over the colour axis into a one-channel
layer would save a little arithmetic but leave a model that torchvision's
weights no longer fit.

The model is the registry's own twin of the torchvision architecture
(:data:`cnnbook.compat.TORCHVISION_TWINS`), not torchvision's object: its
checkpoints then reload by name, like any other run's, for
``cnnbook predict`` and ``--resume``.
"""

from __future__ import annotations

import http.client
import pickle
import urllib.error
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from cnnbook import compat, models
from cnnbook.errors import CheckpointError, ModelError

#: A state dict: tensor names to tensors.
_Tensors = Mapping[str, torch.Tensor]


def head_name(model: nn.Module) -> str:
    """The qualified name of ``model``'s classifier head: its last ``nn.Linear``.

    Every classifier of the book ends in one (``fc`` of a ResNet,
    ``classifier.6`` of a VGG); a model without a linear layer has no head
    to replace.
    """
    names = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        raise ModelError(f"{type(model).__name__} has no linear layer to serve as its head")
    return names[-1]


def _in_head(key: str, head: str) -> bool:
    return key.startswith(head + ".")


def load_backbone(model: nn.Module, state_dict: _Tensors) -> list[str]:
    """Copy every tensor of ``state_dict`` into ``model`` except the head's.

    Strict for the rest: a key missing on either side, or a shape that
    differs, raises :class:`CheckpointError`, since a backbone that loads
    only partly would train from a silently half-random start. Returns the
    head's keys, which keep ``model``'s own (fresh) values.
    """
    head = head_name(model)
    own = model.state_dict()
    body = {k: v for k, v in state_dict.items() if not _in_head(k, head)}
    wanted = [k for k in own if not _in_head(k, head)]
    missing = [k for k in wanted if k not in body]
    extra = [k for k in body if k not in own]
    if missing or extra:
        what = f"lack {missing[0]!r}" if missing else f"have {extra[0]!r}, unknown here"
        raise CheckpointError(f"the backbone weights do not fit: they {what}")
    for key in wanted:
        if body[key].shape != own[key].shape:
            raise CheckpointError(
                f"shape mismatch for {key!r}: the weights have "
                f"{tuple(body[key].shape)}, the model {tuple(own[key].shape)}"
            )
    result = model.load_state_dict(body, strict=False)
    return list(result.missing_keys)


def _keep_eval(module: nn.Module, args: Any) -> None:
    # A forward pre-hook, because fit() calls model.train() every epoch: it
    # would switch the frozen batch norms back to batch statistics.
    module.training = False


def freeze_backbone(model: nn.Module) -> int:
    """Let only the head learn; returns the number of frozen parameter tensors.

    Frozen means the backbone computes the same function throughout: its
    parameters get no gradient, and its batch-norm layers normalise with the
    running statistics they came with instead of the batch's (and so never
    update them), even while the rest of the model trains.
    """
    head = head_name(model)
    frozen = 0
    for name, p in model.named_parameters():
        if not _in_head(name, head):
            p.requires_grad_(False)
            frozen += 1
    for m in model.modules():  # the head is one linear layer: no batch norm in it
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
            m.register_forward_pre_hook(_keep_eval)
    return frozen


def twin(model_name: str) -> str:
    """The torchvision builder whose weights ``model_name`` takes, or a one-sentence error."""
    models.spec(model_name)  # an unknown name gets the registry's own sentence
    if model_name not in compat.TORCHVISION_TWINS:
        raise ModelError(
            f"model {model_name!r} has no torchvision weights; --weights works with: "
            + ", ".join(compat.TORCHVISION_TWINS)
        )
    return compat.TORCHVISION_TWINS[model_name]


def weights(model_name: str, name: str) -> Any:
    """torchvision's weights entry ``name`` (``IMAGENET1K_V1``, ``DEFAULT``...) for ``model_name``.

    Nothing is downloaded here, so a misspelt name fails at once.
    """
    from torchvision.models import get_model_weights

    enum = get_model_weights(twin(model_name))
    short = name.split(".")[-1]  # "ResNet18_Weights.IMAGENET1K_V1" works too
    if short not in enum.__members__:
        raise ModelError(
            f"unknown weights {name!r} for {model_name}; choose one of: "
            + ", ".join(enum.__members__)
        )
    return enum[short]


def cache_path(entry: Any) -> str:
    """Where torch's hub cache keeps (or will keep) the file of a weights ``entry``."""
    import os
    from urllib.parse import urlparse

    name = os.path.basename(urlparse(entry.url).path)
    return os.path.join(torch.hub.get_dir(), "checkpoints", name)


def fetch(entry: Any) -> dict[str, torch.Tensor]:
    """The state dict of a weights ``entry``: from the hub cache, or downloaded into it.

    Offline with no cached copy, or with an unreadable one, it raises
    :class:`CheckpointError` with one sentence that says where to put the file.
    """
    path = cache_path(entry)
    label = f"{type(entry).__name__}.{entry.name}"
    try:
        return entry.get_state_dict(progress=False, weights_only=True)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise CheckpointError(
            f"could not download {label} ({exc.__class__.__name__}): connect to the network "
            f"once, or copy the file from {entry.url} to {path}"
        ) from None
    except (RuntimeError, EOFError, pickle.UnpicklingError):
        raise CheckpointError(
            f"{path} is not a readable state dict; delete it to download {label} again"
        ) from None


def create(
    model_name: str,
    weights_name: str,
    num_classes: int,
    *,
    freeze: bool = False,
    image_size: int | None = None,
    state_dict: _Tensors | None = None,
) -> nn.Module:
    """``model_name`` with torchvision's ``weights_name`` loaded and a new head for ``num_classes``.

    The weights load strictly into the 1000-class model first (proof that
    they are this architecture), then all but the head move into a model
    built for ``num_classes``; its head keeps the registry's initialisation,
    so seed before calling for a reproducible head. ``image_size`` is the
    side of the images it will see (checked against the model's smallest);
    they must have three channels, as the weights do. ``state_dict`` skips
    :func:`fetch` (a caller that fetched early, to fail before loading data).
    """
    entry = weights(model_name, weights_name)
    source = fetch(entry) if state_dict is None else state_dict
    full = models.create(model_name)
    compat.load_torchvision_state_dict(full, source)
    model = models.create(model_name, num_classes, in_channels=3, image_size=image_size)
    load_backbone(model, full.state_dict())
    if freeze:
        freeze_backbone(model)
    return model
