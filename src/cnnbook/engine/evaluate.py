"""``evaluate``, ``predictions`` and ``predict``: using a model without training it.

Each runs the model inside :func:`~cnnbook.engine.eval_mode` (dropout off,
batch norm on its running statistics) and ``torch.no_grad()`` (no autograd
graph). Without the first the score is noisy and wrong; without the second
it is right but slow and memory-hungry. The caller's mode is restored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import BatchSampler, Dataset

from cnnbook.data import DataError
from cnnbook.engine.device import autocast_dtype, resolve_device
from cnnbook.engine.loaders import autocast, dataset_length, make_loader
from cnnbook.modes import eval_mode


@torch.no_grad()
def evaluate_loader(model, loader, device, dtype, channels_last, loss_fn) -> torch.Tensor:
    """Sum of loss, number correct and count over a loader, as one tensor on ``device``.

    Sums stay on the device (no ``.item()`` per batch, which would make a GPU wait).
    """
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    for x, y in loader:
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device, dtype):
            out = model(x)
        loss = loss_fn(out.float(), y)
        totals[0] += loss.double() * len(y)
        totals[1] += (out.argmax(1) == y).sum()
        totals[2] += len(y)
    return totals


def _in_order(dataset: Dataset, batch_size: int, device: torch.device):
    return make_loader(
        dataset, BatchSampler(range(dataset_length(dataset)), batch_size, False), device, 0
    )


def evaluate(
    model: nn.Module,
    dataset: Dataset,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    amp: bool | None = False,
) -> dict:
    """Mean cross-entropy and accuracy of ``model`` on ``dataset``: ``{"loss", "acc", "n"}``."""
    dev = resolve_device(device)
    with eval_mode(model.to(dev)):
        t = evaluate_loader(
            model,
            _in_order(dataset, batch_size, dev),
            dev,
            autocast_dtype(dev, amp),
            False,
            nn.CrossEntropyLoss(),
        )
    n = int(t[2])
    return {"loss": float(t[0] / n), "acc": float(t[1] / n), "n": n}


@torch.no_grad()
def predictions(
    model: nn.Module, dataset: Dataset, batch_size: int = 256, device: str | torch.device = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """True and predicted class of every item, in order (for a confusion matrix)."""
    dev = resolve_device(device)
    ys, ps = [], []
    with eval_mode(model.to(dev)):
        for x, y in _in_order(dataset, batch_size, dev):
            ps.append(model(x.to(dev)).argmax(1).cpu())
            ys.append(torch.as_tensor(y))
    return torch.cat(ys), torch.cat(ps)


def _open_image(image):
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, Image.Image):
        return image
    path = Path(image)
    if not path.is_file():
        raise DataError(f"no image file at {path}")
    try:
        with Image.open(path) as im:
            return im.convert("RGB") if im.mode not in ("L", "RGB") else im.copy()
    except (UnidentifiedImageError, OSError):
        raise DataError(f"{path} is not an image file that PIL can read") from None


@torch.no_grad()
def predict(
    model: nn.Module,
    image,
    transform: Callable,
    classes: Sequence[str],
    device: str | torch.device = "cpu",
    top_k: int | None = None,
):
    """Classify one image (a path or a PIL image) with the evaluation transform.

    Returns ``(class_name, probability)``, or with ``top_k`` a list of the
    ``k`` most likely ``(class_name, probability)`` pairs.
    """
    image = _open_image(image)
    dev = resolve_device(device)
    with eval_mode(model.to(dev)):
        probs = model(transform(image).unsqueeze(0).to(dev)).float().softmax(1)[0].cpu()
    if top_k is None:
        i = int(probs.argmax())
        return classes[int(i)], float(probs[i])
    values, idx = probs.topk(min(top_k, len(classes)))
    return [(classes[int(i)], float(v)) for v, i in zip(values, idx, strict=True)]
