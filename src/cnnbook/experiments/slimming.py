"""Slimming VGG-16: smaller heads and thinner convolutions, measured.

The claim under test: replacing VGG-16's 25088-4096-4096-K head by
25088-1024-256-K cuts the parameters from 134,272,835 to 40,668,995 (for
K = 3) "with no loss of accuracy". It is measured at three scales:

* **full size** (VGG-16's channels, 224x224 RGB, 3 classes): parameters and
  multiply-accumulates, exactly, from the models (:func:`full_scale_costs`),
  and the CPU latency of each head at batch 1 and at a larger batch
  (:func:`time_heads`, part of the recorded run);
* **build time** (:class:`Config`, :func:`run`): thin networks trained for a
  few steps while the book builds; they prove the code runs end to end, and
  their accuracies are as noisy as so little training makes them;
* **recorded** (:data:`RECORDED`, :func:`record`): the VGG paper's SGD
  recipe on every shipped texture patch, several seeds per variant, stored
  as ``docs/results/slimming-cpu.json`` by ``cnnbook results record slimming``.

A ``width`` is always a fraction of VGG-16's channels: width 1/16 has 4 to
32 channels where VGG-16 has 64 to 512.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from fractions import Fraction
from typing import Any

import torch
from torch import nn

from cnnbook import data, engine, models
from cnnbook.analysis import complexity
from cnnbook.engine.loaders import dataset_length
from cnnbook.experiments.common import train_one
from cnnbook.models import vgg_variants  # noqa: F401  (registers vgg16_slim)
from cnnbook.models.vgg import VGG

#: (head, width relative to the run's ``base_width``) pairs compared by default.
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


def width_label(width: float) -> str:
    """A width as the fraction of VGG-16's channels it is: ``"1/16 width"``, ``"full width"``."""
    if width == 1:
        return "full width"
    return f"{Fraction(width).limit_denominator(1024)} width"


def variant_name(head: str, width: float) -> str:
    """``"slim head, 1/16 width"``: the head and the width as a fraction of VGG-16's."""
    return f"{head} head, {width_label(width)}"


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


