"""Parameters and multiply-accumulates (MACs), in total and per layer.

MACs are what torchvision's weights metadata calls ``_ops`` (it reports
GFLOPS but counts one multiply-add as one operation), so the two can be
compared directly. The counts come from torchinfo, which runs one forward
pass on a zero tensor of the given size; it also counts each bias add as
one MAC per output element, a fraction of a percent for real networks.
"""

from __future__ import annotations

import itertools
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
    at inference; the caller's mode is restored afterwards. The pass runs
    where the model is: a model built on the meta device is counted
    without any arithmetic, which is how large models are counted cheaply.
    """
    with eval_mode(model):
        return torchinfo.summary(
            model,
            input_size=input_shape,  # torchinfo's name for a batch shape
            depth=depth,
            col_names=("output_size", "num_params", "mult_adds"),
            device=_device_of(model),
            verbose=0,
        )


def _device_of(model: nn.Module) -> torch.device:
    tensor = next(itertools.chain(model.parameters(), model.buffers()), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def allocate(model: nn.Module) -> nn.Module:
    """A model built on the meta device, moved to the CPU with zeroed weights, in eval mode.

    Timing a forward pass does not depend on the weights' values, and
    skipping the random initialisation of a 138M-parameter model saves
    seconds; parameters and MACs can be counted on the meta model first, for
    free. The memory is zeroed so no stray NaN or denormal slows the
    arithmetic. The model is moved in place.
    """
    model = model.to_empty(device="cpu")
    with torch.no_grad():
        for t in itertools.chain(model.parameters(), model.buffers()):
            t.zero_()
    return model.eval()


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


@dataclass(frozen=True)
class SummaryRow:
    """One row of a layer summary: a module down to the summary's depth.

    A container row (a block, a ``Sequential``) carries the totals of
    everything inside it, so the rows of one depth add up to the model.
    """

    name: str
    kind: str
    depth: int
    output_shape: tuple[int, ...]
    params: int
    macs: int
    container: bool


def summary_rows(stats: torchinfo.ModelStatistics, depth: int) -> list[SummaryRow]:
    """The layers of a torchinfo summary down to ``depth``, as rows for a table.

    torchinfo prints these as text; rows let a page show them as a table
    whose numbers line up. The model itself (depth 0) is left out: its
    totals are ``stats.total_params`` and ``stats.total_mult_adds``.
    """
    rows = []
    for info in stats.summary_list:
        if not 1 <= info.depth <= depth or not info.executed:
            continue
        shape = info.output_size
        rows.append(
            SummaryRow(
                name=_full_name(info),
                kind=info.class_name,
                depth=info.depth,
                output_shape=tuple(shape) if isinstance(shape, (list, tuple)) else (),
                params=int(info.num_params),
                macs=_macs_within(info),
                container=bool(info.children),
            )
        )
    return rows


def _macs_within(info: LayerInfo) -> int:
    """MACs of a module and everything inside it (torchinfo's own total skips the children)."""
    if not info.children:
        return int(info.macs)
    return sum(_macs_within(child) for child in info.children)


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
