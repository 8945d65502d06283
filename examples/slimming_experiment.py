"""Does a lighter head cost VGG-16 accuracy? Train the variants and compare.

    python examples/slimming_experiment.py                # CPU, textures, one seed
    python examples/slimming_experiment.py --seeds 0 1 2  # the book page's seeds
    python examples/slimming_experiment.py --steps 300 --seeds 0 1 2 3 4
    python examples/slimming_experiment.py --data cifar10 --download --device cuda \\
        --image-size 32 --base-width 1 --steps 3000
    python examples/slimming_experiment.py --data path/to/PotatoPlants --device cuda \\
        --image-size 224 --base-width 1 --no-batch-norm --optimizer adam \\
        --lr 1e-4 --steps 2000

Each variant is VGG-16's thirteen convolutions with one head (``full``:
4096-4096, ``slim``: 1024-256, ``gap``: global average pooling into one
linear layer) and a width relative to ``--base-width``, the fraction of
VGG-16's channels that a width-1 variant has (default 1/16). For every
variant the script prints the parameters and MACs at 224x224 of the same
head on VGG-16's own channels times the relative width, then the size,
MACs and CPU latency of the network it actually trains (labelled with its
true width, e.g. "slim head, 1/32 width"), and the validation accuracy of
each seed with mean and standard deviation. A few steps on 1/16-width
networks check that the code runs; they do not rank the heads (the book's
recorded run, ``cnnbook results record slimming``, does). ``--out`` writes
all of it as JSON, with the command, versions and hardware.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnbook import runinfo
from cnnbook.errors import CnnbookError
from cnnbook.experiments import slimming
from cnnbook.io import write_json
from cnnbook.models.vgg_variants import HEADS


def parse_args(argv=None) -> argparse.Namespace:
    d = slimming.Config()
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data",
        default=d.data,
        help="textures or mnist (shipped), cifar10, or a folder",
    )
    p.add_argument("--download", action="store_true", help="allow downloading CIFAR-10")
    p.add_argument(
        "--image-size", type=int, default=d.image_size, help="side of the input (>= 32)"
    )
    p.add_argument(
        "--base-width", type=float, default=d.base_width, help="1 = VGG-16's channels"
    )
    p.add_argument(
        "--variants",
        nargs="+",
        default=[f"{h}:{w:g}" for h, w in slimming.DEFAULT_VARIANTS],
        help="head:width pairs, e.g. full:1 slim:1 gap:0.5",
    )
    # One seed by default: a first run in seconds. The page compares three.
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="default: 0")
    p.add_argument("--steps", type=int, default=d.steps, help="optimizer steps per run")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--optimizer", default=d.optimizer, choices=("sgd", "adam", "adamw"))
    p.add_argument(
        "--no-batch-norm", action="store_true", help="plain VGG-16, as in the paper"
    )
    p.add_argument("--subset", type=int, default=None, help="cap on training images")
    p.add_argument("--device", default=d.device, help="cpu, cuda or auto")
    p.add_argument(
        "--out", type=Path, default=None, help="write the results as JSON here"
    )
    return p.parse_args(argv)


def parse_variants(items: list[str]) -> list[tuple[str, float]]:
    out = []
    for item in items:
        head, _, width = item.partition(":")
        if head not in HEADS:
            raise ValueError(
                f"unknown head {head!r} in {item!r}; choose one of: {', '.join(HEADS)}"
            )
        try:
            w = float(width or 1)
        except ValueError:
            raise ValueError(f"width in {item!r} is not a number") from None
        if w <= 0:
            raise ValueError(f"width in {item!r} must be positive")
        out.append((head, w))
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        variants = parse_variants(args.variants)
        if args.image_size < 32:
            raise ValueError(
                "--image-size must be at least 32 (five 2x2 pools), "
                f"got {args.image_size}"
            )
        for name in ("steps", "batch_size"):
            if getattr(args, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if args.base_width <= 0:
            raise ValueError("--base-width must be positive")
        config = slimming.Config(
            data=args.data,
            image_size=args.image_size,
            base_width=args.base_width,
            batch_norm=not args.no_batch_norm,
            seeds=tuple(args.seeds),
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            optimizer=args.optimizer,
            subset=args.subset,
            download=args.download,
            device=args.device,
        )
        print(runinfo.describe(seed=config.seeds[0]))
        result = slimming.run(config, variants, log=print)
    except (CnnbookError, ValueError) as exc:  # bad input: one sentence
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130
    print()
    print(f"{'full size, 224x224':24} {'parameters':>12} {'GMACs':>7}")
    for r in result["rows"]:
        print(f"{r['full_size']:24} {r['params_224']:>12,} {r['macs_224'] / 1e9:>7.2f}")
    print()
    head = f"{'trained':24} {'parameters':>10} {'MMACs':>8} {'CPU ms':>7} "
    print(head + f"{'val acc (mean +- sd)':>21}")
    one_seed = len(config.seeds) == 1  # a spread needs two runs or more
    for r in result["rows"]:
        spread = "(one seed)" if one_seed else f"+- {r['acc_std']:.3f}"
        print(
            f"{r['variant']:24} {r['params']:>10,} {r['macs'] / 1e6:>8.1f} "
            f"{r['latency_ms']:>7.2f} {r['acc_mean']:>10.3f} {spread:>10}"
        )
    if args.out is not None:
        result["command"] = " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])])
        result["runinfo"] = runinfo.info(seed=config.seeds[0])
        write_json(result, args.out)
        print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
