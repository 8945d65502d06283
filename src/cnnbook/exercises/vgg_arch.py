"""Exercises for the VGG architecture pages: blocks, VGG-16 by hand, the family, why 3x3.

Each exercise has a function returning its numbers (asserted in the tests)
and a ``*_text`` function writing the solution from them. Models are built
on the meta device: shapes and counts need no weights, so a page pays
milliseconds for a 138-million-parameter network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import nn

from cnnbook.analysis import complexity
from cnnbook.analysis.receptive_field import stack_receptive_field
from cnnbook.models import vgg, vgg_blocks, vgg_by_hand

M = TypeVar("M", bound=nn.Module)


def meta(builder: Callable[..., M], **kwargs: object) -> M:
    """``builder(**kwargs)`` with shapes but no storage."""
    with torch.device("meta"):
        return builder(**kwargs)


def output_side(side: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Side of a convolution's or pool's output: floor((n + 2p - k) / s) + 1."""
    return (side + 2 * padding - kernel) // stride + 1


def _first(value: object) -> int:
    """A layer's kernel, stride or padding as one int (square layers; "same" is not used)."""
    if isinstance(value, int):
        return value
    if isinstance(value, tuple) and isinstance(value[0], int):
        return value[0]
    raise ValueError(f"expected an int or a tuple of ints, got {value!r}")


def sides_by_formula(model: nn.Module, image_size: int) -> list[tuple[str, int]]:
    """(name, side) after each Conv2d and MaxPool2d of a plain VGG, by :func:`output_side`.

    Pure arithmetic over the layers in registration order, which for a VGG
    is the order of the forward pass: it works on the meta device.
    """
    side, out = image_size, []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d)):
            k, s, p = (_first(v) for v in (m.kernel_size, m.stride, m.padding))
            side = output_side(side, k, s, p)
            out.append((name, side))
    return out


@dataclass(frozen=True)
class Costs:
    """Parameters and multiply-accumulates of a VGG's convolutions and linear layers."""

    conv_params: int
    conv_macs: int
    fc_params: int
    fc_macs: int
    head_inputs: int  # numbers the first linear layer reads per image


def costs(model: nn.Module, image_size: int) -> Costs:
    """Walk a plain VGG (layers in forward order) and count, in closed form, per image.

    Works on meta-device models, where no forward pass is possible.
    """
    side, channels = image_size, 0
    conv_p = conv_m = fc_p = fc_m = 0
    head_inputs = -1
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            side = output_side(side, m.kernel_size[0], m.stride[0], _first(m.padding))
            conv_p += sum(t.numel() for t in m.parameters())
            conv_m += m.weight.numel() * side * side
            channels = m.out_channels
        elif isinstance(m, nn.MaxPool2d):
            side = side // 2
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            out = m.output_size
            side = int(out[0] if isinstance(out, tuple) else out)  # type: ignore[arg-type]
        elif isinstance(m, nn.Linear):
            if head_inputs < 0:
                head_inputs = channels * side * side
            fc_p += sum(t.numel() for t in m.parameters())
            fc_m += m.weight.numel()
    return Costs(conv_p, conv_m, fc_p, fc_m, head_inputs)


# --------------------------------------------------------------------------- blocks


def vgg11_layer_count() -> dict[str, int]:
    """Blocks, weight layers and leaf modules of d2l's VGG-11 (``VGGBlocks``)."""
    net = meta(vgg_blocks.VGGBlocks, conv_arch=vgg_blocks.VGG11_ARCH)
    leaves = [m for m in net.features.modules() if not list(m.children())]
    return {
        "blocks": len(net.features),
        "convs": sum(isinstance(m, nn.Conv2d) for m in net.modules()),
        "linears": sum(isinstance(m, nn.Linear) for m in net.modules()),
        "feature_modules": len(leaves),
    }


def vgg11_layer_count_text() -> str:
    c = vgg11_layer_count()
    return (
        f"The trace shows one row per block, and there are {c['blocks']} blocks. The layers are "
        f"inside them: {c['convs']} convolutions spread over the blocks as 1, 1, 2, 2, 2, and "
        f"{c['linears']} fully connected layers in the head make "
        f"{c['convs'] + c['linears']} weight layers, the 11 of the name.\n\n"
        f"Counting every module of the trunk, ReLUs and pools included, gives "
        f"{c['feature_modules']}: only layers with weights count towards a VGG's depth."
    )


def vgg11_split() -> Costs:
    """Convolutions against fully connected layers of VGG-11 (1 channel, 224x224, 10 classes)."""
    return costs(meta(vgg_blocks.vgg11_blocks), 224)


