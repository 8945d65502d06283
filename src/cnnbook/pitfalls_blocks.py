"""Pitfalls 7 and 8: faulty ``nn.Module`` definitions from published tutorials.

Each class is written wrong on purpose (or, for the fixed twin, right) and
is used nowhere else; each demo builds the faulty module, shows how it
fails, and returns plain data for the Pitfalls page. :mod:`cnnbook.pitfalls`
re-exports everything here.
"""

from __future__ import annotations

import torch
from torch import nn


def error_text(exc: BaseException) -> str:
    """The first line of an exception, as a learner sees it at the bottom of a traceback."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


# --------------------------------------------------------------------------- 7. forward in __init__


class BottleneckForwardInInit(nn.Module):
    """A residual bottleneck whose ``forward`` was indented one level too deep."""

    def __init__(self, channels: int = 16, mid: int = 4) -> None:
        super().__init__()
        self.stage = nn.Sequential(
            nn.Conv2d(channels, mid, 1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, 3, padding=1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.relu = nn.ReLU(inplace=True)

        def forward(self, x):  # the bug: a local function of __init__, never a method
            return self.relu(self.stage(x) + x)


class BottleneckForwardFixed(BottleneckForwardInInit):
    """The same block with ``forward`` where it belongs."""

    def forward(self, x):
        return self.relu(self.stage(x) + x)


def defines_forward(cls: type[nn.Module]) -> bool:
    """Whether ``cls`` (or a parent other than ``nn.Module``) defines ``forward``."""
    return cls.forward is not nn.Module.forward


def forward_inside_init() -> dict:
    """Call both blocks; the faulty one builds fine and fails only when called."""
    x = torch.randn(2, 16, 8, 8)
    buggy, fixed = BottleneckForwardInInit(), BottleneckForwardFixed()
    out = {
        "buggy_params": sum(p.numel() for p in buggy.parameters()),
        "fixed_params": sum(p.numel() for p in fixed.parameters()),
        "buggy_defines_forward": defines_forward(BottleneckForwardInInit),
        "fixed_defines_forward": defines_forward(BottleneckForwardFixed),
    }
    try:
        buggy(x)
        out["buggy_error"] = None
    except NotImplementedError as exc:
        out["buggy_error"] = error_text(exc)
    out["fixed_output"] = tuple(fixed(x).shape)
    return out


# --------------------------------------------------------------------------- 8. BN of wrong size


class IdentityBlockWrongBN(nn.Module):
    """A Keras-to-PyTorch bottleneck whose second BatchNorm is sized for the first conv."""

    def __init__(self, channels: int, filters: tuple[int, int, int], fixed: bool = False) -> None:
        super().__init__()
        f1, f2, f3 = filters
        self.stage = nn.Sequential(
            nn.Conv2d(channels, f1, 1, bias=False),
            nn.BatchNorm2d(f1),
            nn.ReLU(inplace=True),
            nn.Conv2d(f1, f2, 3, padding=1, bias=False),
            nn.BatchNorm2d(f2 if fixed else f1),  # the bug: f1, copied from the line above
            nn.ReLU(inplace=True),
            nn.Conv2d(f2, f3, 1, bias=False),
            nn.BatchNorm2d(f3),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.stage(x) + x)


def batchnorm_mismatches(model: nn.Module) -> list[str]:
    """Find every BatchNorm2d whose size differs from the convolution just before it.

    A static check: it reads the layer definitions and needs no data, so it
    catches the mistake whenever the two sizes differ, before any run.
    """
    found = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.Sequential):
            continue
        last_conv = None
        for child_name, child in module.named_children():
            if isinstance(child, nn.Conv2d):
                last_conv = child
            elif (
                isinstance(child, nn.BatchNorm2d)
                and last_conv is not None
                and child.num_features != last_conv.out_channels
            ):
                found.append(
                    f"{name}.{child_name}: BatchNorm2d({child.num_features}) after a conv "
                    f"with {last_conv.out_channels} output channels"
                )
    return found


def batchnorm_wrong_size() -> dict:
    """Run the faulty block where the bug hides (f1 == f2) and where it shows (f1 != f2)."""
    out = {}
    for case, filters in (("hidden", (64, 64, 256)), ("visible", (64, 128, 256))):
        x = torch.randn(2, 256, 8, 8)
        block = IdentityBlockWrongBN(256, filters)
        row = {"filters": filters, "static_check": batchnorm_mismatches(block)}
        try:
            row["output"] = tuple(block(x).shape)
            row["error"] = None
        except RuntimeError as exc:
            row["output"] = None
            row["error"] = error_text(exc)
        fixed = IdentityBlockWrongBN(256, filters, fixed=True)
        row["fixed_output"] = tuple(fixed(x).shape)
        row["fixed_static_check"] = batchnorm_mismatches(fixed)
        out[case] = row
    return out
