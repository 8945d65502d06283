"""The book's figures, in one style: curves, confusion matrices, heat maps, images.

Every figure on a page goes through :func:`subplots` (or a function here
built on it), so all of them share one look:

* **size**: :data:`FULL_WIDTH` inches at 100 dpi is the width of the text
  column, so fonts of 10-11 pt show at 14-15 px; in a notebook figures are
  sent at twice that resolution ("retina") and stay sharp on any screen;
* **themes**: transparent backgrounds, text and axes in a mid grey and
  mid-tone colours, legible on the light and on the dark theme alike (no
  white slab in dark mode);
* **layout**: matplotlib's constrained layout, so a suptitle, a legend or a
  colour bar never overlaps the axes;
* **labels**: every axis says what it shows and in which unit; heat maps
  carry a colour bar that says what the colours mean.

Each function returns a matplotlib ``Figure`` (shown inline on a page) and,
given ``path``, also saves it as a PNG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

if TYPE_CHECKING:
    from cnnbook.engine.history import History

# What the plotting functions accept as class labels: a list, a tensor, an array.
Labels = Sequence[int] | torch.Tensor

#: Width of a full-width figure, in inches: 750 px at 100 dpi, the text column.
FULL_WIDTH = 7.5
#: Text, axes and grid: a grey with about 4:1 contrast on white and on the dark
#: theme. Just darker than middle grey, so that Jupyter, which judges a transparent
#: figure by its tick labels, does not put a dark slab behind it on a light page.
INK = "#787878"
#: Line and marker colours of middle lightness, so each reads on light and on dark.
PALETTE = ("#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#a855f7", "#06b6d4", "#ec4899")

STYLE: dict[Any, Any] = {
    "figure.dpi": 100,
    "figure.figsize": (FULL_WIDTH, 3.2),
    "figure.facecolor": "none",
    "figure.constrained_layout.use": True,
    "axes.facecolor": "none",
    "savefig.transparent": True,
    "savefig.dpi": 200,
    "font.size": 10.5,
    "axes.titlesize": 11,
    "axes.labelsize": 10.5,
    "figure.titlesize": 12,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.titlecolor": INK,
    "axes.edgecolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "grid.color": INK,
    "grid.alpha": 0.3,
    "axes.grid": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=PALETTE),
    "lines.linewidth": 2.0,
    "lines.markersize": 5,
    "legend.frameon": False,
    "image.cmap": "viridis",
}


def style() -> None:
    """Apply the book's style (idempotent; every function here calls it first).

    In a notebook it also asks the inline backend for double-resolution PNGs,
    which the page shows at their nominal size, so text stays sharp.
    """
    mpl.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # plain Python: no notebook to configure
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


def subplots(
    nrows: int = 1,
    ncols: int = 1,
    *,
    height: float = 3.2,
    width: float = FULL_WIDTH,
    **kwargs: Any,
) -> tuple[Figure, Any]:
    """``plt.subplots`` in the book's style, full width unless told otherwise."""
    style()
    return plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)


def _save(fig: Figure, path: str | PathLike[str] | None) -> Figure:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    return fig


def plot_history(
    history: History | Mapping[str, Any],
    path: str | PathLike[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Loss (left) and accuracy (right) per epoch, training and validation."""
    rows = history.epochs if hasattr(history, "epochs") else history["epochs"]
    epochs = [r["epoch"] for r in rows]
    fig, (ax_loss, ax_acc) = subplots(1, 2)
    for ax, key in ((ax_loss, "loss"), (ax_acc, "acc")):
        ax.plot(epochs, [r[f"train_{key}"] for r in rows], "o-", label="training")
        val = [r.get(f"val_{key}") for r in rows]
        if any(v is not None for v in val):
            ax.plot(epochs, val, "s-", label="validation")
        ax.set_xlabel("epoch")
        ax.legend()
    ax_loss.set_ylabel("loss (cross-entropy, nats)")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_ylim(0, 1)
    ax_acc.yaxis.set_major_formatter(PercentFormatter(1.0))
    if len(epochs) < 15:
        for ax in (ax_loss, ax_acc):
            ax.set_xticks(epochs)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


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
) -> Figure:
    """A confusion matrix as a heat map, each cell labelled with its count."""
    k = len(classes)
    m = confusion_matrix(y_true, y_pred, k)
    side = min(6.0, 2.4 + 0.45 * k)
    fig, ax = subplots(width=side + 1.2, height=side)
    image = ax.imshow(m.numpy(), cmap="Blues", vmin=0)
    ax.grid(False)
    for i in range(k):
        for j in range(k):
            v = int(m[i, j])
            dark_cell = v > m.max() / 2
            ax.text(j, i, str(v), ha="center", va="center", color="white" if dark_cell else "black")
    ax.set_xticks(range(k), classes, rotation=45 if max(map(len, classes)) > 3 else 0)
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    bar = fig.colorbar(image, ax=ax, label="images", shrink=0.85)
    bar.locator = MaxNLocator(integer=True)  # counts: no 0.25 of an image
    bar.update_ticks()
    acc = float(m.diag().sum()) / max(1, int(m.sum()))
    ax.set_title(title or f"accuracy {100 * acc:.1f}% on {int(m.sum())} images")
    return _save(fig, path)


def heatmaps(
    maps: Sequence[Any],
    titles: Sequence[str],
    label: str,
    *,
    ncols: int | None = None,
    cmap: str = "magma",
    title: str | None = None,
    path: str | PathLike[str] | None = None,
) -> Figure:
    """Several maps on one colour scale, with one colour bar saying what the colour is.

    One scale (from 0, or from the smallest value if any is negative, to the
    largest of all maps) makes brightness comparable across the panels;
    ``label`` names the quantity and its unit for the colour bar.
    """
    arrays = [np.asarray(m, dtype=float) for m in maps]
    if len(arrays) != len(titles):
        raise ValueError(f"{len(arrays)} maps but {len(titles)} titles")
    ncols = ncols or len(arrays)
    nrows = -(-len(arrays) // ncols)
    panel = min(2.6, (FULL_WIDTH - 1.2) / ncols)
    fig, axes = subplots(
        nrows, ncols, width=panel * ncols + 1.2, height=panel * nrows + 0.6, squeeze=False
    )
    low = min(0.0, *(a.min() for a in arrays))
    high = max(a.max() for a in arrays)
    shown = [
        ax.imshow(array, cmap=cmap, vmin=low, vmax=high)
        for ax, array in zip(axes.flat, arrays, strict=False)
    ]
    for ax, name in zip(axes.flat, titles, strict=False):
        ax.set_title(name)
    for ax in axes.flat:
        _bare(ax)
    for ax in axes.flat[len(arrays) :]:
        ax.set_visible(False)
    fig.colorbar(shown[0], ax=axes, label=label, shrink=0.9)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def images(
    pictures: Sequence[Any],
    titles: Sequence[str],
    *,
    height: float = 2.8,
    width: float = FULL_WIDTH,
    gray: bool = False,
    path: str | PathLike[str] | None = None,
) -> Figure:
    """Photos or patches side by side, titled, without axes (pixels have no unit)."""
    fig, axes = subplots(1, len(pictures), width=width, height=height, squeeze=False)
    for ax, picture, name in zip(axes.flat, pictures, titles, strict=True):
        ax.imshow(picture, cmap="gray" if gray else None)
        ax.set_title(name)
        _bare(ax)
    return _save(fig, path)


def _bare(ax: Axes) -> None:
    """An image panel: no ticks, no grid, no frame."""
    ax.grid(False)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
