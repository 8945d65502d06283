"""The VGG page's measurements: torchvision's ``vgg.py`` run, counted and checked.

Every function returns plain data (numbers, tuples, dicts); the page turns
it into tables, the tests assert the facts the page's prose states.
"""

from __future__ import annotations

import inspect
import math
import os
import warnings
from dataclasses import dataclass

import torch
from skimage import data as skdata
from torch import nn
from torchvision.models import vgg as tv_vgg
from torchvision.models._utils import _ovewrite_named_param
from torchvision.models.feature_extraction import create_feature_extractor

from cnnbook import tvsource
from cnnbook.analysis import complexity
from cnnbook.analysis.torchvision_facts import meta_model, meta_shapes, shape_text, submodule

# torchvision < 0.13, vgg.py: typed in as the historical record the page compares with.
OLD_MODEL_URLS = {
    "vgg11": "https://download.pytorch.org/models/vgg11-bbd30ac9.pth",
    "vgg13": "https://download.pytorch.org/models/vgg13-c768596a.pth",
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "vgg11_bn": "https://download.pytorch.org/models/vgg11_bn-6002323d.pth",
    "vgg13_bn": "https://download.pytorch.org/models/vgg13_bn-abd245e5.pth",
    "vgg16_bn": "https://download.pytorch.org/models/vgg16_bn-6c64b313.pth",
    "vgg19_bn": "https://download.pytorch.org/models/vgg19_bn-c79401a0.pth",
}


def constructor_defaults() -> dict[str, object]:
    """``VGG.__init__``'s keyword defaults, read from its signature, not from the docs."""
    return {
        k: v.default
        for k, v in inspect.signature(tv_vgg.VGG.__init__).parameters.items()
        if v.default is not inspect.Parameter.empty
    }


def part_budget(model: nn.Module) -> list[tuple[str, str, int, float]]:
    """(attribute, type, parameters, share of the total) for each child, then the total.

    Shows where a VGG's parameters sit: mostly in the classifier.
    """
    total = complexity.count_params(model)
    rows = [
        (
            name,
            type(part).__name__,
            complexity.count_params(part),
            complexity.count_params(part) / total,
        )
        for name, part in model.named_children()
    ]
    rows.append(("total", "", total, 1.0))
    return rows


def classifier_dropouts(model: nn.Module) -> list[float]:
    """The dropout probabilities in the classifier (the old code hard-wired ``nn.Dropout()``)."""
    classifier = submodule(model, "classifier", nn.Sequential)
    return [m.p for m in classifier if isinstance(m, nn.Dropout)]


@dataclass(frozen=True)
class InitStat:
    """One weight layer of a fresh model against what the init loop promises."""

    layer: str
    kind: str
    mean: float
    expected_std: float
    std: float
    max_abs_bias: float

    @property
    def deviation(self) -> float:
        """Relative gap between the measured and the promised standard deviation."""
        return self.std / self.expected_std - 1


def he_std(conv: nn.Conv2d) -> float:
    """He-normal std from the fan-out, as ``kaiming_normal_(mode="fan_out")`` draws it."""
    return math.sqrt(2.0 / (conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]))


def init_stats(model: nn.Module) -> list[InitStat]:
    """Each convolution and linear layer's weights, measured against the init loop's rule.

    Convolutions should have std sqrt(2 / fan_out), linear layers 0.01, all
    biases 0.
    """
    rows = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            expected = he_std(m)
        elif isinstance(m, nn.Linear):
            expected = 0.01
        else:
            continue
        w = m.weight.detach()
        rows.append(
            InitStat(
                name,
                type(m).__name__,
                w.mean().item(),
                expected,
                w.std().item(),
                m.bias.detach().abs().max().item(),
            )
        )
    return rows


def pytorch_default_contrast(channels: int = 256) -> dict[str, float]:
    """PyTorch's own init of a ``channels``->``channels`` 3x3 conv, next to VGG's He init.

    PyTorch draws uniformly with bound 1/sqrt(fan_in), a much smaller std
    than He's sqrt(2 / fan), which is why VGG replaces it.
    """
    conv = nn.Conv2d(channels, channels, 3)
    fan_in = channels * 9
    return {
        "default_std": conv.weight.std().item(),
        "uniform_bound": 1 / math.sqrt(fan_in),
        "he_std": math.sqrt(2 / fan_in),
    }


def builder_cfgs() -> dict[str, tuple[str, bool]]:
    """Each builder's ``(cfg letter, batch_norm)``, read from its ``_vgg(...)`` call."""
    builders = [n for n in tv_vgg.__all__ if n.startswith("vgg")]
    return {
        b: tvsource.literal_calls(f"torchvision.models.vgg.{b}", "_vgg")[0][:2] for b in builders
    }


