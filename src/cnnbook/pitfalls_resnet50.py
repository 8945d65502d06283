"""Pitfalls 9 to 11: a ResNet-50 port's stage strides, its pooled head, a misspelt layer.

A published port of Keras' ResNet-50 to PyTorch passes the strides 2, 3, 4
and 5 to the first block of stages 2 to 5 (Keras uses 1, 2, 2, 2), ends in
``AvgPool2d(7, 7, padding=1)`` followed by ``Linear(8192, n)``, and spells
one layer ``nn.RuLU``. Each demo here builds the faulty piece from the
package's own :class:`~cnnbook.models.resnet_keras.ConvBlock` and
:class:`~cnnbook.models.resnet_keras.IdentityBlock` (the port puts the stride
on the first 1x1 convolution, as Keras' "V1" does), measures what goes
wrong, and returns plain data for the Pitfalls page. :mod:`cnnbook.pitfalls`
re-exports everything here.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import textwrap
import traceback
from collections.abc import Sequence

import torch
from torch import nn

from cnnbook.models.resnet_keras import STAGES, ConvBlock, IdentityBlock
from cnnbook.pitfalls_blocks import error_text

#: The stride the port passes to the ConvBlock of stage2 .. stage5.
PORT_STRIDES = (2, 3, 4, 5)
#: What Keras' ResNet-50 (and torchvision's) use there.
KERAS_STRIDES = tuple(stride for _, _, stride in STAGES)
#: Channel divisor of the copies that are run to trace sides and positions.
THIN = 16

# --------------------------------------------------------------------------- 9. stage strides


def resnet50_trunk(strides: Sequence[int], width_divisor: int = 1) -> nn.Sequential:
    """ResNet-50's stem and four stages, with ``strides`` on each stage's first block.

    The stride sits on the first 1x1 convolution of the block and of its
    shortcut, as in the port. ``width_divisor`` divides every channel count
    (not the stem's input): the geometry, and so which positions are read,
    does not depend on the widths, and a thin copy is cheap to run.
    """
    if len(strides) != len(STAGES):
        raise ValueError(f"one stride per stage: {len(STAGES)} values, got {len(strides)}")
    stem_width = 64 // width_divisor
    stem = nn.Sequential(
        nn.Conv2d(3, stem_width, 7, stride=2, padding=3, bias=False),
        nn.BatchNorm2d(stem_width),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, stride=2, padding=1),
    )
    stages: list[nn.Module] = [stem]
    channels = stem_width
    for (filters, identities, _), stride in zip(STAGES, strides, strict=True):
        thin = [f // width_divisor for f in filters]
        blocks: list[nn.Module] = [ConvBlock(channels, 3, thin, stride, stride_in_1x1=True)]
        blocks += [IdentityBlock(thin[2], 3, thin) for _ in range(identities)]
        stages.append(nn.Sequential(*blocks))
        channels = thin[2]
    return nn.Sequential(*stages)


@torch.no_grad()
def stage_sides(strides: Sequence[int], image_size: int = 224) -> list[int]:
    """Feature-map side after the stem and after each stage.

    Traced on the 16-times thinner copy (the sides do not depend on the
    widths): a real forward pass of it costs a few milliseconds.
    """
    net = resnet50_trunk(strides, width_divisor=THIN).eval()
    x = torch.zeros(1, 3, image_size, image_size)
    sides = []
    for stage in net:
        x = stage(x)
        sides.append(int(x.shape[-1]))
    return sides


@torch.no_grad()
def _positive_weights(net: nn.Module) -> None:
    # Positive weights, batch norm at its initial statistics (a positive
    # scale) and a positive input keep every activation positive: every ReLU
    # passes its gradient on and nothing cancels, so a position gets a
    # gradient exactly when some path of weights connects it to the output.
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            module.weight.fill_(1.0 / module.weight[0].numel())


def positions_read(strides: Sequence[int], side: int = 56) -> dict[str, int]:
    """How many positions of the map entering stage 2 can change the trunk's output.

    Backpropagates from the sum of the trunk's output to a ``side`` x
    ``side`` input of stage 2, on a copy 16 times thinner (see
    :func:`resnet50_trunk`) in float64. A 1x1 convolution with stride ``s`` reads one position in
    ``s * s``; a 3x3 convolution before it can spread what it reads.
    """
    stages = resnet50_trunk(strides, width_divisor=THIN)[1:].double().eval()
    _positive_weights(stages)
    channels = 64 // THIN  # the thin stem's width: what stage 2 receives
    x = torch.ones(1, channels, side, side, dtype=torch.float64, requires_grad=True)
    stages(x).sum().backward()
    assert x.grad is not None
    reached = x.grad[0].abs().sum(0) != 0
    return {"read": int(reached.sum()), "total": side * side}


def stage_strides(image_size: int = 224) -> dict[str, dict]:
    """Sides after each stage and positions read, with the port's and with Keras' strides."""
    out = {}
    for name, strides in (("buggy", PORT_STRIDES), ("fixed", KERAS_STRIDES)):
        sides = stage_sides(strides, image_size)
        out[name] = {"strides": strides, "sides": sides, **positions_read(strides, sides[0])}
    return out


# --------------------------------------------------------------------------- 10. the head


class PortHead(nn.Module):
    """The port's head: a padded 7x7 average pool, a hard-coded view, ``Linear(8192, n)``."""

    def __init__(self, num_classes: int = 4) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(7, 7, padding=1)
        self.fc = nn.Linear(8192, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        x = x.view(x.size(0), 8192)  # the bug: 8192 = 2048 x 2 x 2, a 2x2 map
        return self.fc(x)


def fixed_head(num_classes: int = 4) -> nn.Sequential:
    """Global average pooling, flatten, ``Linear(2048, n)``: what ``resnet50_keras`` uses."""
    return nn.Sequential(
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(STAGES[-1][0][2], num_classes)
    )


def padded_pool_reads(side: int = 7) -> dict[str, float]:
    """What ``AvgPool2d(7, 7, padding=1)`` makes of one ``side`` x ``side`` map of ones.

    With the padding the single window covers rows and columns -1 to 5:
    it reads 36 of the 49 cells, counts the 13 padded zeros, and divides by 49.
    """
    x = torch.ones(1, 1, side, side, requires_grad=True)
    out = nn.AvgPool2d(7, 7, padding=1)(x)
    out.sum().backward()
    assert x.grad is not None
    return {
        "output_side": int(out.shape[-1]),
        "cells_read": int((x.grad != 0).sum()),
        "cells": side * side,
        "value": float(out.detach()[0, 0, 0, 0]),
        "global_average": float(nn.AdaptiveAvgPool2d(1)(x.detach())[0, 0, 0, 0]),
    }


def _run_head(head: nn.Module, features: torch.Tensor) -> dict:
    try:
        return {"output": tuple(head(features).shape), "error": None}
    except RuntimeError as exc:
        return {"output": None, "error": error_text(exc)}


@torch.no_grad()
def port_head(image_size: int = 224, batch_size: int = 2, num_classes: int = 4) -> dict:
    """The port's head and the fixed one, after the port's trunk and after Keras' trunk.

    The trunk's output shape comes from :func:`stage_sides`; the heads run
    on a real tensor of that shape, so the errors are the ones a reader gets
    on the CPU.
    """
    out = {}
    for name, strides in (("port strides", PORT_STRIDES), ("Keras strides", KERAS_STRIDES)):
        side = stage_sides(strides, image_size)[-1]
        features = torch.zeros(batch_size, STAGES[-1][0][2], side, side)
        out[name] = {
            "trunk_output": tuple(features.shape),
            "port_head": _run_head(PortHead(num_classes).eval(), features),
            "fixed_head": _run_head(fixed_head(num_classes).eval(), features),
        }
    return out


def head_params(num_classes: int = 4) -> dict[str, int]:
    """Parameters of the port's last layer and of the fixed one."""
    return {
        "port_fc": sum(p.numel() for p in PortHead(num_classes).fc.parameters()),
        "fixed_fc": sum(p.numel() for p in fixed_head(num_classes)[-1].parameters()),
    }


# --------------------------------------------------------------------------- 11. nn.RuLU


class ConvBlockTypo(nn.Module):
    """The port's ConvBlock, with its activation spelt ``nn.RuLU``."""

    def __init__(
        self,
        in_channels: int,
        kernel_size: int,
        filters: Sequence[int],
        stride: int,
    ) -> None:
        super().__init__()
        f1, f2, f3 = filters
        self.stage = nn.Sequential(
            nn.Conv2d(in_channels, f1, 1, stride=stride, bias=False),
            nn.BatchNorm2d(f1),
            nn.RuLU(True),  # type: ignore[attr-defined]  # the bug: no such layer
            nn.Conv2d(f1, f2, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(f2),
            nn.RuLU(True),  # type: ignore[attr-defined]
            nn.Conv2d(f2, f3, 1, bias=False),
            nn.BatchNorm2d(f3),
        )
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, f3, 1, stride=stride, bias=False), nn.BatchNorm2d(f3)
        )
        self.relu = nn.ReLU(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.stage(x) + self.shortcut(x))


def unknown_nn_names(obj: object) -> list[dict]:
    """Every ``nn.<name>`` in the source of ``obj`` that ``torch.nn`` does not have.

    A static check: it reads the source and runs nothing, so it finds the
    slip before the module is ever built. Each hit comes with its line in
    the source and the closest names ``torch.nn`` does have.
    """
    tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))  # type: ignore[arg-type]
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "nn"
            and not hasattr(nn, node.attr)
        ):
            close = difflib.get_close_matches(node.attr, [n for n in dir(nn) if n[0].isupper()])
            found.append({"name": node.attr, "line": node.lineno, "suggestions": close})
    return sorted(found, key=lambda hit: hit["line"])


def misspelt_layer() -> dict:
    """When the ``nn.RuLU`` slip shows, what the reader reads, and what a static check finds."""
    out: dict = {"class_defined": inspect.isclass(ConvBlockTypo)}
    try:
        ConvBlockTypo(64, 3, (64, 64, 256), 1)
        out["error"] = None
    except AttributeError as exc:
        # The last line of the traceback, exactly as Python prints it.
        out["error"] = traceback.format_exception_only(exc)[-1].strip()
    out["static_check"] = unknown_nn_names(ConvBlockTypo)
    return out
