"""Classify image files with a trained checkpoint.

    python examples/predict.py --checkpoint runs/example-train/best.pt patch.png
    python examples/predict.py  # no checkpoint: trains a small one first (~10 s)

Prediction uses the checkpoint's own evaluation transform (the same resize
and normalisation as validation, never augmentation) and class names.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from cnnbook import data, engine, models


def quick_checkpoint(out: Path) -> Path:
    """Train vgg_mini on the texture patches for two epochs: the script runs as is."""
    bundle = data.load("textures")
    engine.seed_everything(0)
    kwargs = {"num_classes": 3, "image_size": bundle.image_size}
    model = models.create("vgg_mini", **kwargs)
    config = {"model": "vgg_mini", "model_kwargs": kwargs, "data": bundle.describe()}
    engine.fit(
        model,
        bundle.train,
        bundle.val,
        epochs=2,
        batch_size=64,
        optimizer="adam",
        lr=1e-3,
        out_dir=out,
        overwrite=True,
        log=False,
        meta=config,
    )
    return out / "best.pt"


def sample_patches(folder: Path) -> list[tuple[Path, str]]:
    """Save a 48x48 patch per texture from the photos' unseen bottom rows."""
    import skimage.data

    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name in data.TEXTURES:
        photo = getattr(skimage.data, name)()
        path = folder / f"{name}_patch.png"
        # resized to 32 by the transform
        Image.fromarray(photo[-60:-12, 200:248]).save(path)
        files.append((path, name))
    return files


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("images", nargs="*", type=Path)
    p.add_argument("--checkpoint", type=Path, default=None)
    p.add_argument("--top-k", type=int, default=1)
    args = p.parse_args()

    truth = {}
    if args.checkpoint is None:
        print("no --checkpoint given: training a small one on texture patches first")
        args.checkpoint = quick_checkpoint(Path("runs/example-predict"))
        if not args.images:
            truth = dict(sample_patches(Path("runs/example-predict/images")))
            args.images = list(truth)

    model, config = engine.load_model(args.checkpoint)
    d = config["data"]
    transform = data.make_eval_transform(
        d["in_channels"], d["image_size"], d["mean"], d["std"]
    )
    for path in args.images:
        top = engine.predict(model, path, transform, d["classes"], top_k=args.top_k)
        guesses = ", ".join(f"{name} ({p:.1%})" for name, p in top)
        known = f"  [true: {truth[path]}]" if path in truth else ""
        print(f"{path}: {guesses}{known}")


if __name__ == "__main__":
    main()
