"""Exercises of "Seeing inside a CNN": Grad-CAM taken apart on the page's two small networks.

Each answer is computed on freshly built networks of the page's sizes
(random weights: the algebra does not depend on training), so the tests
can check it in a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cnnbook import models
from cnnbook.analysis.gradcam import activations_and_gradients, grad_cam
from cnnbook.analysis.receptive_field import receptive_fields

#: The page's networks and Grad-CAM layers: (registry name, options, layer, last convolution).
VGG = ("vgg_mini", {"in_channels": 1, "image_size": 32}, "features.2.3", "features.2.2")
RESNET = ("cifar_resnet20", {"in_channels": 1, "base_channels": 4}, "layer3", "layer3.2.conv2")
#: The page's images: grey texture patches of 32 x 32 pixels, three classes.
INPUT_SHAPE = (4, 1, 32, 32)
NUM_CLASSES = 3


def _built(which: tuple[str, dict, str, str], seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return models.create(which[0], num_classes=NUM_CLASSES, **which[1]).eval()


def _batch(seed: int) -> torch.Tensor:
    return torch.randn(INPUT_SHAPE, generator=torch.Generator().manual_seed(seed))


# --- 1. Grad-CAM after global average pooling is CAM ---------------------------------


@dataclass(frozen=True)
class CamCheck:
    """Grad-CAM at ResNet's last stage against the fc weights times the maps (CAM)."""

    side: int  # h = w of the last stage's maps
    largest: float  # the largest Grad-CAM value in the batch
    difference: float  # the largest |Grad-CAM - CAM / (h w)|
    constant_gradient: bool  # d score / dA is the same at every position of a map
    vgg_constant_gradient: bool  # the same question for the page's VGG


def _constant_over_positions(dA: torch.Tensor) -> bool:
    spread = dA.amax(dim=(2, 3)) - dA.amin(dim=(2, 3))
    return bool(spread.abs().max() <= 1e-6 * dA.abs().max())


def cam_check(seed: int = 0) -> CamCheck:
    """Compare Grad-CAM with Zhou et al.'s CAM on the page's ResNet (random weights)."""
    model, x = _built(RESNET, seed), _batch(seed)
    target = torch.arange(len(x)) % NUM_CLASSES
    A, dA = activations_and_gradients(model, x, target, RESNET[2])
    side = A.shape[-1]
    fc = model.get_submodule("fc")
    assert isinstance(fc, nn.Linear)
    w = fc.weight.detach()[target]  # (N, K): each image's class row of the last layer
    cam = F.relu(torch.einsum("nk,nkhw->nhw", w, A)) / side**2
    ours = grad_cam(model, x, target, RESNET[2])
    _, vgg_dA = activations_and_gradients(_built(VGG, seed), x, target, VGG[2])
    return CamCheck(
        side,
        float(ours.max()),
        float((ours - cam).abs().max()),
        _constant_over_positions(dA),
        _constant_over_positions(vgg_dA),
    )


def cam_check_text() -> str:
    c = cam_check()
    return (
        "Between ResNet's last stage and the score there are only global average pooling "
        "and one linear layer: y_c = sum_k W[c, k] (1 / hw) sum_ij A_k[i, j] + b_c. The "
        "gradient dy_c / dA_k[i, j] = W[c, k] / hw is the same at every position "
        f"(measured: {'yes' if c.constant_gradient else 'no'}), so its mean is W[c, k] / hw "
        "and Grad-CAM is ReLU(sum_k W[c, k] A_k) / hw: the class activation map (CAM) of "
        f"Zhou et al., divided by hw = {c.side} x {c.side} = {c.side**2}.\n\n"
        f"On the page's ResNet with random weights, the largest difference between the two "
        f"is {c.difference:.1e}, for maps whose largest value is {c.largest:.2e}: float32 "
        "rounding.\n\n"
        "VGG's head is different: the max-pool passes the gradient to one position in four, "
        "and the first fully connected layer has a weight of its own for every position of "
        "the flattened maps, so the gradient changes from position to position (constant: "
        f"{'yes' if c.vgg_constant_gradient else 'no'}, measured) and Grad-CAM is not CAM."
    )


# --- 2. the mean, not the sum ---------------------------------------------------------


@dataclass(frozen=True)
class SumCheck:
    """Grad-CAM with summed instead of averaged gradients, on the page's VGG."""

    side: int
    ratio: float  # the summed map's largest value over the averaged map's
    same_after_scaling: bool  # the two maps agree once each is divided by its largest value


def sum_check(seed: int = 0) -> SumCheck:
    model, x = _built(VGG, seed), _batch(seed)
    A, dA = activations_and_gradients(model, x, 0, VGG[2])
    mean_map = F.relu((dA.mean(dim=(2, 3), keepdim=True) * A).sum(1))
    sum_map = F.relu((dA.sum(dim=(2, 3), keepdim=True) * A).sum(1))

    def scaled(m: torch.Tensor) -> torch.Tensor:
        return m / m.amax(dim=(1, 2), keepdim=True).clamp_min(1e-30)

    return SumCheck(
        A.shape[-1],
        float(sum_map.max() / mean_map.max()),
        bool(torch.allclose(scaled(sum_map), scaled(mean_map), atol=1e-5)),
    )


def sum_check_text() -> str:
    s = sum_check()
    return (
        "A sum over the h x w positions is hw times their mean, so the map is hw times "
        f"larger: on the page's VGG (h = w = {s.side}) the summed map's largest value is "
        f"{s.ratio:.2f} times the averaged one's, against hw = {s.side**2}. Scaled to its "
        "largest value, as every picture of Grad-CAM is, the map is the same "
        f"({'yes' if s.same_after_scaling else 'no'}, measured).\n\n"
        "So the picture cannot catch this mistake; a comparison of the numbers with "
        "another implementation can. That is why the package's test compares its maps "
        "with captum's LayerGradCam value by value, before any scaling."
    )


# --- 3. how coarse the map is, and how far a cell sees --------------------------------


@dataclass(frozen=True)
class Resolution:
    """One network's Grad-CAM layer: its grid, the pixels per cell, one unit's receptive field."""

    model: str
    side: int  # h = w of the Grad-CAM layer's maps
    cell: int  # input pixels per map cell along each side
    field: int  # receptive field of one unit of the last convolution, in pixels


def resolutions() -> list[Resolution]:
    rows = []
    for which in (VGG, RESNET):
        model = _built(which, 0)
        A, _ = activations_and_gradients(model, _batch(0), 0, which[2])
        # The ResNet's blocks branch; the walk follows the longest path, through
        # every convolution, which is what bounds the field.
        fields = {r.name: r.size for r in receptive_fields(model, strict=False)}
        side = A.shape[-1]
        rows.append(Resolution(which[0], side, INPUT_SHAPE[-1] // side, fields[which[3]]))
    return rows


def resolutions_text() -> str:
    parts = [
        f"{r.model}: {r.side} x {r.side} cells, each {r.cell} x {r.cell} pixels, while one "
        f"unit sees {r.field} x {r.field} pixels"
        for r in resolutions()
    ]
    return (
        "Upsampling to 32 x 32 adds no detail: " + "; ".join(parts) + ".\n\n"
        "A field wider than half the 32-pixel image means each cell's value can depend on "
        "both halves of a half-and-half image. When Grad-CAM still favours the right half, "
        "that comes from what the trained features respond to, not from the geometry."
    )
