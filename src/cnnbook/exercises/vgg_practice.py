"""Exercises for the VGG practice pages: inside torchvision, training, slimming, pitfalls.

As in :mod:`cnnbook.exercises.vgg_arch`, a function returns each exercise's
numbers and a ``*_text`` function writes the solution from them.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cnnbook import pitfalls
from cnnbook.analysis import complexity
from cnnbook.exercises.vgg_arch import costs, meta
from cnnbook.models import vgg, vgg_blocks, vgg_variants

# --------------------------------------------------------------------------- inside torchvision


def adaptive_pool_at_32() -> dict[str, int]:
    """What ``AdaptiveAvgPool2d((7, 7))`` makes of VGG-16's 1x1 maps at 32x32 input."""
    maps = torch.arange(512, dtype=torch.float32).reshape(1, 512, 1, 1)
    pooled = nn.AdaptiveAvgPool2d((7, 7))(maps)
    flat = pooled.flatten(1)
    return {
        "head_inputs": flat.shape[1],
        "distinct": int(torch.unique(flat).numel()),
        "copies": int((pooled[0, 0] == maps[0, 0, 0, 0]).sum()),
    }


def adaptive_pool_at_32_text() -> str:
    a = adaptive_pool_at_32()
    return (
        f"At 32x32 the trunk ends at 1x1. An adaptive average pool to 7x7 averages, for each "
        f"output cell, the input cells under it: every cell covers the single input cell, so "
        f"the value is copied {a['copies']} times. The head reads {a['head_inputs']:,} numbers "
        f"of which {a['distinct']} differ; each weight column of the first linear layer sees "
        "the same value 49 times, so the layer acts like a 512-input one with wasted weights."
    )


def he_std(in_channels: int, out_channels: int, kernel: int = 3) -> dict[str, float]:
    """torchvision's init for a conv: He normal, fan-out mode, gain sqrt(2) for ReLU."""
    fan_out = out_channels * kernel * kernel
    conv = nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2)
    vgg.init_torchvision_style(conv)
    return {
        "fan_out": fan_out,
        "std": math.sqrt(2.0 / fan_out),
        "measured": float(conv.weight.detach().std()),
    }


def he_std_text(in_channels: int = 256, out_channels: int = 512) -> str:
    h = he_std(in_channels, out_channels)
    return (
        f"Fan-out mode counts the weights each input feeds: {out_channels} x 3 x 3 = "
        f"{h['fan_out']:,}. With the ReLU gain sqrt(2) the standard deviation is "
        f"sqrt(2 / {h['fan_out']:,}) = {h['std']:.5f}; a freshly built layer's weights have "
        f"{h['measured']:.5f}. The input channels ({in_channels}) do not enter: fan-out keeps "
        "the gradients' variance steady on the way back."
    )


def ops_versus_macs() -> dict[str, float]:
    """VGG-16's MACs at 224x224 (closed form) against torchvision's ``_ops`` (GFLOPS)."""
    from torchvision.models import VGG16_Weights

    c = costs(meta(vgg.vgg16, init_weights=False), 224)
    return {
        "macs": c.conv_macs + c.fc_macs,
        "ops": float(VGG16_Weights.IMAGENET1K_V1.meta["_ops"]),
    }


def ops_versus_macs_text() -> str:
    o = ops_versus_macs()
    return (
        f"Counting one multiply-add per weight use gives {o['macs']:,} MACs, "
        f"{o['macs'] / 1e9:.2f} billion; torchvision's metadata says {o['ops']} GFLOPS. The two "
        "agree: torchvision's 'FLOPS' count a multiply-add as one operation. Counted as two "
        f"operations, VGG-16 would need about {2 * o['macs'] / 1e9:.1f} billion."
    )


# --------------------------------------------------------------------------- training


def mini_head(image_size: int) -> dict[str, int]:
    """First linear layer of ``vgg_mini`` (three blocks) built for ``image_size``."""
    net = meta(vgg_blocks.vgg_mini, image_size=image_size)
    fc1 = net.get_submodule("classifier.1")
    assert isinstance(fc1, nn.Linear)
    return {"inputs": fc1.in_features, "params": complexity.count_params(fc1)}


def mini_head_text() -> str:
    a, b = mini_head(28), mini_head(32)
    return (
        f"Three halvings take 28 to 3 and 32 to 4, so the first linear layer reads "
        f"{a['inputs']} numbers at 28x28 and {b['inputs']:,} at 32x32 ({a['params']:,} against "
        f"{b['params']:,} parameters). The convolutions do not care about the size; the head "
        "does, which is why the model is built with image_size."
    )


