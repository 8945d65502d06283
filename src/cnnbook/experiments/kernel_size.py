"""Why 3x3: the arithmetic, and a controlled experiment on kernel choice.

Two parts:

* :func:`arithmetic` and :func:`general_formula`: parameters, MACs and
  non-linearities of ``n`` stacked 3x3 convolutions against the single
  ``(2n+1) x (2n+1)`` convolution with the same receptive field, C -> C
  channels, same padding. These are closed forms; the tests check them
  against real ``nn.Conv2d`` layers counted by torchinfo.
* :func:`run`: train the networks of :mod:`cnnbook.models.kernel_nets`
  (two 3x3 per stage, one 5x5 per stage, and the 5x5 one narrowed to the
  3x3 one's parameter count) with several seeds on the same data with the
  same recipe, and report accuracy (mean and spread), parameters, MACs,
  time per epoch, and the effective receptive field of the first stage
  before and after training.

The VGG paper (Simonyan and Zisserman, 2015, section 4.1) made the same
comparison at ImageNet scale: replacing each pair of 3x3 layers of its net
B by one 5x5 layer raised the top-1 error by 7%. That figure is theirs;
this module measures only what it runs.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from cnnbook.analysis.complexity import count_macs, count_params
from cnnbook.analysis.erf import effective_receptive_field

if TYPE_CHECKING:
    from cnnbook.data import DataBundle
    from cnnbook.models.kernel_nets import KernelNet

#: Where a run's progress lines go (``None``: nowhere).
Log = Callable[[str], None] | None

#: The variants compared, in display order: label -> registered model name.
NETWORKS: dict[str, str] = {
    "2 x 3x3": "kernelnet_3x3",
    "1 x 5x5": "kernelnet_5x5",
    "1 x 5x5, matched params": "kernelnet_5x5_matched",
}

#: Top-1 error increase the VGG paper reports for net B with 5x5 instead of pairs of 3x3.
PAPER_TOP1_ERROR_INCREASE = "7%"


# --------------------------------------------------------------------------- arithmetic


def stack_costs(n: int, channels: int, size: int) -> dict:
    """``n`` stacked 3x3 convolutions against one ``(2n+1)``-wide convolution (C -> C, no bias).

    Returns receptive field, weights, MACs (for a ``size`` x ``size`` map)
    and ReLUs of both, plus the ratios small/large.
    """
    if n < 1 or channels < 1 or size < 1:
        raise ValueError("n, channels and size must be positive")
    k = 2 * n + 1
    small_params = n * 9 * channels * channels
    large_params = k * k * channels * channels
    pixels = size * size
    return {
        "n": n,
        "channels": channels,
        "size": size,
        "receptive_field": k,
        "small": f"{n} x (3x3)",
        "large": f"1 x ({k}x{k})",
        "small_params": small_params,
        "large_params": large_params,
        "small_macs": small_params * pixels,
        "large_macs": large_params * pixels,
        "small_relus": n,
        "large_relus": 1,
        "param_ratio": small_params / large_params,
    }


def arithmetic(
    channels: Sequence[int] = (64, 128, 256, 512), size: int = 56, depths: Sequence[int] = (2, 3)
) -> list[dict]:
    """:func:`stack_costs` for every depth and channel count (VGG's widths, 56x56 maps)."""
    return [stack_costs(n, c, size) for n in depths for c in channels]


def general_formula(n: int) -> dict:
    """The closed forms for ``n`` stacked 3x3 against one ``(2n+1)x(2n+1)``, as numbers and text."""
    k = 2 * n + 1
    return {
        "n": n,
        "receptive_field": k,
        "small_coeff": 9 * n,  # weights = 9 n C^2
        "large_coeff": k * k,  # weights = (2n+1)^2 C^2
        "ratio": 9 * n / (k * k),
        "text": f"{n} x (3x3): {9 * n} C^2 weights, {n} ReLUs; 1 x ({k}x{k}): {k * k} C^2 weights, 1 ReLU",
    }


# --------------------------------------------------------------------------- experiment


@dataclass
class Config:
    """Everything that defines one comparison (stored beside its results).

    The defaults are the CPU preset on texture patches, sized so that three
    variants times three seeds train in about half a minute on one core
    (the "Why 3x3" page runs it at build time).
    """

    data: str = "textures"
    seeds: tuple[int, ...] = (0, 1, 2)
    variants: tuple[str, ...] = tuple(NETWORKS)
    widths: tuple[int, ...] = (8, 16, 32, 32)
    batch_norm: bool = False
    epochs: int = 5
    batch_size: int = 128
    lr: float = 3e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    scheduler: str = "cosine"
    subset: int | None = 4000
    patch: int = 16
    device: str = "cpu"
    amp: bool | None = None
    download: bool = False
    erf_images: int = 64
    # Networks this small gain little from several CPU threads and lose a
    # lot when other processes compete for the cores, so the CPU preset
    # uses one; None keeps torch's setting.
    threads: int | None = 1
    data_options: dict = field(default_factory=dict)


#: ``--data cifar10``: VGG net B's five stages (64 ... 512, 512) on 32x32
#: images, with batch norm and the usual CIFAR recipe, all 50,000 images.
CIFAR10 = Config(
    data="cifar10",
    widths=(64, 128, 256, 512, 512),
    batch_norm=True,
    epochs=30,
    batch_size=128,
    lr=0.05,
    optimizer="sgd",
    weight_decay=5e-4,
    subset=None,
    threads=None,
)


def preset(data: str) -> Config:
    """The default configuration for ``data`` (``textures``, ``cifar10``, or any other name)."""
    if data == "cifar10":
        return Config(**asdict(CIFAR10))
    return Config(data=data)


def load_data(cfg: Config) -> DataBundle:
    """The :class:`cnnbook.data.DataBundle` for a configuration."""
    from cnnbook import data as data_mod

    options = dict(cfg.data_options)
    if cfg.data == "textures":
        options.setdefault("patch", cfg.patch)
    if cfg.data == "cifar10":
        options.setdefault("download", cfg.download)
    return data_mod.load(cfg.data, subset=cfg.subset, **options)


def _first_stage_conv(model: KernelNet) -> str:
    """Name of the last convolution of the first stage (the unit whose ERF is drawn)."""
    stage = model.features[0]
    convs = [name for name, m in stage.named_children() if isinstance(m, torch.nn.Conv2d)]
    return f"features.0.{convs[-1]}"


def _mean_map(maps: list[torch.Tensor]) -> list[list[float]]:
    mean = torch.stack(maps).mean(0)
    return (mean / mean.sum()).tolist()


def run(cfg: Config | None = None, bundle: DataBundle | None = None, log: Log = print) -> dict:
    """Train every variant with every seed; return plain data (JSON-ready).

    ``bundle`` reuses already loaded data; ``log`` receives one line per run
    (pass ``None`` for silence). The result holds ``config``, one entry per
    run in ``runs``, a ``summary`` per variant, and ``erf`` maps (first
    stage, mean over seeds, at initialisation and after training).
    """
    from cnnbook import engine

    cfg = cfg or Config()
    unknown = [v for v in cfg.variants if v not in NETWORKS]
    if unknown:
        raise ValueError(f"unknown variant {unknown[0]!r}; choose from: {', '.join(NETWORKS)}")
    if not cfg.seeds:
        raise ValueError("give at least one seed")
    engine.resolve_device(cfg.device)  # a missing GPU is reported before any data loads
    bundle = bundle if bundle is not None else load_data(cfg)
    threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(cfg, bundle, log)
    finally:
        torch.set_num_threads(threads)


def _run(cfg: Config, bundle: DataBundle, log: Log) -> dict:
    from cnnbook import engine, models
    from cnnbook.engine.loaders import dataset_length
    from cnnbook.models.kernel_nets import KernelNet

    c, s = bundle.in_channels, bundle.image_size
    n_train = dataset_length(bundle.train, "the training set")
    n_val = dataset_length(bundle.val, "the validation set")
    erf_inputs = torch.stack([bundle.val[i][0] for i in range(min(cfg.erf_images, n_val))])
    runs, erf = [], {}
    for label in cfg.variants:
        name = NETWORKS[label]
        kwargs: dict[str, Any] = {
            "num_classes": len(bundle.classes),
            "in_channels": c,
            "widths": cfg.widths,
            "batch_norm": cfg.batch_norm,
        }
        init_maps, trained_maps = [], []
        for seed in cfg.seeds:
            engine.seed_everything(seed)
            model = models.create(name, **kwargs)
            if not isinstance(model, KernelNet):  # NETWORKS names KernelNet builders only
                raise TypeError(f"{name} should build a KernelNet, got {type(model).__name__}")
            layer = _first_stage_conv(model)
            init_maps.append(effective_receptive_field(model, erf_inputs, layer=layer))
            history = engine.fit(
                model, bundle.train, bundle.val, epochs=cfg.epochs, batch_size=cfg.batch_size,
                lr=cfg.lr, optimizer=cfg.optimizer, weight_decay=cfg.weight_decay,
                scheduler=cfg.scheduler, seed=seed, device=cfg.device, amp=cfg.amp, log=False,
            )  # fmt: skip
            model.cpu().float()
            trained_maps.append(effective_receptive_field(model, erf_inputs, layer=layer))
            # Not history.last: fit trains at least one epoch (TrainConfig checks epochs >= 1).
            last = history.epochs[-1]
            # Training time alone (the engine's "seconds" include validation).
            train_seconds = [n_train / r for r in history.column("images_per_s")]
            row = {
                "variant": label,
                "model": name,
                "seed": seed,
                "widths": list(model.widths),
                "params": count_params(model),
                "macs": count_macs(model, (1, c, s, s)),
                "val_acc": last["val_acc"],
                "val_loss": last["val_loss"],
                "train_acc": last["train_acc"],
                "seconds_per_epoch": statistics.mean(train_seconds),
                "history": history.to_dict()["epochs"],
            }
            runs.append(row)
            if log:
                log(
                    f"{label:<24} seed {seed}: val acc {100 * row['val_acc']:.1f}%  "
                    f"{row['seconds_per_epoch']:.2f} s/epoch"
                )
        erf[label] = {
            "layer": layer,
            "init": _mean_map(init_maps),
            "trained": _mean_map(trained_maps),
        }
    return {
        "config": asdict(cfg),
        "data": {"name": bundle.name, "train": n_train, "val": n_val,
                 "image_size": s, "in_channels": c, "classes": list(bundle.classes)},
        "device": cfg.device,
        "threads": torch.get_num_threads(),
        "runs": runs,
        "summary": aggregate(runs),
        "erf": erf,
    }  # fmt: skip


def aggregate(runs: list[dict]) -> list[dict]:
    """Per variant: parameters, MACs, accuracy mean / standard deviation / range, time per epoch."""
    out = []
    for label in dict.fromkeys(r["variant"] for r in runs):
        rows = [r for r in runs if r["variant"] == label]
        accs = [r["val_acc"] for r in rows]
        out.append(
            {
                "variant": label,
                "model": rows[0]["model"],
                "widths": rows[0]["widths"],
                "params": rows[0]["params"],
                "macs": rows[0]["macs"],
                "seeds": len(rows),
                "acc_mean": statistics.mean(accs),
                "acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                "acc_min": min(accs),
                "acc_max": max(accs),
                "loss_mean": statistics.mean(r["val_loss"] for r in rows),
                "seconds_per_epoch": statistics.mean(r["seconds_per_epoch"] for r in rows),
            }
        )
    return out


def training_estimate(
    cfg: Config, train_images: int, macs_per_image: int, macs_per_second: float
) -> float:
    """Seconds to train one variant once: ``3 x MACs x images x epochs / throughput``.

    A backward pass costs about two forward passes, hence the 3. Used for
    the GPU estimate on the page; the throughput is an assumption stated
    there, not a measurement.
    """
    return 3 * macs_per_image * train_images * cfg.epochs / macs_per_second
