"""Parameters and multiply-accumulates (MACs), in total and per layer.

MACs are what torchvision's weights metadata calls ``_ops`` (it reports
GFLOPS but counts one multiply-add as one operation), so the two can be
compared directly. The counts come from torchinfo, which runs one forward
pass on a zero tensor of the given size; it also counts each bias add as
one MAC per output element, a fraction of a percent for real networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torchinfo
from torch import nn
from torchinfo.layer_info import LayerInfo

from cnnbook.modes import eval_mode


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements (optionally only those that train)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@dataclass(frozen=True)
class LayerCost:
    """One leaf layer: its name, type, output shape, parameters and MACs."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    macs: int


def summarize(
    model: nn.Module, input_shape: tuple[int, ...], depth: int = 10
) -> torchinfo.ModelStatistics:
    """The torchinfo summary of ``model`` for one input of ``input_shape``.

    ``input_shape`` includes the batch dimension, e.g. ``(1, 3, 224, 224)``.
    The model is put in eval mode so that dropout and batch norm behave as
    at inference; the caller's mode is restored afterwards.
    """
    with eval_mode(model):
        return torchinfo.summary(
            model,
            input_size=input_shape,  # torchinfo's name for a batch shape
            depth=depth,
            col_names=("output_size", "num_params", "mult_adds"),
            device="cpu",
            verbose=0,
        )


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Total multiply-accumulates of one forward pass (for the whole batch)."""
    return int(summarize(model, input_shape).total_mult_adds)


def layer_costs(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerCost]:
    """Parameters and MACs of every leaf module, in forward order."""
    stats = summarize(model, input_shape)
    rows = []
    for info in stats.summary_list:
        if info.children or not info.executed:
            continue  # containers would count their children twice
        shape = info.output_size
        rows.append(
            LayerCost(
                name=info.var_name if not info.parent_info else _full_name(info),
                kind=info.class_name,
                output_shape=tuple(shape) if isinstance(shape, (list, tuple)) else (),
                params=int(info.num_params),
                macs=int(info.macs),
            )
        )
    return rows


def _full_name(info: LayerInfo | None) -> str:
    parts = []
    while info is not None and info.parent_info is not None:
        parts.append(info.var_name)
        info = info.parent_info
    return ".".join(reversed(parts))


def conv_cost(
    in_channels: int, out_channels: int, kernel: int, height: int, width: int, bias: bool = True
) -> tuple[int, int]:
    """(parameters, MACs) of one stride-1, same-padded ``kernel`` x ``kernel`` convolution.

    A closed-form helper for the arithmetic pages: every output element
    needs ``kernel * kernel * in_channels`` multiply-adds.
    """
    params = kernel * kernel * in_channels * out_channels + (out_channels if bias else 0)
    macs = kernel * kernel * in_channels * out_channels * height * width
    return params, macs


@torch.inference_mode()
def measure_latency(
    model: nn.Module, input_shape: tuple[int, ...], repeats: int = 3, warmup: int = 1
) -> dict:
    """Seconds per forward pass in eval mode: minimum and median of ``repeats`` timed runs.

    The warm-up runs are discarded (they pay for memory allocation and kernel
    selection). The minimum is the better estimate of what the model costs:
    anything else running on the machine can only make a run slower.
    """
    import statistics
    import time

    x = torch.zeros(tuple(input_shape))
    with eval_mode(model):
        for _ in range(warmup):
            model(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "repeats": repeats}