def vgg11_split_text() -> str:
    c = vgg11_split()
    params, macs = c.conv_params + c.fc_params, c.conv_macs + c.fc_macs
    return (
        f"Convolutions: {c.conv_params:,} parameters ({c.conv_params / params:.1%}) and "
        f"{c.conv_macs:,} MACs ({c.conv_macs / macs:.1%}).\n\n"
        f"Fully connected: {c.fc_params:,} parameters ({c.fc_params / params:.1%}) and "
        f"{c.fc_macs:,} MACs ({c.fc_macs / macs:.1%}).\n\n"
        "The head holds the weights, the convolutions do the work: each convolution weight "
        "is reused at every position of its feature map, each linear weight once per image."
    )


def head_at(image_size: int) -> dict[str, int]:
    """Head input and total parameters of d2l's VGG-11 built for ``image_size``."""
    net = meta(vgg_blocks.vgg11_blocks, image_size=image_size)
    c = costs(net, image_size)
    return {"head_inputs": c.head_inputs, "params": complexity.count_params(net)}


def head_at_96_text() -> str:
    big, small = head_at(224), head_at(96)
    return (
        f"Five halvings take 96 to {96 // 32}, so the first linear layer reads "
        f"{small['head_inputs']:,} numbers instead of {big['head_inputs']:,}. The network "
        f"shrinks from {big['params']:,} to {small['params']:,} parameters "
        f"({small['params'] / big['params']:.0%}); the convolutions are unchanged, only the "
        "first linear layer is smaller. A model built for 224 fails on 96x96 images with a "
        "shape error at that layer, which is why the size is a constructor argument."
    )


# --------------------------------------------------------------------------- vgg16-by-hand


def vgg16_vgg19() -> dict[str, int]:
    """Parameters of configurations D and E (1000 classes) and VGG-16's first linear layer."""
    d = meta(vgg.vgg16, init_weights=False)
    e = meta(vgg.vgg19, init_weights=False)
    fc1 = d.get_submodule("classifier.0")
    return {
        "vgg16": complexity.count_params(d),
        "vgg19": complexity.count_params(e),
        "fc1": complexity.count_params(fc1),
    }


def vgg16_vgg19_text() -> str:
    n = vgg16_vgg19()
    extra = n["vgg19"] - n["vgg16"]
    return (
        f"VGG-16 (D): {n['vgg16']:,} parameters; VGG-19 (E): {n['vgg19']:,}. The three extra "
        f"3x3 convolutions (one in block 3 with 256 channels, one each in blocks 4 and 5 with "
        f"512) add {extra:,}, only {extra / n['vgg16']:.1%} more.\n\n"
        f"VGG-16's first fully connected layer alone (25,088 x 4,096 + 4,096) has "
        f"{n['fc1']:,}: {n['fc1'] / n['vgg16']:.1%} of the network."
    )


def flatten_at(image_size: int) -> dict[str, int]:
    """What the trunk of VGG-16 hands on at ``image_size``, before and after the 7x7 pool."""
    side = image_size // 2**5
    return {"side": side, "trunk_values": 512 * side * side, "head_inputs": 512 * 7 * 7}


def flatten_at_32_text() -> str:
    f = flatten_at(32)
    return (
        f"Five pools take 32 to {f['side']}, so the last block outputs 512 x {f['side']} x "
        f"{f['side']} = {f['trunk_values']:,} values per image. Without the adaptive pool the "
        f"flatten gives {f['trunk_values']:,} and the first linear layer, built for "
        f"{f['head_inputs']:,}, fails. With it (as in VGG16ByHand and torchvision) each 1x1 map "
        f"is copied into a 7x7 grid, the head gets {f['head_inputs']:,} numbers of which only "
        f"{f['trunk_values']:,} differ."
    )


def vgg16_biases() -> dict[str, int]:
    """Bias values of VGG-16 (1000 classes): one per output channel or unit."""
    net = meta(vgg_by_hand.vgg16_by_hand, init_weights=False)
    biases = sum(p.numel() for name, p in net.named_parameters() if name.endswith("bias"))
    layers = sum(1 for name, _ in net.named_parameters() if name.endswith("bias"))
    return {"biases": biases, "layers": layers, "params": complexity.count_params(net)}


def vgg16_biases_text() -> str:
    b = vgg16_biases()
    return (
        f"Each of the {b['layers']} weight layers has one bias per output: "
        f"2x64 + 2x128 + 3x256 + 6x512 = 4,224 in the convolutions and 4,096 + 4,096 + 1,000 "
        f"in the head, {b['biases']:,} in all, {b['biases'] / b['params']:.4%} of the "
        f"{b['params']:,} parameters: leaving them out would barely change the model's size."
    )


# --------------------------------------------------------------------------- family


