"""Figures for training runs: learning curves and confusion matrices.

Each function returns a matplotlib ``Figure`` (shown inline on a page) and,
given ``path``, also saves it as a PNG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from cnnbook.engine.history import History

# What the plotting functions accept as class labels: a list, a tensor, an array.
Labels = Sequence[int] | torch.Tensor


def _save(fig: Figure, path: str | PathLike[str] | None, dpi: int) -> Figure:
    if path is not None:
        from pathlib import Path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return fig


def plot_history(
    history: History | Mapping[str, Any],
    path: str | PathLike[str] | None = None,
    title: str | None = None,
    dpi: int = 90,
) -> Figure:
    """Loss (left) and accuracy (right) per epoch, training and validation."""
    rows = history.epochs if hasattr(history, "epochs") else history["epochs"]
    epochs = [r["epoch"] for r in rows]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(epochs, [r[f"train_{key}"] for r in rows], "o-", label="training")
        val = [r.get(f"val_{key}") for r in rows]
        if any(v is not None for v in val):
            ax.plot(epochs, val, "s-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    ax_acc.set_ylim(0, 1)
    if len(epochs) < 15:
        for ax in (ax_loss, ax_acc):
            ax.set_xticks(epochs)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path, dpi)


def confusion_matrix(y_true: Labels, y_pred: Labels, num_classes: int) -> torch.Tensor:
    """Counts ``m[i, j]`` of items of true class ``i`` predicted as ``j``."""
    y_true = torch.as_tensor(y_true).long()
    y_pred = torch.as_tensor(y_pred).long()
    return torch.bincount(y_true * num_classes + y_pred, minlength=num_classes**2).view(
        num_classes, num_classes
    )


def plot_confusion(
    y_true: Labels,
    y_pred: Labels,
    classes: Sequence[str],
    path: str | PathLike[str] | None = None,
    title: str | None = None,
    dpi: int = 90,
) -> Figure:
    """A confusion matrix as a heat map, each cell labelled with its count."""
    k = len(classes)
    m = confusion_matrix(y_true, y_pred, k)
    size = min(7.0, 1.6 + 0.45 * k)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(m.numpy(), cmap="Blues")
    for i in range(k):
        for j in range(k):
            v = int(m[i, j])
            ax.text(j, i, str(v), ha="center", va="center",
                    color="white" if v > m.max() / 2 else "black", fontsize=8)  # fmt: skip
    ax.set_xticks(range(k), classes, rotation=45 if max(map(len, classes)) > 3 else 0)
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = float(m.diag().sum()) / max(1, int(m.sum()))
    ax.set_title(title or f"accuracy {100 * acc:.1f}% on {int(m.sum())} images")
    fig.tight_layout()
    return _save(fig, path, dpi)
