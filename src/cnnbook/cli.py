"""The ``cnnbook`` command: ``train``, ``predict``, ``summary``, ``models`` and ``results``.

Every user mistake ends with one sentence on stderr and exit status 2 (a
diverged run: 3; an interrupted one: 130), never a traceback. The same
command runs under ``torchrun --nproc_per_node=N -m cnnbook train ...``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_USAGE = 2
EXIT_DIVERGED = 3


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (no usage dump)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cnnbook", description="Train, inspect and use the book's CNNs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a model and write checkpoints and curves")
    t.add_argument(
        "--model", default="vgg_mini", help="a registered model name (see `cnnbook models`)"
    )
    t.add_argument(
        "--data",
        default="mnist",
        help="mnist, textures, cifar10, fashion_mnist, fake, or an image-folder path",
    )
    t.add_argument("--epochs", type=_positive_int, default=3)
    t.add_argument(
        "--batch-size", type=_positive_int, default=128, help="global batch (all processes)"
    )
    t.add_argument("--lr", type=_positive_float, default=0.05)
    t.add_argument("--optimizer", default="sgd", choices=["sgd", "adam", "adamw"])
    t.add_argument("--momentum", type=float, default=0.9)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--scheduler", default="constant", choices=["constant", "multistep", "cosine"])
    t.add_argument(
        "--milestones", type=_positive_int, nargs="*", default=[], help="steps for multistep"
    )
    t.add_argument("--warmup-steps", type=int, default=0)
    t.add_argument("--max-steps", type=_positive_int, default=None)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    t.add_argument("--out", default=None, help="output directory (default runs/MODEL-DATA)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    t.add_argument("--overwrite", action="store_true", help="start afresh even if OUT holds a run")
    t.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="bfloat16 autocast (default: on for CUDA)")  # fmt: skip
    t.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None)
    t.add_argument("--compile", action="store_true", help="torch.compile the model")
    t.add_argument("--workers", type=int, default=None, help="data-loading processes")
    t.add_argument("--image-size", type=_positive_int, default=None)
    t.add_argument("--subset", type=_positive_int, default=None, help="cap on training images")
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="random training augmentation (default: the dataset's own choice)")  # fmt: skip
    t.add_argument("--weights", default=None, metavar="NAME",
                   help="start from torchvision's weights NAME (IMAGENET1K_V1, DEFAULT, ...) "
                   "with a new head; torchvision architectures only")  # fmt: skip
    t.add_argument("--freeze-backbone", action="store_true",
                   help="with --weights: train the new head only")  # fmt: skip
    t.add_argument("--download", action="store_true", help="allow downloading CIFAR-10")
    t.add_argument("--sync-bn", action="store_true", help="SyncBatchNorm under torchrun")
    t.add_argument("--dist-backend", default=None, choices=["gloo", "nccl"])
    t.add_argument("--dist-timeout", type=_positive_float, default=None, help="seconds")
    t.add_argument("--quiet", action="store_true", help="no per-epoch lines")

    p = sub.add_parser("predict", help="classify images with a trained checkpoint")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("images", nargs="+")
    p.add_argument("--top-k", type=_positive_int, default=1)
    p.add_argument("--device", default="cpu")

    s = sub.add_parser("summary", help="layer table with parameters and MACs (torchinfo)")
    s.add_argument("name")
    s.add_argument("--num-classes", type=_positive_int, default=None)
    s.add_argument("--input-size", type=_positive_int, nargs="+", default=None, metavar="N",
                   help="channels, height, width; default: the input the model was designed for")  # fmt: skip
    s.add_argument("--depth", type=_positive_int, default=3)

    sub.add_parser("models", help="list the registered model names")

    r = sub.add_parser("results", help="make or check the recorded results in docs/results/")
    rsub = r.add_subparsers(dest="action", required=True, parser_class=_Parser)
    rec = rsub.add_parser("record", help="run an experiment at its recorded scale, write its JSON")
    from cnnbook.results.registry import KINDS  # no torch: the parser stays fast to build

    recordable = sorted(name for name, kind in KINDS.items() if kind.make is not None)
    rec.add_argument("name", help="the experiment: " + ", ".join(recordable))
    rec.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    rec.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    rec.add_argument("--jobs", type=_positive_int, default=1, help="CPU processes side by side")
    rec.add_argument("--out", default=None, help="default: docs/results/<name>-<device>.json")
    rec.add_argument(
        "--dry-run", action="store_true", help="every step at a scale of seconds, not into docs/"
    )
    chk = rsub.add_parser("check", help="every recorded result matches today's code")
    chk.add_argument("--dir", default=None, help="default: docs/results/ of this checkout")
    chk.add_argument("--no-replay", action="store_true", help="skip replaying CPU results")
    return parser


# --------------------------------------------------------------------------- helpers


def _rank() -> int:
    return int(os.environ.get("RANK", 0))


def _data_label(name: str) -> str:
    return Path(name).name if ("/" in name or os.sep in name) else name


# --------------------------------------------------------------------------- commands


def _pretrained_start(args) -> dict | None:
    """The state dict ``--weights`` names (fetched now, so failures come first), or None."""
    from cnnbook import pretrained
    from cnnbook.errors import ConfigError

    if args.freeze_backbone and args.sync_bn:
        # SyncBatchNorm replaces the batch-norm modules, and with them the freeze.
        raise ConfigError("--freeze-backbone cannot be combined with --sync-bn")
    if args.weights is None:
        if args.freeze_backbone:
            raise ConfigError(
                "--freeze-backbone needs --weights: a random backbone is not worth keeping"
            )
        return None
    return pretrained.fetch(pretrained.weights(args.model, args.weights))


def cmd_train(args) -> int:
    from cnnbook import data, engine, models, plots, pretrained
    from cnnbook.engine.loaders import dataset_length

    main = _rank() == 0
    spec = models.spec(args.model)  # an unknown name fails before any data is read
    engine.resolve_device(args.device)  # fail before loading any data
    start = _pretrained_start(args)  # a bad name or no network fails before the data too
    out = Path(args.out or Path("runs") / f"{args.model}-{_data_label(args.data)}")
    # Refuse before loading any data; fit checks again, against the model's tensors.
    engine.checkpoint.open_run(
        out, resume=args.resume, overwrite=args.overwrite, model_name=args.model
    )
    # A model with a fixed first layer (torchvision's take RGB) gets the data in
    # its channel count (grey images are repeated); others take the data as is.
    channels = None if spec.takes("in_channels") else spec.in_channels
    if start is not None:
        channels = 3  # the weights' first layer is RGB: grey images are repeated, see pretrained
    bundle = data.load(
        args.data, seed=args.seed, subset=args.subset, image_size=args.image_size,
        download=args.download, channels=channels, pretrained=True if start is not None else None,
        augment=args.augment,
    )  # fmt: skip
    model_kwargs = {
        "num_classes": len(bundle.classes),
        "in_channels": bundle.in_channels,
        "image_size": bundle.image_size,
    }
    engine.seed_everything(args.seed)  # before building: the initial weights depend on it
    if start is None:
        model = models.create(args.model, **model_kwargs)
    else:
        model = pretrained.create(
            args.model, args.weights, len(bundle.classes), freeze=args.freeze_backbone,
            image_size=bundle.image_size, state_dict=start,
        )  # fmt: skip
    config = {"model": args.model, "model_kwargs": model_kwargs, "data": bundle.describe()}
    if start is not None:
        config.update(weights=args.weights, freeze_backbone=args.freeze_backbone)
    if main and not args.quiet:
        print(
            f"training {args.model} on {bundle.name}: "
            f"{dataset_length(bundle.train, 'the training set')} training / "
            f"{dataset_length(bundle.val, 'the validation set')} validation images, {len(bundle.classes)} classes, "
            f"{bundle.in_channels}x{bundle.image_size}x{bundle.image_size}; writing to {out}",
            flush=True,
        )
    history = engine.fit(
        model, bundle.train, bundle.val,
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
        momentum=args.momentum, weight_decay=args.weight_decay, scheduler=args.scheduler,
        milestones=args.milestones, warmup_steps=args.warmup_steps, max_steps=args.max_steps,
        seed=args.seed, device=args.device, amp=args.amp, channels_last=args.channels_last,
        compile=args.compile, num_workers=args.workers, out_dir=out, resume=args.resume,
        overwrite=args.overwrite, log=not args.quiet, sync_bn=args.sync_bn,
        dist_backend=args.dist_backend, dist_timeout=args.dist_timeout, meta=config,
    )  # fmt: skip
    if not main:
        return 0
    plots.plot_history(history, out / "curves.png", title=f"{args.model} on {bundle.name}")
    best, _ = engine.load_model(out / "best.pt")
    y_true, y_pred = engine.predictions(best, bundle.val)
    plots.plot_confusion(y_true, y_pred, bundle.classes, out / "confusion.png")
    if not args.quiet:
        print(
            f"best validation accuracy {100 * (history.best_val_acc or 0):.1f}% "
            f"(epoch {history.best_epoch}); wrote {out}/best.pt, last.pt, history.json, "
            "curves.png, confusion.png"
        )
    return 0


def cmd_predict(args) -> int:
    from cnnbook import data, engine

    for img in args.images:
        if not Path(img).is_file():
            raise data.DataError(f"no image file at {img}")
    model, config = engine.load_model(args.checkpoint, device=args.device)
    d = config["data"]
    transform = data.make_eval_transform(d["in_channels"], d["image_size"], d["mean"], d["std"])
    for img in args.images:
        top = engine.predict(
            model, img, transform, d["classes"], device=args.device, top_k=args.top_k
        )
        print(f"{img}: " + ", ".join(f"{name} {100 * p:.1f}%" for name, p in top))
    return 0


def cmd_summary(args) -> int:
    from cnnbook import models
    from cnnbook.analysis.complexity import summarize
    from cnnbook.errors import ConfigError

    spec = models.spec(args.name)
    size = tuple(args.input_size or spec.input_size)  # default: the designed input
    if len(size) != 3:
        raise ConfigError("--input-size takes three numbers: C H W")
    channels, height, width = size
    if height != width:
        raise ConfigError("--input-size takes square images: C H W with H equal to W")
    model = models.create(
        args.name, num_classes=args.num_classes, in_channels=channels, image_size=height
    )
    input_shape = (1, channels, height, width)
    print(f"{args.name}, input {'x'.join(map(str, input_shape))}")
    print(summarize(model, input_shape, depth=args.depth))
    return 0


def cmd_models(args) -> int:
    from cnnbook import models

    print("\n".join(models.available()))
    return 0


def cmd_results(args) -> int:
    from cnnbook.results import RESULTS_DIR
    from cnnbook.results.check import check
    from cnnbook.results.record import record

    if args.action == "record":
        path = record(
            args.name, args.device, tuple(args.seeds), args.jobs, args.out, dry_run=args.dry_run
        )
        print(f"wrote {path}")
        return 0
    folder = Path(args.dir) if args.dir else RESULTS_DIR
    problems = check(folder, replay=not args.no_replay)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        return 1
    print(f"{len(list(folder.glob('*.json')))} recorded results match the code")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from cnnbook.errors import CnnbookError, DataError, TrainingDiverged

    handlers = {
        "train": cmd_train,
        "predict": cmd_predict,
        "summary": cmd_summary,
        "models": cmd_models,
        "results": cmd_results,
    }
    try:
        return handlers[args.command](args)
    except TrainingDiverged as exc:
        print(f"cnnbook {args.command}: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except (CnnbookError, ValueError) as exc:
        message = str(exc).strip().splitlines()
        # Errors raised in data-loading workers come back wrapped in a
        # traceback; the original sentence is on the last line.
        text = message[-1].split("DataError: ", 1)[-1] if message else type(exc).__name__
        if _rank() == 0 or isinstance(exc, DataError):
            print(f"cnnbook {args.command}: {text}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"cnnbook {args.command}: interrupted; continue a run with --resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