def full_scale_costs(
    head: str, width: float, num_classes: int, macs: bool = True, _trunk_cache: dict | None = None
) -> dict:
    """Parameters (and MACs at 224x224) of the full-size variant with 3-channel input.

    ``width`` is the fraction of VGG-16's channels. The MACs are counted in
    two parts, trunk (convolutions and pools) and head, because the trunk is
    the same for every head of one width: its count is computed once per
    width and reused (``_trunk_cache``).
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


# --------------------------------------------------------------------------- build time


@dataclass
class Config:
    """The build-time run (defaults: the small CPU configuration of the book's page)."""

    data: str = "textures"
    image_size: int = 32
    base_width: float = 1 / 16  # fraction of VGG-16's channels of a width-1.0 variant
    batch_norm: bool = True
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    subset: int | None = None
    download: bool = False
    device: str = "cpu"
    latency_repeats: int = 3
    full_scale_macs: bool = True
    threads: int | None = 1  # CPU threads for training and timing; None: torch's default


def run(
    config: Config | None = None,
    variants: Sequence[tuple[str, float]] = DEFAULT_VARIANTS,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Run every variant for every seed; returns plain data (config, rows, per-seed results).

    Each row's ``width`` is the fraction of VGG-16's channels actually
    trained (a variant's width times ``config.base_width``); its full-size
    counts (``params_224``, ``macs_224``) are those of the same head at
    VGG-16's own width times the variant's relative width. ``log``, if
    given, is called with one line of text after each training run.
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
    for head, relative in variants:
        width = relative * config.base_width
        row = {"variant": variant_name(head, width), "head": head, "width": width}
        row["full_size"] = variant_name(head, relative)
        row.update(full_scale_costs(head, relative, k, config.full_scale_macs, trunk_macs))
        kwargs: dict[str, Any] = dict(
            num_classes=k, head=head, width_mult=width, batch_norm=config.batch_norm, in_channels=c
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


# --------------------------------------------------------------------------- recorded


@dataclass(frozen=True)
class Setup:
    """The recorded run: what is trained and how, and how the full-size heads are timed.

    The training recipe is the VGG paper's (SGD with momentum 0.9, weight
    decay 5e-4, rate 0.01 divided by 10 as training goes on, dropout 0.5 in
    the head), with the rate's drops at fixed fractions of training instead
    of "when the validation accuracy stopped improving". The trunks have
    batch norm: the paper could train its 16-layer nets only by starting
    from a trained 11-layer one, a step this run leaves out.
    """

    data: str = "textures"
    image_size: int = 32
    subset: int | None = None  # training images (None: every shipped patch)
    base_width: float = 1 / 8  # fraction of VGG-16's channels of a variant of width 1.0
    # Lightest first: ``cnnbook results check`` replays the first row, so it is the cheapest.
    variants: tuple[tuple[str, float], ...] = (
        ("gap", 1.0),
        ("slim", 0.5),
        ("slim", 1.0),
        ("full", 1.0),
    )
    batch_norm: bool = True
    epochs: int = 12
    batch_size: int = 64
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    decay_at: tuple[float, ...] = (0.5, 0.75)  # fractions of training where the rate drops 10x
    val_curve: bool = True  # score the validation set after every epoch
    latency_width: float = 1.0  # the timed networks' fraction of VGG-16's channels
    latency_image_size: int = 224  # the timed networks' input side
    latency_batches: tuple[int, ...] = (1, 16)
    latency_rounds: int = 5  # timed passes per head and batch, after one warm-up pass


#: The recorded run's scale (see :class:`Setup` and the page "Slimming VGG").
RECORDED = Setup()


def setup_from(stored: dict) -> Setup:
    """The :class:`Setup` a recorded file stores (JSON lists back to tuples)."""
    values = {f.name: stored[f.name] for f in fields(Setup)}
    values["variants"] = tuple((head, width) for head, width in values["variants"])
    for name in ("decay_at", "latency_batches"):
        values[name] = tuple(values[name])
    return Setup(**values)


def load_data(setup: Setup) -> data.DataBundle:
    """The (shipped, offline) dataset the setup names, at its size."""
    return data.load(setup.data, seed=0, subset=setup.subset, image_size=setup.image_size)


def _seconds(module: nn.Module, x: torch.Tensor, device: torch.device) -> float:
    """Wall-clock seconds of one forward pass (a GPU is waited for)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    module(x)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


@torch.inference_mode()
def time_heads(setup: Setup, num_classes: int = 3, device: str = "cpu") -> dict:
    """Seconds per forward pass of VGG-16 with each head, and of each head alone.

    The networks share one trunk, so they differ only in their heads. Every
    round times each head at each batch size once, in turn, so that whatever
    else the machine is doing slows them alike; a reader takes medians over
    the rounds. The head is also timed alone on its input, which is how much
    of the network's time it costs: at batch 1 the 4096-4096 head reads its
    ~120M weights from memory for a single image, at batch ``b`` for ``b``.
    """
    dev = torch.device(device)
    side = setup.latency_image_size
    heads = tuple(dict.fromkeys(head for head, _ in setup.variants))
    networks: dict[str, VGG] = {}
    head_inputs: dict[str, int] = {}  # what each head's first linear layer takes
    for head in heads:
        model = uninitialised(
            "vgg16_slim", num_classes=num_classes, head=head, width_mult=setup.latency_width
        )
        first = model.classifier[0] if isinstance(model, VGG) else None
        if not isinstance(model, VGG) or not isinstance(first, nn.Linear):
            raise TypeError(f"vgg16_slim should build a VGG with a linear head, got {model}")
        if networks:  # one trunk for all: the same weights, and a third of the memory
            model.features = next(iter(networks.values())).features
        networks[head], head_inputs[head] = model.to(dev), first.in_features
    rows: list[dict[str, Any]] = [
        {
            "head": head,
            "batch": batch,
            "params": sum(p.numel() for p in networks[head].parameters()),
            "head_params": sum(p.numel() for p in networks[head].classifier.parameters()),
            "network_s": [],
            "head_s": [],
        }
        for batch in setup.latency_batches
        for head in heads
    ]
    inputs = {b: torch.zeros(b, 3, side, side, device=dev) for b in setup.latency_batches}
    for round_ in range(setup.latency_rounds + 1):  # round 0 warms up and is not kept
        for row in rows:
            model, x = networks[row["head"]], inputs[row["batch"]]
            features = torch.zeros(row["batch"], head_inputs[row["head"]], device=dev)
            network_s = _seconds(model, x, dev)
            head_s = _seconds(model.classifier, features, dev)
            if round_:
                row["network_s"].append(network_s)
                row["head_s"].append(head_s)
    return {
        "image_size": side,
        "width": setup.latency_width,
        "num_classes": num_classes,
        "device": device,
        "threads": torch.get_num_threads(),
        "rows": rows,
    }


def _recorded_row(
    head: str, relative: float, seed: int, setup: Setup, device: str, threads: int
) -> dict:
    """Train one variant with one seed at the recorded scale; its row of the recorded file."""
    if threads:
        torch.set_num_threads(threads)
    used = torch.get_num_threads()  # CPU sums depend on it in the last bits; a replay uses it
    width = relative * setup.base_width
    started = time.perf_counter()
    run = train_one(
        "vgg16_slim", load_data(setup), setup, seed, device=device,
        head=head, width_mult=width, batch_norm=setup.batch_norm,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    name = variant_name(head, width)
    print(f"{name}, seed {seed}: validation error {1 - run['val_acc']:.4f} ({seconds:.0f} s)")
    return {
        "model": name,
        "head": head,
        "width": width,
        "seed": seed,
        "final_train_error": 1 - run["train_acc"][-1],
        "final_val_error": 1 - run["val_acc"],
        "train_error": [1 - a for a in run["train_acc"]],
        "train_loss": run["train_loss"],
        "val_error": [1 - a for a in run["val_acc_curve"]],
        "seconds": seconds,
        "threads": used,
    }


def record(
    seeds: Sequence[int] = (0, 1, 2), device: str = "cpu", jobs: int = 1, setup: Setup = RECORDED
) -> dict:
    """The recorded run: the full-size heads timed, then every variant trained with every seed.

    The timing runs first and alone, on every core, so that the training
    processes do not slow it down. On a CPU, ``jobs`` processes then train
    variants side by side, each on its share of the cores; every run is
    seeded on its own, so the numbers do not depend on ``jobs``.
    """
    import os

    started = time.perf_counter()
    latency = time_heads(setup, len(load_data(setup).classes), device)
    work = [(head, relative, seed) for seed in seeds for head, relative in setup.variants]
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else 0
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            futures = [pool.submit(_recorded_row, *w, setup, device, threads) for w in work]
            rows = [f.result() for f in futures]
    else:
        rows = [_recorded_row(*w, setup, device, threads) for w in work]
    return {
        "setup": asdict(setup),
        "latency": latency,
        "rows": rows,
        "wall_seconds": time.perf_counter() - started,
    }


def replay(result: dict) -> dict:
    """Train the first row's variant again for its first epoch, on the CPU.

    Returns the replayed ``train_loss`` and ``train_error`` of that epoch,
    to compare with the recorded curves' first points: the CPU run is
    deterministic, so a number edited by hand, or made with other settings
    or code, does not come out again.
    """
    setup = setup_from(result["setup"])
    first = result["rows"][0]
    bundle = load_data(setup)
    steps = -(-dataset_length(bundle.train, "the training set") // setup.batch_size)
    with cpu_threads(first["threads"]):
        run = train_one(
            "vgg16_slim", bundle, setup, first["seed"], max_steps=steps,
            head=first["head"], width_mult=first["width"], batch_norm=setup.batch_norm,
        )  # fmt: skip
    return {"train_loss": run["train_loss"][0], "train_error": 1 - run["train_acc"][0]}
