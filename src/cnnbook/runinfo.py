"""Where and with what a result was computed.

Every number the book prints sits next to the hardware, library versions
and seed that produced it; this module is the one place that gathers them.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime

import torch
import torchvision

import cnnbook


def cpu_name() -> str:
    """The processor's model name (best effort; falls back to the platform)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def accelerator() -> str:
    """A short description of the GPU PyTorch sees, or ``"none"``."""
    if torch.cuda.is_available():
        names = {torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())}
        return f"{torch.cuda.device_count()} x " + ", ".join(sorted(names))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "Apple MPS"
    return "none"


def info(seed: int | None = None) -> dict[str, str]:
    """Versions, hardware and (optionally) the seed, as a flat dict of strings."""
    out = {
        "cnnbook": cnnbook.__version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu": f"{cpu_name()} ({_plural(os.cpu_count() or 1, 'logical core')}, "
        f"torch uses {_plural(torch.get_num_threads(), 'thread')})",
        "gpu": accelerator(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    if seed is not None:
        out["seed"] = str(seed)
    return out


def _versions_and_hardware(d: dict[str, str]) -> list[str]:
    return [
        f"cnnbook {d['cnnbook']}",
        f"torch {d['torch']}",
        f"torchvision {d['torchvision']}",
        f"Python {d['python']}",
        f"CPU: {d['cpu']}",
        f"GPU: {d['gpu']}",
    ]


def describe(seed: int | None = None) -> str:
    """One line for the foot of a computed table or figure."""
    d = info(seed)
    parts = _versions_and_hardware(d)
    if seed is not None:
        parts.append(f"seed {seed}")
    parts.append(d["date"])
    return "Computed with " + "; ".join(parts) + "."


def footer() -> str:
    """The provenance line at the foot of every page of the book, one per page.

    The site is built in one run, so one line serves every page; a number
    that depends on a seed names its seed where it is shown.
    """
    d = info()
    return "This page was built with " + "; ".join([*_versions_and_hardware(d), d["date"]]) + "."


if __name__ == "__main__":  # pragma: no cover
    print(describe())
    sys.exit(0)
