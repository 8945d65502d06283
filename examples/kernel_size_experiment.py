"""Two 3x3 convolutions or one 5x5? Train both, and 5x5 nets matched in size and MACs.

CPU, shipped data (texture patches): one seed of each of the four networks in seconds;
the recorded run's scale (eight seeds, 24 epochs on all 8,883 patches, about half an
hour on one core) is one flag away:

    python examples/kernel_size_experiment.py
    python examples/kernel_size_experiment.py --full --out kernel_size_full.json

The paper-scale comparison on CIFAR-10 with a GPU (downloads CIFAR-10, about 170 MB):

    python examples/kernel_size_experiment.py --data cifar10 --download --device cuda

Writes the results as JSON (``--out``) and a plot (``--plot``) if asked. The book's
stored run of the full scale is made by ``cnnbook results record kernel_size``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from cnnbook import runinfo
from cnnbook.errors import CnnbookError
from cnnbook.experiments import kernel_size as ks
from cnnbook.io import write_json


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--data", default="textures", help="textures (default, offline) or cifar10"
    )
    p.add_argument("--download", action="store_true", help="allow downloading CIFAR-10")
    p.add_argument(
        "--device", default="cpu", help="cpu, cuda, cuda:1, mps (default: cpu)"
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="the recorded run's scale (texture patches only)",
    )
    p.add_argument(
        "--seeds", type=int, nargs="+", help="seeds (default: 0; with --full: 0..7)"
    )
    p.add_argument("--epochs", type=int, help="epochs per run (default: the preset's)")
    p.add_argument(
        "--subset", type=int, help="cap on training images (default: the preset's)"
    )
    p.add_argument(
        "--widths", type=int, nargs="+", help="stage widths, e.g. 8 16 32 32"
    )
    p.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--lr", type=float, help="learning rate (default: the preset's)")
    p.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="mixed precision",
    )
    p.add_argument("--out", type=Path, help="write the results to this JSON file")
    p.add_argument("--plot", type=Path, help="write a PNG plot of accuracy per variant")
    return p.parse_args(argv)


def make_config(args: argparse.Namespace) -> ks.Config:
    if args.full and args.data != "textures":
        raise ValueError(
            f"--full is the texture patches' recorded scale; --data {args.data} "
            "runs at its own preset's scale without it"
        )
    cfg = ks.RECORDED if args.full else ks.preset(args.data)
    changes = {
        "seeds": tuple(args.seeds) if args.seeds else None,
        "epochs": args.epochs,
        "subset": args.subset,
        "widths": tuple(args.widths) if args.widths else None,
        "batch_norm": args.batch_norm,
        "lr": args.lr,
        "amp": args.amp,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    cfg = dataclasses.replace(
        cfg, **changes, device=args.device, download=args.download
    )
    for name in ("epochs", "subset"):
        value = getattr(cfg, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name} must be a positive number, got {value}")
    if any(w < 1 for w in cfg.widths):
        raise ValueError(f"--widths must be positive, got {list(cfg.widths)}")
    return cfg


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    labels = [s["variant"] for s in result["summary"]]
    for i, label in enumerate(labels):
        accs = [100 * r["val_acc"] for r in result["runs"] if r["variant"] == label]
        ax.scatter([i] * len(accs), accs, color="C0", zorder=3)
        ax.errorbar(i + 0.15, sum(accs) / len(accs), fmt="_", color="C1", markersize=20)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("validation accuracy (%)")
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=90)
    os.replace(tmp, path)
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg = make_config(args)
        result = ks.run(cfg)
    except (CnnbookError, ValueError) as exc:
        # bad input or a diverged run: one sentence, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    head = f"{'variant':<26}{'params':>10}{'MACs':>14}{'acc mean':>10}{'std':>7}"
    print(f"{head}{'s/epoch':>9}")
    one_seed = len(result["config"]["seeds"]) == 1  # a spread needs two runs or more
    for s in result["summary"]:
        std = "-" if one_seed else f"{100 * s['acc_std']:.1f}"
        print(
            f"{s['variant']:<26}{s['params']:>10,}{s['macs']:>14,}"
            f"{100 * s['acc_mean']:>9.1f}%{std:>7}{s['seconds_per_epoch']:>9.2f}"
        )
    print(runinfo.describe(seed=result["config"]["seeds"][0]))
    if args.out:
        write_json(result, args.out)
        print(f"results written to {args.out}")
    if args.plot:
        plot(result, args.plot)
        print(f"plot written to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
