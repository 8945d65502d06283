"""Why 3x3: the arithmetic, and a controlled experiment on kernel choice.

Two parts:

* :func:`arithmetic` and :func:`general_formula`: parameters, MACs and
  non-linearities of ``n`` stacked 3x3 convolutions against the single
  ``(2n+1) x (2n+1)`` convolution with the same receptive field, C -> C
  channels, same padding. These are closed forms; the tests check them
  against real ``nn.Conv2d`` layers counted by torchinfo.
* :func:`run`: train the networks of :mod:`cnnbook.models.kernel_nets`
  (two 3x3 per stage, one 5x5 per stage, and the 5x5 one rescaled to the
  3x3 one's parameter count and, separately, to its MACs) with several
  seeds on the same data with the same recipe, and report accuracy (mean
  and spread), parameters, MACs, time per epoch, and the effective
  receptive field of the first stage before and after training.
* :func:`record` and :func:`replay`: the same training at the recorded
  scale :data:`RECORDED` (``cnnbook results record kernel_size``), and the
  replay of its first epoch that ``cnnbook results check`` compares.
* :func:`costs`, :func:`cpu_seconds_per_image` and :func:`paired`: what a
  page reads off the designs and a recorded run (parameters, MACs and
  values written per stage; CPU time measured in one run; per-seed
  differences).

The VGG paper (Simonyan and Zisserman, 2015, section 4.1) made the same
comparison at ImageNet scale: replacing each pair of 3x3 layers of its net
B by one 5x5 layer raised the top-1 error by 7%. That figure is theirs;
this module measures only what it runs.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING

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
    "1 x 5x5, matched MACs": "kernelnet_5x5_macs",
}
#: The design the others are compared with, seed by seed.
REFERENCE = "2 x 3x3"

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


@dataclass(frozen=True)
class Config:
    """Everything that defines one comparison (stored beside its results).

    The defaults are the quick CPU preset on texture patches: four variants,
    one seed, a few epochs on 2,000 patches, seconds on one core (the
    example's default run). :data:`RECORDED` is the scale of the recorded run.
    """

    data: str = "textures"
    seeds: tuple[int, ...] = (0,)
    variants: tuple[str, ...] = tuple(NETWORKS)
    widths: tuple[int, ...] = (8, 16, 32, 32)
    batch_norm: bool = False
    epochs: int = 4
    batch_size: int = 128
    lr: float = 3e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    scheduler: str = "cosine"
    subset: int | None = 2000
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


#: The recorded run (``cnnbook results record kernel_size --seeds 0 1 2 3 4 5 6 7``):
#: the quick preset's networks and recipe (Adam at 3e-3, cosine schedule,
#: batch 128) on all 8,883 training patches for 24 epochs (70 steps each,
#: 1,680 in all), eight seeds per variant so that a difference can be
#: judged seed by seed. Fixed before the run, from what 2 CPU cores train
#: in about 20 minutes.
RECORDED = Config(seeds=tuple(range(8)), epochs=24, subset=None)

#: The dry run's scale: every step of the recorded run (each variant and
#: seed, the ERF maps, the file) on 64 patches, width 2, one epoch.
DRY_RUN = replace(RECORDED, subset=64, epochs=1, widths=(2, 2, 2, 2), erf_images=8)

#: ``--data cifar10``: VGG net B's five stages (64 ... 512, 512) on 32x32
#: images, with batch norm and the usual CIFAR recipe, all 50,000 images.
CIFAR10 = Config(
    data="cifar10",
    seeds=(0, 1, 2),
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

#: Fields of a :class:`Config` chosen when a run starts, not part of its scale.
RUN_FIELDS = ("seeds", "device", "download")


def preset(data: str) -> Config:
    """The default configuration for ``data`` (``textures``, ``cifar10``, or any other name)."""
    if data == "cifar10":
        return replace(CIFAR10)
    return Config(data=data)


def setup_of(cfg: Config) -> dict:
    """A configuration's scale and recipe as a recorded file stores it (no seeds or device)."""
    return {k: v for k, v in asdict(cfg).items() if k not in RUN_FIELDS}


def config_from(setup: dict) -> Config:
    """The :class:`Config` a recorded ``setup`` describes (lists back to tuples)."""
    values = {f.name: setup[f.name] for f in fields(Config) if f.name in setup}
    for name in ("variants", "widths"):
        values[name] = tuple(values[name])
    return Config(**values)


def load_data(cfg: Config) -> DataBundle:
    """The :class:`cnnbook.data.DataBundle` for a configuration."""
    from cnnbook import data as data_mod

    options = dict(cfg.data_options)
    if cfg.data == "textures":
        options.setdefault("patch", cfg.patch)
    if cfg.data == "cifar10":
        options.setdefault("download", cfg.download)
    return data_mod.load(cfg.data, subset=cfg.subset, **options)


def steps_per_epoch(bundle: DataBundle, cfg: Config) -> int:
    """Optimizer steps in one epoch (the last, smaller batch is kept)."""
    from cnnbook.engine.loaders import dataset_length

    return -(-dataset_length(bundle.train, "the training set") // cfg.batch_size)


def _first_stage_conv(model: KernelNet) -> str:
    """Name of the last convolution of the first stage (the unit whose ERF is drawn)."""
    stage = model.features[0]
    convs = [name for name, m in stage.named_children() if isinstance(m, torch.nn.Conv2d)]
    return f"features.0.{convs[-1]}"


def _mean_map(maps: list[torch.Tensor]) -> list[list[float]]:
    mean = torch.stack(maps).mean(0)
    return (mean / mean.sum()).tolist()


def build(cfg: Config, label: str, in_channels: int, num_classes: int) -> KernelNet:
    """The network of variant ``label`` at ``cfg``'s widths (fresh weights from torch's RNG)."""
    from cnnbook import models
    from cnnbook.models.kernel_nets import KernelNet

    model = models.create(
        NETWORKS[label], num_classes=num_classes, in_channels=in_channels,
        widths=cfg.widths, batch_norm=cfg.batch_norm,
    )  # fmt: skip
    if not isinstance(model, KernelNet):  # NETWORKS names KernelNet builders only
        raise TypeError(f"{NETWORKS[label]} should build a KernelNet, got {type(model).__name__}")
    return model


def _erf_inputs(cfg: Config, bundle: DataBundle) -> torch.Tensor:
    from cnnbook.engine.loaders import dataset_length

    n_val = dataset_length(bundle.val, "the validation set")
    return torch.stack([bundle.val[i][0] for i in range(min(cfg.erf_images, n_val))])


def train_variant(
    cfg: Config, bundle: DataBundle, label: str, seed: int, max_steps: int | None = None
) -> dict:
    """Train one variant from seed ``seed``: the model, its history and its first-stage ERFs.

    The learning-rate schedule always spans ``cfg.epochs`` full epochs, so a
    run stopped after ``max_steps`` (a replay, the page's live check) takes
    exactly the first steps of the full run.
    """
    from cnnbook import engine

    engine.seed_everything(seed)
    model = build(cfg, label, bundle.in_channels, len(bundle.classes))
    inputs, layer = _erf_inputs(cfg, bundle), _first_stage_conv(model)
    init = effective_receptive_field(model, inputs, layer=layer)
    schedule = engine.lr_factor(cfg.scheduler, steps_per_epoch(bundle, cfg) * cfg.epochs)
    history = engine.fit(
        model, bundle.train, bundle.val, epochs=cfg.epochs, batch_size=cfg.batch_size,
        lr=cfg.lr, optimizer=cfg.optimizer, weight_decay=cfg.weight_decay,
        scheduler=schedule, max_steps=max_steps, seed=seed, device=cfg.device, amp=cfg.amp,
        log=False,
    )  # fmt: skip
    model.cpu().float()
    trained = effective_receptive_field(model, inputs, layer=layer)
    return {"model": model, "history": history, "layer": layer, "erf": (init, trained)}


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
    from cnnbook.engine.loaders import dataset_length

    c, s = bundle.in_channels, bundle.image_size
    n_train = dataset_length(bundle.train, "the training set")
    runs, erf = [], {}
    for label in cfg.variants:
        maps: list[tuple[torch.Tensor, torch.Tensor]] = []
        for seed in cfg.seeds:
            trained = train_variant(cfg, bundle, label, seed)
            model, history = trained["model"], trained["history"]
            maps.append(trained["erf"])
            # Not history.last: fit trains at least one epoch (TrainConfig checks epochs >= 1).
            last = history.epochs[-1]
            # Training time alone (the engine's "seconds" include validation).
            train_seconds = [n_train / r for r in history.column("images_per_s")]
            row = {
                "variant": label,
                "model": NETWORKS[label],
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
            "layer": trained["layer"],
            "init": _mean_map([m[0] for m in maps]),
            "trained": _mean_map([m[1] for m in maps]),
        }
    return {
        "config": asdict(cfg),
        "data": {"name": bundle.name, "train": n_train,
                 "val": dataset_length(bundle.val, "the validation set"),
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


# --------------------------------------------------------------------------- recorded run


def _recorded_row(
    cfg: Config, label: str, seed: int, threads: int | None, max_steps: int | None = None
) -> dict:
    """Train one variant of the recorded run; its row of the recorded file (ERF maps beside)."""
    if threads:
        torch.set_num_threads(threads)
    used = torch.get_num_threads()  # CPU sums depend on it in the last bits; a replay uses it
    started = time.perf_counter()
    trained = train_variant(cfg, load_data(cfg), label, seed, max_steps)
    history = trained["history"]
    train_error = [1 - a for a in history.column("train_acc")]
    val_error = [1 - a for a in history.column("val_acc")]
    return {
        "variant": label,
        "model": NETWORKS[label],
        "seed": seed,
        "widths": list(trained["model"].widths),
        "final_train_error": train_error[-1],
        "final_val_error": val_error[-1],
        "train_error": train_error,
        "train_loss": history.column("train_loss"),
        "val_error": val_error,
        "val_loss": history.column("val_loss"),
        "seconds": time.perf_counter() - started,
        "threads": used,
        "erf": [m.tolist() for m in trained["erf"]],
    }


def record(
    seeds: Sequence[int] = RECORDED.seeds,
    device: str = "cpu",
    jobs: int = 1,
    cfg: Config = RECORDED,
    max_steps: int | None = None,
) -> dict:
    """Every variant with every seed at ``cfg``'s scale: the fields of the recorded file.

    Returns the ``setup``, one row per (variant, seed) with its final errors
    (fractions) and per-epoch curves, and the first-stage ``erf`` maps per
    variant (mean over seeds, at initialisation and after training).
    ``jobs`` processes train side by side on a CPU, each on ``cfg.threads``
    threads; every network is seeded on its own, so the numbers do not
    depend on ``jobs``. ``max_steps`` stops every network early (the page's
    live check takes the first epoch this way).
    """
    from cnnbook import engine

    engine.resolve_device(device)
    cfg = replace(cfg, device=device)
    work = [(label, seed) for seed in seeds for label in cfg.variants]
    started = time.perf_counter()
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            futures = [
                pool.submit(_recorded_row, cfg, label, seed, cfg.threads, max_steps)
                for label, seed in work
            ]
            rows = [f.result() for f in futures]
    else:
        threads = torch.get_num_threads()
        try:
            rows = [_recorded_row(cfg, label, seed, cfg.threads, max_steps) for label, seed in work]
        finally:
            torch.set_num_threads(threads)
    maps = {label: [r.pop("erf") for r in rows if r["variant"] == label] for label in cfg.variants}
    erf = {
        label: {
            "init": _mean_map([torch.tensor(m[0]) for m in ms]),
            "trained": _mean_map([torch.tensor(m[1]) for m in ms]),
        }
        for label, ms in maps.items()
    }
    return {
        "setup": setup_of(cfg),
        "steps_per_epoch": steps_per_epoch(load_data(cfg), cfg),
        "rows": rows,
        "erf": erf,
        "wall_seconds": time.perf_counter() - started,
    }


def recorded_setup() -> dict:
    """The setup a stored ``kernel_size`` result must have (today's :data:`RECORDED`)."""
    return setup_of(RECORDED)


def make(seeds: tuple[int, ...], device: str, jobs: int, dry_run: bool) -> dict:
    """What ``cnnbook results record kernel_size`` stores (at :data:`DRY_RUN`'s scale if asked)."""
    return record(seeds, device, jobs, DRY_RUN if dry_run else RECORDED)


def replay(result: dict) -> dict:
    """Train the first row's variant again for its first epoch, on the CPU.

    Returns that epoch's ``train_loss``, ``train_error`` and ``val_error``,
    to compare with the first points of the recorded curves: the CPU run is
    deterministic, so a number edited by hand, or made with other settings
    or code, does not come out again.
    """
    cfg = config_from(result["setup"])
    first = result["rows"][0]
    threads = torch.get_num_threads()
    try:
        row = _recorded_row(
            cfg, first["variant"], first["seed"], first["threads"], result["steps_per_epoch"]
        )
    finally:
        torch.set_num_threads(threads)
    return {name: row[name][0] for name in ("train_loss", "train_error", "val_error")}


# --------------------------------------------------------------------------- reading


def costs(cfg: Config, in_channels: int, num_classes: int, image_size: int) -> list[dict]:
    """Per variant: widths, parameters, MACs and values written per image, and per stage.

    Closed forms (:mod:`cnnbook.models.kernel_nets`, checked against the
    built models in the tests): ``activations`` counts the values the
    convolutions write, what a layer moves through memory besides its MACs.
    """
    from cnnbook.models import kernel_nets as kn

    out = []
    for label in cfg.variants:
        net = build(cfg, label, in_channels, num_classes)
        args = (net.kernels, net.widths, in_channels)
        stages = kn.stage_costs(*args, image_size, cfg.batch_norm)
        out.append(
            {
                "variant": label,
                "widths": net.widths,
                "convs": len(net.kernels) * len(net.widths),
                "params": kn.kernel_net_params(*args, num_classes, cfg.batch_norm),
                "macs": kn.kernel_net_macs(*args, num_classes, image_size, cfg.batch_norm),
                "activations": sum(st["activations"] for st in stages),
                "stages": stages,
            }
        )
    return out


def cpu_seconds_per_image(
    cfg: Config, in_channels: int, num_classes: int, image_size: int,
    batch: int = 128, steps: int = 4, rounds: int = 5,
) -> dict[str, float]:  # fmt: skip
    """CPU seconds per image of one training step (forward, backward, Adam) for every variant.

    Measured in one run, on ``cfg.threads`` threads, with the variants
    taking turns in every round, so they share whatever else the machine
    does; the clock is the process's CPU time, which another program on
    the machine does not advance, and the minimum over ``rounds`` is kept.
    """
    threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, in_channels, image_size, image_size, generator=gen)
    y = torch.randint(0, num_classes, (batch,), generator=gen)
    nets = {label: build(cfg, label, in_channels, num_classes) for label in cfg.variants}
    opts = {label: torch.optim.Adam(net.parameters(), cfg.lr) for label, net in nets.items()}

    def step(label: str) -> None:
        opts[label].zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(nets[label](x), y).backward()
        opts[label].step()

    best = dict.fromkeys(nets, float("inf"))
    try:
        for label in nets:  # warm-up: memory allocation, kernel selection
            step(label)
        for _ in range(rounds):
            for label in nets:
                started = time.process_time()
                for _ in range(steps):
                    step(label)
                best[label] = min(best[label], (time.process_time() - started) / (steps * batch))
    finally:
        torch.set_num_threads(threads)
    return best


def paired(rows: Sequence[dict], metric: str = "final_val_error", reference: str = REFERENCE):
    """Each variant against ``reference``, seed by seed: ``metric`` of the variant minus the reference's.

    For an error, a positive difference means the reference did better.
    Returns per other variant the differences (in seed order), their mean
    and standard deviation, how many seeds favour the reference (``ahead``),
    the other variant (``behind``) or neither, and the two-sided p-value of
    a paired t-test (``None`` when every difference is equal, one seed included).
    """
    from scipy import stats

    by_seed: dict[str, dict[int, float]] = {}
    for r in rows:
        by_seed.setdefault(r["variant"], {})[r["seed"]] = r[metric]
    base = by_seed[reference]
    out = []
    for label, values in by_seed.items():
        if label == reference:
            continue
        seeds = sorted(set(values) & set(base))
        diffs = [values[s] - base[s] for s in seeds]
        # equal differences (to rounding) have no spread, and a t-test no meaning
        varied = any(not math.isclose(d, diffs[0], abs_tol=1e-12) for d in diffs)
        out.append(
            {
                "variant": label,
                "seeds": seeds,
                "diffs": diffs,
                "mean": statistics.fmean(diffs),
                "sd": statistics.stdev(diffs) if len(diffs) > 1 else 0.0,
                "ahead": sum(d > 0 for d in diffs),
                "behind": sum(d < 0 for d in diffs),
                "ties": sum(d == 0 for d in diffs),
                "p": float(stats.ttest_rel([values[s] for s in seeds],
                                           [base[s] for s in seeds]).pvalue) if varied else None,
            }
        )  # fmt: skip
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
