"""Train a CIFAR ResNet (or its plain twin) with the ResNet paper's recipe.

    python examples/cifar_resnet.py                     # ResNet-20, shipped MNIST, CPU
    python examples/cifar_resnet.py --plain --depth 56  # the plain 56-layer net
    python examples/cifar_resnet.py --data cifar10 --device cuda  # the paper's run
    python examples/cifar_resnet.py --data cifar10 --device cuda --depth 56 --plain

With ``--data cifar10`` (downloads about 170 MB on first use) the defaults
are the paper's section 4.2: SGD with learning rate 0.1, momentum 0.9,
weight decay 1e-4, batch 128, the rate divided by 10 at 32k and 48k
iterations, stop at 64k; 4-pixel padding + random 32x32 crop + horizontal
flip for training, none for testing; option A shortcuts; ResNet-110 warms
up at 0.01 for its first 400 iterations. The paper reports test errors of
8.75% (ResNet-20), 7.51% (32), 7.17% (44), 6.97% (56) and 6.43% (110).

On the shipped MNIST digits the same schedule is compressed into
``--max-steps`` (milestones at 1/2 and 3/4 of it, as 32k and 48k are of 64k).
The run writes checkpoints (``last.pt``, ``best.pt``), ``history.json`` and a
``result.json`` with the command, hardware and final error to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnbook import data, distributed, engine, models, runinfo
from cnnbook.engine.optim import paper_lr_factor
from cnnbook.errors import CnnbookError
from cnnbook.io import write_json
from cnnbook.models.cifar_resnet import DEPTHS

PAPER_STEPS = 64_000


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data", default="mnist", help="mnist or textures (shipped), or cifar10"
    )
    p.add_argument("--depth", type=int, default=20, choices=DEPTHS)
    p.add_argument(
        "--plain", action="store_true", help="the same layers without shortcuts"
    )
    p.add_argument(
        "--shortcut", default="A", choices=("A", "B"), help="A: zero-pad, B: projection"
    )
    p.add_argument(
        "--base-channels",
        type=int,
        default=16,
        help="channels of the first stage (paper: 16)",
    )
    p.add_argument(
        "--max-steps", type=int, default=None, help="default: 64000 on cifar10, else 60"
    )
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument(
        "--image-size", type=int, default=None, help="default: 32 on cifar10, else 16"
    )
    p.add_argument("--subset", type=int, default=None, help="cap on training images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    p.add_argument(
        "--compile", action="store_true", help="torch.compile the model (GPU)"
    )
    p.add_argument("--out", default=None, help="default: runs/cifar_<model>")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument(
        "--overwrite", action="store_true", help="replace a finished run in --out"
    )
    args = p.parse_args(argv)
    full = args.data == "cifar10"
    if args.max_steps is None:
        args.max_steps = PAPER_STEPS if full else 60
    if args.image_size is None and not full:
        args.image_size = 16
    if args.max_steps < 1 or args.batch_size < 1 or args.base_channels < 1:
        p.error("--max-steps, --batch-size and --base-channels must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    name = f"cifar_{'plain' if args.plain else 'resnet'}{args.depth}"
    out = Path(args.out or f"runs/{name}")
    bundle = data.load(
        args.data, seed=args.seed, subset=args.subset, image_size=args.image_size,
        download=args.data == "cifar10",
    )  # fmt: skip
    steps_per_epoch = -(-len(bundle.train) // args.batch_size)
    epochs = -(-args.max_steps // steps_per_epoch)
    milestones = [args.max_steps // 2, 3 * args.max_steps // 4]  # 32k and 48k of 64k
    warmup = 400 if args.depth == 110 and not args.plain else 0
    options = {"base_channels": args.base_channels, "in_channels": bundle.in_channels}
    if not args.plain:
        options["shortcut"] = args.shortcut
    engine.seed_everything(args.seed)
    model = models.create(name, num_classes=len(bundle.classes), **options)
    print(f"{name}: {sum(p.numel() for p in model.parameters()):,} parameters; "
          f"{args.max_steps} steps ({epochs} epochs of {steps_per_epoch}); "
          f"lr {args.lr} / 10 at {milestones}")  # fmt: skip
    history = engine.fit(
        model, bundle.train, bundle.val,
        epochs=epochs, max_steps=args.max_steps, batch_size=args.batch_size, lr=args.lr,
        momentum=args.momentum, weight_decay=args.weight_decay,
        scheduler=paper_lr_factor(milestones, warmup_steps=warmup),
        seed=args.seed, device=args.device, compile=args.compile,
        out_dir=out, resume=args.resume, overwrite=args.overwrite,
        meta={"model": name, "model_kwargs": options, "data": bundle.describe()},
    )  # fmt: skip
    if not distributed.is_main_process():
        return 0
    last = history.last
    result = {
        "command": "python examples/cifar_resnet.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "model": name,
        "data": args.data,
        "steps": args.max_steps,
        "final_train_loss": last["train_loss"],
        "final_train_error": 1 - last["train_acc"],
        "final_test_error": None if last["val_acc"] is None else 1 - last["val_acc"],
        "history": history.to_dict(),
        "run": runinfo.info(args.seed),
    }
    write_json(result, out / "result.json")
    print(f"{name} on {args.data}: final test error {result['final_test_error']:.2%} "
          f"(train loss {last['train_loss']:.3f}); results in {out}/")  # fmt: skip
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (
        CnnbookError,
        ValueError,
    ) as exc:  # bad input or a diverged run: one sentence
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(
            "interrupted; the last finished epoch is saved as last.pt (use --resume)",
            file=sys.stderr,
        )
        sys.exit(130)
