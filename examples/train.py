"""Train a VGG on the shipped data, the way the book's "Training a VGG" page does.

    python examples/train.py  # vgg_mini on brick/grass/gravel patches, CPU
    python examples/train.py --data mnist --epochs 5
    python examples/train.py --device cuda --model vgg16 --data cifar10 --download \
        --image-size 32 --epochs 30 --batch-size 256  # bf16 autocast, channels_last
    torchrun --nproc_per_node=2 examples/train.py  # the same script on two processes
    python examples/train.py --model resnet18 --weights IMAGENET1K_V1 --image-size 64 \
        --freeze-backbone  # ImageNet features, a new head; downloads 45 MB once

The `cnnbook train` command does the same with more options; this script
shows the Python API it is built on: data.load -> models.create -> engine.fit.
"""

from __future__ import annotations

import argparse

from cnnbook import data, distributed, engine, models, plots, pretrained
from cnnbook.errors import CnnbookError


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="vgg_mini")
    p.add_argument(
        "--data",
        default="textures",
        help="mnist, textures, cifar10, fashion_mnist, fake or a folder",
    )
    p.add_argument(
        "--subset", type=int, default=0, help="cap on training images (0 = all)"
    )
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--download", action="store_true", help="allow downloading CIFAR-10")
    p.add_argument("--weights", default=None, help="torchvision weights, e.g. DEFAULT")
    p.add_argument("--freeze-backbone", action="store_true", help="train the head only")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--out", default="runs/example-train")
    p.add_argument("--resume", action="store_true")
    args = p.parse_args()

    spec = models.spec(args.model)
    # torchvision's models take RGB only: grey data is repeated to 3 channels for them,
    # and so for ImageNet weights, which also want ImageNet's normalisation.
    channels = None if spec.takes("in_channels") else spec.in_channels
    weights = None
    if args.weights:  # checked and fetched before the data: a typo fails at once
        weights = pretrained.fetch(pretrained.weights(args.model, args.weights))
        channels = 3
    elif args.freeze_backbone:
        raise CnnbookError("--freeze-backbone needs --weights")
    bundle = data.load(
        args.data,
        seed=args.seed,
        subset=args.subset or None,
        image_size=args.image_size,
        download=args.download,
        channels=channels,
        pretrained=weights is not None,
    )
    model_kwargs = {
        "num_classes": len(bundle.classes),
        "in_channels": bundle.in_channels,
        "image_size": bundle.image_size,
    }
    # before building: the initial weights depend on the seed
    engine.seed_everything(args.seed)
    if weights is None:
        model = models.create(args.model, **model_kwargs)
    else:  # the weights' backbone, a fresh head for these classes
        model = pretrained.create(
            args.model,
            args.weights,
            len(bundle.classes),
            freeze=args.freeze_backbone,
            image_size=bundle.image_size,
            state_dict=weights,
        )
    history = engine.fit(
        model,
        bundle.train,
        bundle.val,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        compile=args.compile,
        out_dir=args.out,
        resume=args.resume,
        overwrite=not args.resume,
        meta={
            "model": args.model,
            "model_kwargs": model_kwargs,
            "data": bundle.describe(),
        },
    )
    if distributed.is_main_process():  # under torchrun, only rank 0 draws and reports
        plots.plot_history(history, f"{args.out}/curves.png")
        print(
            f"best validation accuracy {history.best_val_acc:.1%} at epoch "
            f"{history.best_epoch}; checkpoints and curves in {args.out}/"
        )


if __name__ == "__main__":
    try:
        main()
    except CnnbookError as exc:  # bad input: one sentence, no traceback
        raise SystemExit(f"train.py: {exc}") from None
