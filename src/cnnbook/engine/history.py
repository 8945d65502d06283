"""The record of a training run: one row of metrics per epoch."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The columns every epoch row has, in display order. Losses and accuracies
#: are means over the epoch's images (all processes under torchrun); ``lr``
#: is the rate of the epoch's last step; ``images_per_s`` counts training only.
COLUMNS = (
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "lr",
    "seconds",
    "images_per_s",
)

#: Columns that depend on the machine's speed, not on the computation.
TIMING_COLUMNS = ("seconds", "images_per_s")


@dataclass
class History:
    """Per-epoch metrics (plain floats, so a history survives JSON and checkpoints)."""

    epochs: list[dict] = field(default_factory=list)

    def append(self, row: dict) -> None:
        self.epochs.append({k: row[k] for k in COLUMNS if k in row})

    def __len__(self) -> int:
        return len(self.epochs)

    def column(self, name: str) -> list:
        return [row.get(name) for row in self.epochs]

    @property
    def best_epoch(self) -> int | None:
        """Epoch (1-based) with the highest validation accuracy; the first one on ties."""
        best = None
        for row in self.epochs:
            acc = row.get("val_acc")
            if acc is not None and (best is None or acc > best["val_acc"]):
                best = row
        return None if best is None else best["epoch"]

    @property
    def best_val_acc(self) -> float | None:
        accs = [a for a in self.column("val_acc") if a is not None]
        return max(accs) if accs else None

    @property
    def last(self) -> dict | None:
        return self.epochs[-1] if self.epochs else None

    def without_timing(self) -> list[dict]:
        """The rows minus seconds and images/s: what two identical runs must share."""
        return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in self.epochs]

    def to_dict(self) -> dict:
        return {"epochs": [dict(row) for row in self.epochs]}

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls([dict(row) for row in d.get("epochs", [])])

    def format_row(self, row: dict, total_epochs: int | None = None) -> str:
        """One log line, e.g. ``epoch  3/10  train loss 0.412 acc 87.1%  val ...``."""
        width = len(str(total_epochs)) if total_epochs else 2
        of = f"/{total_epochs}" if total_epochs else ""
        parts = [
            f"epoch {row['epoch']:>{width}}{of}",
            f"train loss {row['train_loss']:.4f} acc {100 * row['train_acc']:5.1f}%",
        ]
        if row.get("val_loss") is not None:
            parts.append(f"val loss {row['val_loss']:.4f} acc {100 * row['val_acc']:5.1f}%")
        parts.append(f"lr {row['lr']:.2e}")
        parts.append(f"{row['seconds']:.1f}s ({row['images_per_s']:,.0f} img/s)")
        return "  ".join(parts)