def steps(num_images: int, batch_size: int, epochs: int, drop_last: bool = False) -> int:
    """Optimiser steps of a run: batches per epoch times epochs."""
    per_epoch = num_images // batch_size if drop_last else math.ceil(num_images / batch_size)
    return per_epoch * epochs


def steps_text() -> str:
    s = steps(50_000, 256, 30)
    return (
        f"50,000 / 256 = 195.3, so an epoch has 196 batches (the last one holds "
        f"{50_000 - 195 * 256} images), and 30 epochs are {s:,} steps. With drop_last=True "
        f"it would be {steps(50_000, 256, 30, drop_last=True):,}. A cosine schedule counted in "
        "steps must use the same number, or it ends early or never reaches its minimum."
    )


def best_epoch(val_acc: list[float]) -> dict[str, float]:
    """The epoch (1-based) a keep-the-best rule saves, against the last."""
    best = max(range(len(val_acc)), key=lambda i: val_acc[i])
    return {"best": best + 1, "best_acc": val_acc[best], "last_acc": val_acc[-1]}


#: A validation curve of the shape small runs often give: it peaks, then wobbles.
EXAMPLE_CURVE = [0.52, 0.68, 0.77, 0.81, 0.79, 0.83, 0.80, 0.82]


def best_epoch_text() -> str:
    b = best_epoch(EXAMPLE_CURVE)
    return (
        f"Validation accuracy need not rise every epoch. For the curve "
        f"{', '.join(f'{a:.2f}' for a in EXAMPLE_CURVE)}, the best epoch is {b['best']} "
        f"({b['best_acc']:.2f}) and the last gives {b['last_acc']:.2f}: noise in a small "
        "validation set, a learning rate still too high, or the start of overfitting. The "
        "best checkpoint is chosen on the validation set, so only a separate test set says how "
        "good it really is."
    )


# --------------------------------------------------------------------------- slimming


def head_params(head: str, num_classes: int) -> dict[str, int]:
    """Head parameters of ``vgg16_slim`` in closed form and counted on the model."""
    hidden, pool = vgg_variants.HEADS[head]
    widths = [512 * pool * pool, *hidden, num_classes]
    closed = sum(a * b + b for a, b in zip(widths, widths[1:], strict=False))
    model = meta(vgg_variants.vgg16_slim, num_classes=num_classes, head=head, init_weights=False)
    return {
        "closed_form": closed,
        "model": complexity.count_params(model.get_submodule("classifier")),
    }


def head_params_text(num_classes: int = 3) -> str:
    slim, gap = head_params("slim", num_classes), head_params("gap", num_classes)
    return (
        f"Slim head, K = {num_classes}: 25,088 x 1,024 + 1,024 + 1,024 x 256 + 256 + "
        f"256K + K = {slim['closed_form']:,} (the model has {slim['model']:,}). GAP head: "
        f"512K + K = {gap['closed_form']:,} (model: {gap['model']:,}). The slim head keeps "
        "the 25,088-wide first layer, so it is still most of the network."
    )


def width_ratio(width_mult: float = 0.5) -> dict[str, float]:
    """Convolution parameters of VGG-16 at ``width_mult`` over full width."""
    full = costs(meta(vgg_variants.vgg16_slim, init_weights=False), 224)
    thin = costs(meta(vgg_variants.vgg16_slim, width_mult=width_mult, init_weights=False), 224)
    return {
        "full": full.conv_params,
        "thin": thin.conv_params,
        "ratio": thin.conv_params / full.conv_params,
        "mac_ratio": thin.conv_macs / full.conv_macs,
    }


def width_ratio_text() -> str:
    w = width_ratio(0.5)
    return (
        f"A convolution's weights scale with in x out channels, so halving both gives a "
        f"quarter: {w['thin']:,} against {w['full']:,} convolution parameters, a ratio of "
        f"{w['ratio']:.4f}. It is slightly above 1/4 because the first layer's 3 input "
        f"channels stay and biases only halve. The MACs fall by the same rule "
        f"(ratio {w['mac_ratio']:.4f})."
    )


def gap_saving(num_classes: int = 3) -> dict[str, int]:
    """Parameters and MACs of VGG-16 with the full head against the GAP head."""
    full = costs(meta(vgg_variants.vgg16_slim, num_classes=num_classes, head="full"), 224)
    gap = costs(meta(vgg_variants.vgg16_slim, num_classes=num_classes, head="gap"), 224)
    return {
        "full_params": full.conv_params + full.fc_params,
        "gap_params": gap.conv_params + gap.fc_params,
        "full_macs": full.conv_macs + full.fc_macs,
        "gap_macs": gap.conv_macs + gap.fc_macs,
    }


