"""C3 with and without residual bottlenecks: cost and a small trained comparison.

The switch ``shortcut`` of YOLOv5's C3 adds or removes the ``x + ...`` in
every bottleneck of its chain. It costs no parameters and almost no
arithmetic (one addition per element), so the question is only whether it
helps training. :func:`costs` counts, :func:`run` trains the variants with
several seeds on shipped data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace

from cnnbook import data, models
from cnnbook.analysis.complexity import count_macs, count_params
from cnnbook.engine.loaders import dataset_length
from cnnbook.experiments import recording
from cnnbook.experiments.common import count_above, final_values, group_runs, mean, train_one
from cnnbook.models import c3  # noqa: F401  (registers c3_net)

#: (label, model options) of the variants compared by default: the chain
#: depth of every stage's C3, with the residual additions on and off.
SETTINGS: tuple[tuple[str, dict], ...] = (
    ("C3 x1, shortcut", {"depths": (1, 1, 1), "shortcut": True}),
    ("C3 x1, no shortcut", {"depths": (1, 1, 1), "shortcut": False}),
    ("C3 x4, shortcut", {"depths": (4, 4, 4), "shortcut": True}),
    ("C3 x4, no shortcut", {"depths": (4, 4, 4), "shortcut": False}),
)


@dataclass(frozen=True)
class Setup:
    """The scale of the comparison (defaults: the page's live check, seconds on a CPU)."""

    data: str = "mnist"
    image_size: int = 16
    subset: int | None = 512  # training images (None: all)
    batch_size: int = 64
    epochs: int = 5
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    decay_at: tuple[float, ...] = ()  # a constant rate
    val_curve: bool = False  # scored once, at the end


#: The recorded run's scale, fixed before it ran: all 4,000 shipped MNIST
#: training digits at 16x16, SGD 0.05 with momentum 0.9 and weight decay 5e-4
#: (YOLOv5's), batch 64, 20 epochs (1,260 iterations) with the rate divided by
#: 10 at half and three quarters of training, validation scored every epoch.
#: Three seeds of the four variants take about 20 CPU minutes.
RECORDED = Setup(subset=None, epochs=20, decay_at=(0.5, 0.75), val_curve=True)

#: Every code path of the recorded run in seconds (``--dry-run``).
DRY_RUN = replace(RECORDED, subset=64, batch_size=32, epochs=1)


def costs(
    variants: Sequence[tuple[str, dict]] = SETTINGS,
    num_classes: int = 10,
    in_channels: int = 1,
    image_size: int = 16,
) -> list[dict]:
    """Parameters and MACs of each variant for one image."""
    rows = []
    for label, options in variants:
        model = models.create("c3_net", num_classes=num_classes, in_channels=in_channels, **options)
        rows.append(
            {
                "variant": label,
                "params": count_params(model),
                "macs": count_macs(model, (1, in_channels, image_size, image_size)),
            }
        )
    return rows


def run(
    variants: Sequence[tuple[str, dict]] = SETTINGS,
    seeds: Sequence[int] = (0, 1, 2),
    setup: Setup = Setup(),
) -> dict:
    """Train every variant with every seed; returns ``{"setup": ..., "runs": [...]}``."""
    bundle = data.load(setup.data, seed=0, subset=setup.subset, image_size=setup.image_size)
    runs = []
    for seed in seeds:
        for label, options in variants:
            trained = train_one("c3_net", bundle, setup, seed, **options)
            runs.append(
                {
                    "variant": label,
                    "seed": seed,
                    "train_loss": trained["train_loss"],
                    "val_acc": trained["val_acc"],
                }
            )
    return {"setup": asdict(setup), "runs": runs}


def aggregate(result: dict) -> list[dict]:
    """Per variant: mean final training loss and validation accuracy, with their spread."""
    rows = []
    for label, runs in group_runs(result["runs"], "variant").items():
        accs = [r["val_acc"] for r in runs]
        rows.append(
            {
                "variant": label,
                "seeds": len(runs),
                "final_train_loss": mean(final_values(runs)),
                "val_acc": mean(accs),
                "val_acc_min": min(accs),
                "val_acc_max": max(accs),
            }
        )
    return rows


def read_run(result: dict) -> list[str]:
    """The reading of a run in sentences, written from its numbers (the page prints it).

    For each chain depth of :data:`SETTINGS`: did the shortcut lower the
    final training loss, on average and seed by seed, and what it did to
    validation accuracy; then how the advantage changes with depth.
    """
    runs = group_runs(result["runs"], "variant")
    by = {row["variant"]: row for row in aggregate(result)}
    lines, gaps = [], []
    for depth in ("x1", "x4"):
        on_label, off_label = f"C3 {depth}, shortcut", f"C3 {depth}, no shortcut"
        on, off = by[on_label], by[off_label]
        wins = count_above(final_values(runs[off_label]), final_values(runs[on_label]))
        a, b = on["final_train_loss"], off["final_train_loss"]
        better = "a lower" if a < b else "a higher" if a > b else "the same"
        lines.append(
            f"With {depth[1:]} bottleneck(s) per C3, the shortcut gave {better} mean final "
            f"training loss ({on['final_train_loss']:.3f} vs {off['final_train_loss']:.3f}; "
            f"lower in {wins} of {on['seeds']} seeds) and {100 * on['val_acc']:.1f}% vs "
            f"{100 * off['val_acc']:.1f}% mean validation accuracy."
        )
        gaps.append(off["final_train_loss"] - on["final_train_loss"])
    lines.append(
        f"The training-loss advantage of the shortcut is {gaps[0]:+.3f} with a one-bottleneck "
        f"chain and {gaps[1]:+.3f} with a four-bottleneck chain (positive means the shortcut "
        "helped)."
    )
    return lines


# --------------------------------------------------------------------------- recorded


def load_data(setup: Setup) -> data.DataBundle:
    """The (shipped, offline) dataset the setup names, at its size."""
    return data.load(setup.data, seed=0, subset=setup.subset, image_size=setup.image_size)


def setup_from(stored: dict) -> Setup:
    """The :class:`Setup` a recorded file stores (lists back to tuples)."""
    values = {f.name: stored[f.name] for f in fields(Setup)}
    values["decay_at"] = tuple(values["decay_at"])
    return Setup(**values)


def _job(label: str, seed: int, setup: Setup, device: str, threads: int) -> recording.Job:
    options = dict(SETTINGS)[label]
    return recording.Job(
        "c3_net", seed, setup, load_data, options, {"variant": label}, device, threads
    )


def record(
    seeds: Sequence[int] = (0, 1, 2), device: str = "cpu", jobs: int = 1, setup: Setup = RECORDED
) -> dict:
    """Every variant of :data:`SETTINGS` with every seed at ``setup``'s scale: the file's fields."""
    threads = recording.threads_per_job(jobs)
    work = [_job(label, seed, setup, device, threads) for seed in seeds for label, _ in SETTINGS]
    steps = -(-dataset_length(load_data(setup).train, "the training set") // setup.batch_size)
    return {"setup": asdict(setup), "steps_per_epoch": steps, **recording.record(work, jobs)}


def make(seeds: tuple[int, ...], device: str, jobs: int, dry_run: bool) -> dict:
    """What ``cnnbook results record c3`` stores (at :data:`DRY_RUN`'s scale if asked)."""
    return record(seeds, device, jobs, DRY_RUN if dry_run else RECORDED)


def recorded_setup() -> dict:
    """The setup a stored ``c3`` result must have (today's :data:`RECORDED`)."""
    return asdict(RECORDED)


def replay(result: dict) -> dict:
    """The first row's first epoch again, on the CPU (see :func:`recording.replay`)."""
    first = result["rows"][0]
    job = _job(
        first["variant"], first["seed"], setup_from(result["setup"]), "cpu", first["threads"]
    )
    return recording.replay(job, result["steps_per_epoch"])
