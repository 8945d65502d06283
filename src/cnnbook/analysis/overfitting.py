"""Reading a training history: where validation peaked, and whether the run over-fitted.

A history is the list of per-epoch records that :func:`cnnbook.engine.fit`
returns (``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``). The
sentences a page prints are written here from the numbers, so they stay
true whatever a rebuild measures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Validation loss this much above its lowest value at the end of training
#: (a relative margin) counts as rising: below it, epoch-to-epoch noise.
RISE = 0.2


@dataclass(frozen=True)
class Reading:
    """The landmarks of one history (epochs counted from 1)."""

    epochs: int
    best_acc_epoch: int  # the first epoch with the highest validation accuracy
    best_acc: float
    last_acc: float
    low_loss_epoch: int  # the epoch with the lowest validation loss
    low_loss: float
    last_val_loss: float
    train_loss_at_low: float  # the training loss of the epoch with the lowest validation loss
    last_train_loss: float
    last_train_acc: float
    val_above_train: int  # epochs whose validation accuracy beat the training accuracy

    @property
    def overfits(self) -> bool:
        """Validation loss ended clearly above its lowest value while training loss fell on."""
        rose = self.last_val_loss > (1 + RISE) * self.low_loss
        return rose and self.last_train_loss < self.train_loss_at_low


def read(history: Sequence[dict]) -> Reading:
    """The landmarks of a history with validation scores after every epoch."""
    if not history or any(r.get("val_acc") is None for r in history):
        raise ValueError("the history needs a validation score after every epoch")
    acc = [r["val_acc"] for r in history]
    loss = [r["val_loss"] for r in history]
    best = acc.index(max(acc))
    low = loss.index(min(loss))
    last = history[-1]
    return Reading(
        epochs=len(history),
        best_acc_epoch=best + 1,
        best_acc=acc[best],
        last_acc=acc[-1],
        low_loss_epoch=low + 1,
        low_loss=loss[low],
        last_val_loss=loss[-1],
        train_loss_at_low=history[low]["train_loss"],
        last_train_loss=last["train_loss"],
        last_train_acc=last["train_acc"],
        val_above_train=sum(r["val_acc"] > r["train_acc"] for r in history),
    )


def sentences(r: Reading) -> list[str]:
    """What the curves show, in sentences written from the numbers."""
    fit = (
        f"By epoch {r.epochs} the training loss was {r.last_train_loss:.3f} and the training "
        f"accuracy {r.last_train_acc:.1%}; the validation loss was "
        f"{r.last_val_loss / r.last_train_loss:.1f} times the training loss."
    )
    if r.overfits:
        loss = (
            f"The validation loss was lowest at epoch {r.low_loss_epoch} ({r.low_loss:.3f}) "
            f"and ended at {r.last_val_loss:.3f}, while the training loss fell on from "
            f"{r.train_loss_at_low:.3f}: after epoch {r.low_loss_epoch} the network fitted its "
            "training images better without fitting new ones better. That is over-fitting."
        )
    else:
        loss = (
            f"The validation loss ended at {r.last_val_loss:.3f}, within {RISE:.0%} of its "
            f"lowest value ({r.low_loss:.3f}, epoch {r.low_loss_epoch}): this run shows no "
            "clear over-fitting."
        )
    if r.best_acc_epoch < r.epochs:
        acc = (
            f"Validation accuracy peaked at epoch {r.best_acc_epoch} ({r.best_acc:.1%}) and "
            f"ended at {r.last_acc:.1%}, so the best epoch is not the last."
        )
    else:
        acc = f"Validation accuracy was highest at the last epoch ({r.last_acc:.1%})."
    return [fit, loss, acc]