def gap_saving_text() -> str:
    g = gap_saving()
    p = 1 - g["gap_params"] / g["full_params"]
    m = 1 - g["gap_macs"] / g["full_macs"]
    return (
        f"Parameters: {g['full_params']:,} -> {g['gap_params']:,} ({p:.1%} fewer). MACs per "
        f"224x224 image: {g['full_macs']:,} -> {g['gap_macs']:,} ({m:.1%} fewer). The GAP "
        "head removes almost all the weights and almost none of the computation: to make "
        "VGG faster, thin the convolutions."
    )


# --------------------------------------------------------------------------- pitfalls


def softmax_floor(classes: tuple[int, ...] = (2, 10, 1000)) -> dict[int, tuple[float, float]]:
    """(lowest loss, highest reported probability) with a softmax before CrossEntropyLoss."""
    return {
        k: (pitfalls.cross_entropy_floor(k), pitfalls.softmax_confidence_cap(k)) for k in classes
    }


def softmax_floor_text() -> str:
    rows = softmax_floor()
    listed = "; ".join(f"K = {k}: loss >= {f:.4f}, p <= {c:.4f}" for k, (f, c) in rows.items())
    return (
        "CrossEntropyLoss applies log-softmax itself. Fed probabilities, the best the model can "
        "do is a one-hot, whose softmax gives the true class e / (e + K - 1), so the loss "
        f"cannot go below log(1 + (K - 1)/e). {listed}. The loss never reaches zero and the "
        "gradients shrink as the probabilities saturate."
    )


def view_rows(batch_size: int, image_size: int = 32) -> int | None:
    """Rows that ``x.view(-1, 512 * 7 * 7)`` gives for VGG-16's trunk output, or None
    when the view fails."""
    side = image_size // 32
    values = batch_size * 512 * side * side
    return values // 25088 if values % 25088 == 0 else None


def view_rows_text() -> str:
    listed = ", ".join(f"N = {n}: {view_rows(n)}" for n in (4, 48, 49, 98))
    return (
        "At 32x32 the trunk gives N x 512 x 1 x 1 values. view(-1, 25088) needs a multiple of "
        f"25,088 = 49 x 512, so (rows, or None for an error) {listed}. Batches of 49 or 98 "
        "images silently become 1 or 2 rows: the loss then compares the wrong number of "
        "predictions, or the error appears only on some batches. torch.flatten(x, 1) keeps the "
        "batch dimension and fails at the linear layer with a clear shape message."
    )


def port_head_fit(sizes: tuple[int, ...] = tuple(range(224, 641, 32))) -> dict[int, dict]:
    """Where the ResNet-50 port's head, ``AvgPool2d(7, 7, padding=1)`` + ``Linear(8192, n)``,
    fits a correct trunk, in closed form.

    Stem convolution, max-pool and the three stride-2 stages each take a
    side n to ceil(n / 2), so an S x S image leaves the trunk at
    ceil(S / 32). The pool then gives floor((m + 2 - 7) / 7) + 1, and the
    view to 8192 = 2048 x 2 x 2 needs exactly 2.
    """
    out = {}
    for size in sizes:
        side = math.ceil(size / 32)
        pooled = max((side + 2 - 7) // 7 + 1, 0)
        out[size] = {"side": side, "pooled": pooled, "fits": pooled == 2}
    return out


def port_head_fit_text() -> str:
    fit = port_head_fit()
    fitting = [s for s, r in fit.items() if r["fits"]]
    # Every final side m that a size S = 32 m produces, and those the view accepts.
    sides = [m for m in range(1, 33) if port_head_fit((32 * m,))[32 * m]["fits"]]
    at_224 = fit[224]
    return (
        f"A correct trunk turns an S x S image into ceil(S / 32) x ceil(S / 32) maps "
        f"(224 gives {at_224['side']}). The padded pool gives floor((m + 2 - 7) / 7) + 1 "
        f"cells a side ({at_224['pooled']} at 224), and view(N, 8192) needs 2 x 2 x 2048. "
        f"That holds for final sides {sides[0]} to {sides[-1]}, that is for "
        f"S = {32 * (sides[0] - 1) + 1} to {32 * sides[-1]}; of the multiples of 32 from 224 "
        f"to 640: {', '.join(map(str, fitting))}. At the port's own 224 x 224 it cannot "
        "fit. Global average pooling and Linear(2048, n) fit every size."
    )
