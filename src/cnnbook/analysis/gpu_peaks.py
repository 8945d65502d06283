"""Peak arithmetic rates of common data-centre GPUs, the denominator of model FLOPs utilisation.

Each row is one product as ``torch.cuda.get_device_name()`` names it, with
its dense peaks in FLOP/s per precision and the page the numbers come from.
Data sheets of Ampere and later quote the tensor-core rates *with*
structured sparsity (2:4), which ordinary training never uses; the dense
rate is half of that, so those entries are written ``sparse / 2`` to keep
the data sheet's number visible. ``fp32`` is the rate without tensor cores.
A precision the product has no tensor cores for is ``None`` (V100 and T4
have no bf16 or tf32).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

T = 1e12  # data sheets quote teraFLOP/s

PRECISIONS = ("bf16", "fp16", "tf32", "fp32")


@dataclass(frozen=True)
class Peak:
    """Dense peaks of one GPU product, in FLOP/s."""

    name: str
    pattern: str  # regular expression searched in the device name, case ignored
    bf16: float | None
    fp16: float | None
    tf32: float | None
    fp32: float
    source: str

    def flops(self, precision: str) -> float | None:
        """The peak for ``precision`` (one of :data:`PRECISIONS`), or None if it has none."""
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; use one of {PRECISIONS}")
        return getattr(self, precision)


_H100 = "https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet"
_H200 = "https://www.nvidia.com/en-us/data-center/h200/"
_A100 = (
    "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/"
    "nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf"
)
_L40S = "https://www.nvidia.com/en-us/data-center/l40s/"
_L4 = "https://www.nvidia.com/en-us/data-center/l4/"
# AWS's A10G has no NVIDIA data sheet; against the A10 it has more CUDA-core rate
# and half the tensor rate per SM.
_A10G = "https://www.baseten.co/blog/nvidia-a10-vs-a10g-for-ml-model-inference/"
_A10 = "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a10/pdf/a10-datasheet.pdf"
_V100 = (
    "https://images.nvidia.com/content/technologies/volta/pdf/"
    "volta-v100-datasheet-update-us-1165301-r5.pdf"
)
_T4 = (
    "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/"
    "t4-tensor-core-datasheet-951643.pdf"
)

#: Searched in order, so a specific name (``H100 NVL``) comes before a general one (``H100``).
PEAKS: tuple[Peak, ...] = (
    Peak("H200 NVL", r"H200 NVL", 1671 / 2 * T, 1671 / 2 * T, 835 / 2 * T, 60 * T, _H200),
    Peak("H200 SXM", r"H200", 1979 / 2 * T, 1979 / 2 * T, 989 / 2 * T, 67 * T, _H200),
    Peak("H100 NVL", r"H100 NVL", 1671 / 2 * T, 1671 / 2 * T, 835 / 2 * T, 60 * T, _H100),
    Peak("H100 PCIe", r"H100.*PCIe", 1513 / 2 * T, 1513 / 2 * T, 756 / 2 * T, 51 * T, _H100),
    # The SXM part names itself e.g. "NVIDIA H100 80GB HBM3", without "SXM".
    Peak("H100 SXM", r"H100", 1979 / 2 * T, 1979 / 2 * T, 989 / 2 * T, 67 * T, _H100),
    # The A100, A10 and L40S data sheets give the dense rate beside the sparse one.
    Peak("A100 SXM", r"A100.*SXM", 312 * T, 312 * T, 156 * T, 19.5 * T, _A100),
    Peak("A100 PCIe", r"A100.*PCIe", 312 * T, 312 * T, 156 * T, 19.5 * T, _A100),
    Peak("L40S", r"L40S", 362.05 * T, 362.05 * T, 183 * T, 91.6 * T, _L40S),
    Peak("L4", r"\bL4\b", 242 / 2 * T, 242 / 2 * T, 120 / 2 * T, 30.3 * T, _L4),
    Peak("A10G", r"A10G", 70 * T, 70 * T, 35 * T, 35 * T, _A10G),
    Peak("A10", r"\bA10\b", 125 * T, 125 * T, 62.5 * T, 31.2 * T, _A10),
    # Volta and Turing: fp16 tensor cores only (the data sheets' "Tensor Performance").
    Peak("V100S PCIe", r"V100S", None, 130 * T, None, 16.4 * T, _V100),
    Peak("V100 SXM2", r"V100.*SXM", None, 125 * T, None, 15.7 * T, _V100),
    Peak("V100 PCIe", r"V100.*PCIe", None, 112 * T, None, 14 * T, _V100),
    Peak("T4", r"\bT4\b", None, 65 * T, None, 8.1 * T, _T4),
)


def lookup(device_name: str) -> Peak | None:
    """The table's row for ``device_name`` (as ``torch.cuda.get_device_name()`` gives it), or None."""
    for peak in PEAKS:
        if re.search(peak.pattern, device_name, flags=re.IGNORECASE):
            return peak
    return None


def peak_flops(device_name: str, precision: str) -> float | None:
    """Dense peak FLOP/s of ``device_name`` at ``precision``; None for a GPU the table lacks."""
    peak = lookup(device_name)
    return peak.flops(precision) if peak else None