def weight_layers() -> dict[str, int]:
    """Weight layers of each column of Table 1: convolutions in the config plus three FC."""
    return {
        name: sum(1 for v in cfg if v not in ("M", "LRN")) + 3 for name, cfg in vgg.CFGS.items()
    }


def weight_layers_text() -> str:
    counts = weight_layers()
    listed = ", ".join(f"{k}: {v}" for k, v in counts.items())
    return (
        f"{listed}. Pools and LRN have no weights and do not count. C and D both have 16: "
        "they differ in kernel size, not depth."
    )


def c_versus_d() -> dict[str, int]:
    """Parameters of configurations C (three 1x1 convolutions) and D (3x3 there), 1000 classes."""
    c = meta(vgg.vgg_c, init_weights=False)
    d = meta(vgg.vgg16, init_weights=False)
    return {"C": complexity.count_params(c), "D": complexity.count_params(d)}


def c_versus_d_text() -> str:
    n = c_versus_d()
    diff = n["D"] - n["C"]
    per_conv = 8 * (256 * 256 + 2 * 512 * 512)
    return (
        f"C: {n['C']:,} parameters, D: {n['D']:,}; D has {diff:,} more. The three layers "
        f"that differ (256, 512 and 512 channels) have 9 weights per channel pair in D and 1 in "
        f"C, so D adds 8 x (256^2 + 2 x 512^2) = {per_conv:,}: the biases are equal. The paper "
        "found D better than C: the extra 3x3 context matters, not only the extra "
        "non-linearity a 1x1 convolution brings."
    )


def batch_norm_cost() -> dict[str, int]:
    """Learned parameters and buffers that batch norm adds to VGG-16."""
    plain = meta(vgg.vgg16, init_weights=False)
    bn = meta(vgg.vgg16_bn, init_weights=False)
    buffers = sum(b.numel() for b in bn.buffers())
    return {
        "vgg16": complexity.count_params(plain),
        "vgg16_bn": complexity.count_params(bn),
        "buffers": buffers,
    }


def batch_norm_cost_text() -> str:
    n = batch_norm_cost()
    extra = n["vgg16_bn"] - n["vgg16"]
    return (
        f"vgg16_bn has {n['vgg16_bn']:,} parameters against {n['vgg16']:,}: {extra:,} more, "
        f"a scale and a shift for each of the 4,224 convolution channels "
        f"({extra / n['vgg16']:.4%}). It also keeps {n['buffers']:,} buffer values (running "
        "mean and variance per channel, and a batch counter per layer) that are saved in the "
        "state dict but not trained. The cost is time and memory per step, not parameters."
    )


# --------------------------------------------------------------------------- why 3x3


def stacked_fields(max_layers: int = 5) -> dict[int, int]:
    """Receptive field of 1..``max_layers`` stacked 3x3 stride-1 convolutions (measured by
    the package's receptive-field code)."""
    return {n: stack_receptive_field([3] * n) for n in range(1, max_layers + 1)}


def stacked_fields_text() -> str:
    fields = stacked_fields()
    listed = ", ".join(f"{n} layer{'s' * (n > 1)}: {rf}x{rf}" for n, rf in fields.items())
    return (
        f"{listed}. Each 3x3 layer widens the field by 2, so n layers see 2n + 1 pixels: two "
        "match one 5x5, three match one 7x7."
    )


def stack_versus_single(layers: int, channels: int) -> dict[str, int]:
    """Weights (no biases) of ``layers`` stacked 3x3 convolutions against one equivalent
    kernel, all with ``channels`` in and out."""
    kernel = 2 * layers + 1
    return {
        "kernel": kernel,
        "stack": layers * 9 * channels * channels,
        "single": kernel * kernel * channels * channels,
    }


def two_vs_five_text(channels: int = 256) -> str:
    n = stack_versus_single(2, channels)
    return (
        f"Two 3x3 layers: 2 x 3 x 3 x C^2 = 18C^2 weights; one 5x5: 25C^2. The ratio "
        f"18/25 = {18 / 25:.2f} holds for every C; for C = {channels}: {n['stack']:,} against "
        f"{n['single']:,}. The stack is 28% cheaper and has two ReLUs instead of one."
    )


def three_vs_seven_text(channels: int = 512) -> str:
    n = stack_versus_single(3, channels)
    return (
        f"Three 3x3 layers: 27C^2 weights; one 7x7: 49C^2, that is {49 / 27 - 1:.0%} more, the "
        f"paper's figure (section 2.3). For C = {channels}: {n['stack']:,} against "
        f"{n['single']:,}. The stack also has three non-linearities, which the paper argues "
        "make the decision function more discriminative, and acts like a 7x7 filter forced to "
        "decompose through 3x3 ones (a regulariser)."
    )
