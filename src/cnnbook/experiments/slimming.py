"""Slimming VGG-16: smaller heads and thinner convolutions, measured.

The claim under test: replacing VGG-16's 25088-4096-4096-K head by
25088-1024-256-K cuts the parameters from 134,272,835 to 40,668,995 (for
K = 3) "with no loss of accuracy". For each variant (a head and a width
multiplier) this module reports

* parameters and multiply-accumulates of the full-size network at 224x224
  (exact, from the model itself);
* parameters, MACs and CPU latency of the network actually trained here,
  which is ``base_width`` times thinner and sees ``image_size`` inputs;
* validation accuracy after a fixed training budget, for several seeds.

The book's page runs a small configuration on the CPU that builds it;
``examples/slimming_experiment.py`` runs the same code at any scale.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from cnnbook import data, engine, models
from cnnbook.analysis import complexity
from cnnbook.engine.loaders import dataset_length
from cnnbook.models import vgg_variants  # noqa: F401  (registers vgg16_slim)
from cnnbook.models.vgg import VGG

#: (head, width multiplier) pairs compared by default.
DEFAULT_VARIANTS: tuple[tuple[str, float], ...] = (
    ("full", 1.0),
    ("slim", 1.0),
    ("gap", 1.0),
    ("slim", 0.5),
)


def uninitialised(name: str, **kwargs: Any) -> nn.Module:
    """A registered model with allocated but unset weights, in eval mode.

    Counting MACs or timing a forward pass does not depend on the weights'
    values, and skipping the random initialisation of a 138M-parameter
    model saves seconds. The memory is zeroed so no stray NaN or denormal
    value can slow the arithmetic down.
    """
    with torch.device("meta"):
        model = models.create(name, init_weights=False, **kwargs)
    model = model.to_empty(device="cpu")
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            t.zero_()
    return model.eval()


@dataclass
class Config:
    """One run of the experiment (defaults: the small CPU configuration of the book's page)."""

    data: str = "textures"
    image_size: int = 32
    base_width: float = 1 / 16
    batch_norm: bool = True
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    subset: int | None = None
    download: bool = False
    device: str = "cpu"
    latency_repeats: int = 3
    full_scale_macs: bool = True
    threads: int | None = 1  # CPU threads for training and timing; None: torch's default


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Use ``n`` intra-op CPU threads inside the block, then restore the previous setting.

    The small networks trained here gain little from a second thread, and on
    a machine busy with other work, threads that wait for each other at every
    layer can make a forward pass a hundred times slower; one thread cannot
    wait for another.
    """
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def variant_name(head: str, width: float) -> str:
    return f"{head} head, width x{width:g}"


def full_scale_costs(
    head: str, width: float, num_classes: int, macs: bool = True, _trunk_cache: dict | None = None
) -> dict:
    """Parameters (and MACs at 224x224) of the full-size variant with 3-channel input.

    The MACs are counted in two parts, trunk (convolutions and pools) and
    head, because the trunk is the same for every head of one width: its
    count is computed once per width and reused (``_trunk_cache``).
    """
    model = uninitialised("vgg16_slim", num_classes=num_classes, head=head, width_mult=width)
    out = {"params_224": complexity.count_params(model)}
    if macs:
        # The trunk/head split below relies on torchvision's VGG layout.
        if not isinstance(model, VGG) or not isinstance(model.classifier[0], nn.Linear):
            raise TypeError(
                f"vgg16_slim should build a VGG with a linear head, got {type(model).__name__}"
            )
        cache = {} if _trunk_cache is None else _trunk_cache
        if width not in cache:
            trunk = nn.Sequential(model.features, model.avgpool)
            cache[width] = complexity.count_macs(trunk, (1, 3, 224, 224))
        head_in = model.classifier[0].in_features
        out["macs_224"] = cache[width] + complexity.count_macs(model.classifier, (1, head_in))
    return out


def run(
    config: Config | None = None,
    variants: Sequence[tuple[str, float]] = DEFAULT_VARIANTS,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Run every variant for every seed; returns plain data (config, rows, per-seed results).

    ``log``, if given, is called with one line of text after each training run.
    """
    config = config or Config()
    trunk_macs: dict = {}
    bundle = data.load(
        config.data,
        seed=0,
        subset=config.subset,
        image_size=config.image_size,
        download=config.download,
    )
    k, c, size = len(bundle.classes), bundle.in_channels, bundle.image_size
    rows = []
    for head, width in variants:
        row = {"variant": variant_name(head, width), "head": head, "width": width}
        row.update(full_scale_costs(head, width, k, config.full_scale_macs, trunk_macs))
        kwargs: dict[str, Any] = dict(
            num_classes=k,
            head=head,
            width_mult=width * config.base_width,
            batch_norm=config.batch_norm,
            in_channels=c,
        )
        with cpu_threads(config.threads):
            probe = uninitialised("vgg16_slim", **kwargs)
            row["params"] = complexity.count_params(probe)
            row["macs"] = complexity.count_macs(probe, (1, c, size, size))
            lat = complexity.measure_latency(
                probe, (1, c, size, size), repeats=config.latency_repeats
            )
            row["latency_ms"] = 1000 * lat["min_s"]
            del probe
            accs, seconds = [], []
            for seed in config.seeds:
                engine.seed_everything(seed)
                model = models.create("vgg16_slim", **kwargs)
                t0 = time.perf_counter()
                history = engine.fit(
                    model, bundle.train, bundle.val, epochs=10**6, max_steps=config.steps,
                    batch_size=config.batch_size, lr=config.lr, optimizer=config.optimizer,
                    seed=seed, device=config.device, log=False, progress=False,
                )  # fmt: skip
                seconds.append(time.perf_counter() - t0)
                accs.append(history.epochs[-1]["val_acc"])
                if log:
                    log(
                        f"{row['variant']}, seed {seed}: val acc {accs[-1]:.3f} ({seconds[-1]:.1f} s)"
                    )
        row["val_acc"] = accs
        row["acc_mean"] = statistics.fmean(accs)
        row["acc_std"] = statistics.stdev(accs) if len(accs) > 1 else 0.0
        row["train_s"] = statistics.fmean(seconds)
        rows.append(row)
    return {
        "config": asdict(config),
        "data": {
            "classes": bundle.classes,
            "train": dataset_length(bundle.train, "the training set"),
            "val": dataset_length(bundle.val, "the validation set"),
            "image_size": size,
            "in_channels": c,
        },
        "rows": rows,
    }