def cfg_table() -> list[tuple[str, str, int, int, int]]:
    """(cfg, builders using it, conv layers, max-pools, weight layers) per configuration."""
    uses = builder_cfgs()
    rows = []
    for key, cfg in tv_vgg.cfgs.items():
        convs = sum(1 for v in cfg if v != "M")
        users = ", ".join(b for b, (k, _) in uses.items() if k == key)
        rows.append((key, users, convs, cfg.count("M"), convs + 3))
    return rows


def cfg_tokens() -> list[str]:
    """The kinds of token the cfg language has: channel counts and ``'M'``, nothing else."""
    kinds = {type(v).__name__ if v != "M" else "'M'" for cfg in tv_vgg.cfgs.values() for v in cfg}
    return sorted(kinds)


def kernel_sizes(model: nn.Module) -> set[tuple[int, ...]]:
    """The kernel sizes ``make_layers`` produced (one only: a number always means 3x3)."""
    features = submodule(model, "features", nn.Sequential)
    return {m.kernel_size for m in features if isinstance(m, nn.Conv2d)}


def ovewrite_cases() -> list[tuple[dict, str]]:
    """``_ovewrite_named_param(kwargs, "num_classes", 1000)`` for a missing, agreeing and
    conflicting ``num_classes``: what kwargs become, or the error raised."""
    cases = []
    for given in ({}, {"num_classes": 1000}, {"num_classes": 10}):
        kwargs = dict(given)
        try:
            _ovewrite_named_param(kwargs, "num_classes", 1000)
            cases.append((given, str(kwargs)))
        except ValueError as err:
            cases.append((given, f"ValueError: {err}"))
    return cases


def weights_with_wrong_classes() -> str:
    """The error of asking for ImageNet weights with 10 classes, raised before any download."""
    with tvsource.no_downloads():
        try:
            tv_vgg.vgg16(weights=tv_vgg.VGG16_Weights.IMAGENET1K_V1, num_classes=10)
        except ValueError as err:
            return str(err)
    return ""


@dataclass(frozen=True)
class WeightsCheck:
    """One weights member's metadata next to the parameters counted on its model."""

    weights: str
    num_params: int
    counted: int
    file_size: float
    ops: float
    acc1: float

    @property
    def float32_mib(self) -> float:
        """The size of the counted parameters as float32 tensors, in MiB."""
        return self.counted * 4 / 2**20


def weights_checks() -> list[WeightsCheck]:
    """Every VGG weights member's metadata against a model built (on meta) by its builder."""
    rows = []
    for cls_name in [n for n in tv_vgg.__all__ if n.endswith("_Weights")]:
        builder = getattr(tv_vgg, cls_name.removesuffix("_Weights").lower())
        counted = complexity.count_params(meta_model(builder, init_weights=False))
        for w in getattr(tv_vgg, cls_name):
            meta = w.meta
            rows.append(
                WeightsCheck(
                    str(w),
                    meta["num_params"],
                    counted,
                    meta["_file_size"],
                    meta["_ops"],
                    meta["_metrics"]["ImageNet-1K"]["acc@1"],
                )
            )
    return rows


@dataclass(frozen=True)
class OpsReconciliation:
    """torchinfo's MACs for one image, its bias additions, and torchvision's ``_ops``."""

    macs: int
    bias_adds: int
    ops: float
    classifier_macs: int
    classifier_param_share: float

    @property
    def without_bias(self) -> int:
        """Multiply-adds proper: what ``_ops`` counts (in billions)."""
        return self.macs - self.bias_adds


def ops_reconciliation(
    model: nn.Module, weights: tv_vgg.WeightsEnum = tv_vgg.VGG16_Weights.IMAGENET1K_V1
) -> OpsReconciliation:
    """Reconcile ``count_macs`` (torchinfo) with ``weights.meta["_ops"]`` at 224x224.

    torchinfo counts each bias addition as one MAC; torchvision does not.
    The bias additions are counted from the same per-layer table: one per
    output element of every conv or linear layer that has a bias.
    """
    costs = complexity.layer_costs(model, (1, 3, 224, 224))
    modules = dict(model.named_modules())
    bias_adds = 0
    for c in costs:
        layer = modules.get(c.name)
        if isinstance(layer, (nn.Conv2d, nn.Linear)) and layer.bias is not None:
            bias_adds += math.prod(c.output_shape[1:])
    return OpsReconciliation(
        macs=sum(c.macs for c in costs),
        bias_adds=bias_adds,
        ops=weights.meta["_ops"],
        classifier_macs=sum(c.macs for c in costs if c.name.startswith("classifier")),
        classifier_param_share=complexity.count_params(model.get_submodule("classifier"))
        / complexity.count_params(model),
    )


