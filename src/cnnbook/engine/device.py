"""Choosing a device and the settings that make it fast."""

from __future__ import annotations

import torch

from cnnbook.errors import DeviceError  # noqa: F401  (re-exported)


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; others are checked to exist."""
    if isinstance(name, torch.device):
        name = str(name)
    name = (name or "auto").lower()
    mps = getattr(torch.backends, "mps", None)
    mps_ok = mps is not None and mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps_ok else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {name!r} was requested but PyTorch sees no CUDA GPU here; use --device cpu or auto"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {name!r} does not exist: PyTorch sees {torch.cuda.device_count()} GPU(s)"
            )
    elif dev.type == "mps" and not mps_ok:
        raise DeviceError(
            f"device {name!r} was requested but MPS is not available here; use --device cpu"
        )
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"unsupported device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    return dev


def autocast_dtype(device: torch.device, amp: bool | None) -> torch.dtype | None:
    """The autocast dtype, or None for full precision.

    ``amp=None`` means "the sensible default": bfloat16 on a CUDA GPU that
    supports it (same exponent range as float32, so no loss scaling is
    needed), full precision elsewhere. ``amp=True`` forces bfloat16.
    """
    if amp is False:
        return None
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16 if amp else None
    if amp:
        return torch.bfloat16
    return None