@dataclass(frozen=True)
class Preprocessed:
    """A photo before and after ``weights.transforms()``, with the numbers the page prints."""

    photo: torch.Tensor
    batch: torch.Tensor
    channel_means: list[float]
    channel_stds: list[float]
    restored: torch.Tensor


def preprocess_photo(
    weights: tv_vgg.WeightsEnum = tv_vgg.VGG16_Weights.IMAGENET1K_V1,
) -> Preprocessed:
    """Run scikit-image's cat photo through the weights' preprocessing.

    ``restored`` undoes the normalisation so that the crop can be shown as
    an image.
    """
    preprocess = weights.transforms()
    photo = torch.from_numpy(skdata.chelsea()).permute(2, 0, 1)  # HWC uint8 -> CHW
    batch = preprocess(photo).unsqueeze(0)
    mean = torch.tensor(preprocess.mean).view(3, 1, 1)
    std = torch.tensor(preprocess.std).view(3, 1, 1)
    return Preprocessed(
        photo,
        batch,
        [round(v, 3) for v in batch.mean((0, 2, 3)).tolist()],
        [round(v, 3) for v in batch.std((0, 2, 3)).tolist()],
        (batch[0] * std + mean).clamp(0, 1),
    )


def pool_nodes(model: nn.Module) -> list[str]:
    """The traced names of the five max-pools, then avgpool, flatten and the last layer."""
    features = submodule(model, "features", nn.Sequential)
    pools = [f"features.{i}" for i, m in enumerate(features) if isinstance(m, nn.MaxPool2d)]
    return [*pools, "avgpool", "flatten", "classifier.6"]


def shapes_by_input(sizes: list[int]) -> list[tuple[str, ...]]:
    """(node, shape at each input size) through a meta VGG-16: the adaptive pool at work."""
    twin = meta_model(tv_vgg.vgg16, init_weights=False)
    nodes = pool_nodes(twin)
    shapes = {s: meta_shapes(twin, nodes, s) for s in sizes}
    return [(node, *(shape_text(shapes[s][node]) for s in sizes)) for node in nodes]


def smallest_input(model: nn.Module) -> dict[str, object]:
    """A real forward at 32x32 (the smallest that survives five halvings) and at 31x31.

    At 32x32 the features end 1x1 and ``avgpool`` repeats that one value in
    all 49 cells; at 31x31 the fifth max-pool has nothing to pool.
    """
    last_pool = pool_nodes(model)[4]
    with torch.no_grad():
        real = create_feature_extractor(model, return_nodes=[last_pool, "avgpool"])(
            torch.randn(1, 3, 32, 32)
        )
    at32 = real["avgpool"]
    error = ""
    try:
        with torch.no_grad():
            model(torch.randn(1, 3, 31, 31))
    except RuntimeError as err:
        error = str(err).splitlines()[0]
    return {
        "features_side": tuple(real[last_pool].shape[2:]),
        "cells": at32.shape[2] * at32.shape[3],
        "spread": (at32 - at32[..., :1, :1]).abs().max().item(),
        "min_size": tv_vgg.VGG16_Weights.IMAGENET1K_V1.meta["min_size"],
        "error_at_31": error,
    }


def legacy_files() -> list[tuple[str, str, str, str, bool]]:
    """(builder, what ``pretrained=True`` means, old file, file today, same file) per builder.

    The legacy mapping is read from each builder's ``handle_legacy_interface``
    decorator; the old file from ``OLD_MODEL_URLS``.
    """
    rows = []
    for arch, old_url in OLD_MODEL_URLS.items():
        legacy = tvsource.legacy_default(f"torchvision.models.vgg.{arch}")["pretrained"]
        enum_name, member = legacy.split(".")
        old_file = os.path.basename(old_url)
        new_file = os.path.basename(getattr(tv_vgg, enum_name)[member].url)
        rows.append((arch, legacy, old_file, new_file, old_file == new_file))
    return rows


def pretrained_false_warnings() -> list[str]:
    """The warnings the old ``vgg11(pretrained=False)`` spelling emits (built on meta)."""
    with warnings.catch_warnings(record=True) as caught, torch.device("meta"):
        warnings.simplefilter("always")
        tv_vgg.vgg11(pretrained=False)
    return [f"{w.category.__name__}: {w.message}" for w in caught]
