"""The ResNet page's measurements: torchvision's ``resnet.py`` run, counted and checked.

Every function returns plain data (numbers, tuples, dicts); the page turns
it into tables, the tests assert the facts the page's prose states.
"""

from __future__ import annotations

import copy
import inspect
import math
from dataclasses import dataclass

import torch
from torch import nn
from torchvision.models import WeightsEnum
from torchvision.models import resnet as tv_resnet

from cnnbook import tvsource
from cnnbook.analysis import complexity
from cnnbook.analysis.torchvision_facts import meta_model, meta_shapes, shape_text, submodule

STAGES = ("layer1", "layer2", "layer3", "layer4")
STAGE_NODES = ["conv1", "maxpool", *STAGES, "avgpool", "fc"]


def conv_helper_cases(image_size: int = 56) -> list[tuple[str, int, bool, int, str]]:
    """(call, padding, has bias, parameters, output shape) for each variant of the two helpers.

    ``padding=dilation`` is what keeps a 3x3 from shrinking the map at any
    dilation; neither helper has a bias because batch norm follows.
    """
    cases = [
        ("conv3x3(64, 64)", tv_resnet.conv3x3(64, 64)),
        ("conv3x3(64, 128, stride=2)", tv_resnet.conv3x3(64, 128, stride=2)),
        ("conv3x3(64, 64, dilation=2)", tv_resnet.conv3x3(64, 64, dilation=2)),
        ("conv3x3(128, 128, groups=32)", tv_resnet.conv3x3(128, 128, groups=32)),
        ("conv1x1(64, 256)", tv_resnet.conv1x1(64, 256)),
        ("conv1x1(256, 512, stride=2)", tv_resnet.conv1x1(256, 512, stride=2)),
    ]
    rows = []
    for call, conv in cases:
        out = conv(torch.zeros(1, conv.in_channels, image_size, image_size))
        params = complexity.count_params(conv)
        rows.append((call, conv.padding[0], conv.bias is not None, params, shape_text(out.shape)))
    return rows


def block_outputs() -> list[tuple[str, int, int, int, int, int]]:
    """(block, expansion, inplanes, planes, output channels, parameters) of the two blocks.

    ``expansion`` is how the rest of the file knows what a block outputs.
    """
    rows = []
    for block, inplanes in ((tv_resnet.BasicBlock, 64), (tv_resnet.Bottleneck, 256)):
        b = block(inplanes, 64)
        out = b(torch.zeros(1, inplanes, 56, 56))
        params = complexity.count_params(b)
        rows.append((block.__name__, block.expansion, inplanes, 64, out.shape[1], params))
    return rows


def to_v1(block: nn.Module) -> nn.Module:
    """A copy of a torchvision (V1.5) bottleneck with the paper's placement of the stride.

    The paper (V1) strides the first 1x1; torchvision strides the 3x3.
    """
    block = copy.deepcopy(block)
    conv1 = submodule(block, "conv1", nn.Conv2d)
    conv2 = submodule(block, "conv2", nn.Conv2d)
    conv1.stride, conv2.stride = conv2.stride, (1, 1)
    return block


def strides_in_first_block(
    model: nn.Module, shapes: dict[str, tuple[int, ...]], stage: str = "layer2"
) -> list[tuple[str, str, int, str]]:
    """(layer, kernel, stride, output shape) of each conv in a stage's first bottleneck.

    ``shapes`` comes from :func:`meta_shapes` and must include the four nodes.
    """
    rows = []
    for node in first_block_nodes(stage):
        conv = submodule(model, node, nn.Conv2d)
        kernel = f"{conv.kernel_size[0]}x{conv.kernel_size[1]}"
        rows.append((node, kernel, conv.stride[0], shape_text(shapes[node])))
    return rows


def first_block_nodes(stage: str = "layer2") -> list[str]:
    """The traced names of the convolutions of a stage's first bottleneck and its shortcut."""
    return [f"{stage}.0.conv1", f"{stage}.0.conv2", f"{stage}.0.conv3", f"{stage}.0.downsample.0"]


def reach(block: nn.Module, input_shape: tuple[int, ...] = (1, 256, 16, 16)) -> float:
    """Share of input positions whose gradient is non-zero, i.e. that reach the output at all."""
    x = torch.randn(*input_shape, requires_grad=True)
    block(x).sum().backward()
    if x.grad is None:
        raise RuntimeError("backward left no gradient on the block's input")
    return (x.grad.abs().sum(1) > 0).float().mean().item()


def strided_bottleneck(inplanes: int = 256, planes: int = 128) -> nn.Module:
    """A stride-2 torchvision bottleneck with its 1x1 stride-2 shortcut, in eval mode."""
    out = planes * tv_resnet.Bottleneck.expansion
    down = nn.Sequential(tv_resnet.conv1x1(inplanes, out, stride=2), nn.BatchNorm2d(out))
    return tv_resnet.Bottleneck(inplanes, planes, stride=2, downsample=down).eval()


def reach_v15_vs_v1(block: nn.Module, input_shape: tuple[int, ...]) -> dict[str, float]:
    """:func:`reach` of a V1.5 block and of its V1 twin: a strided 1x1 reads one position in four."""
    return {
        "V1.5 (torchvision)": reach(block, input_shape),
        "V1 (paper)": reach(to_v1(block), input_shape),
    }


@dataclass(frozen=True)
class StrideCost:
    """MACs of one stage's first block with the stride on the 3x3 (V1.5) and on the 1x1 (V1)."""

    block: str
    input_shape: tuple[int, ...]
    macs_v15: int
    macs_v1: int


def v1_savings(model: nn.Module, shapes: dict[str, tuple[int, ...]]) -> list[StrideCost]:
    """``count_macs`` of the first block of layer2..layer4, both placements.

    Only these three blocks differ between V1 and V1.5; each is measured on
    the input it receives in the network (the previous stage's output shape,
    from ``shapes``).
    """
    rows = []
    for previous, name in zip(STAGES, STAGES[1:], strict=False):
        block = getattr(model, name)[0]
        size = shapes[previous]
        rows.append(
            StrideCost(
                f"{name}.0",
                size,
                complexity.count_macs(block, size),
                complexity.count_macs(to_v1(block), size),
            )
        )
    return rows


def resnet50_gmacs(savings: list[StrideCost]) -> tuple[float, float]:
    """(V1.5, V1) GMACs of ResNet-50 at 224: torchvision's ``_ops``, and it minus the savings."""
    v15 = tv_resnet.ResNet50_Weights.IMAGENET1K_V2.meta["_ops"] * 1e9
    saved = sum(s.macs_v15 - s.macs_v1 for s in savings)
    return v15 / 1e9, (v15 - saved) / 1e9


def _shortcut(block: nn.Module) -> str:
    # A block without a shortcut conv holds ``downsample = None`` as a plain attribute.
    if block.downsample is None:
        return "identity"
    conv = submodule(block, "downsample.0", nn.Conv2d)
    return f"conv1x1 {conv.in_channels}->{conv.out_channels}, stride {conv.stride[0]}"


def stages(model: nn.Module) -> list[tuple[str, int, int, int, str]]:
    """(stage, blocks, stride of first block, output channels, first block's shortcut).

    The stride is read where the block applies it: on ``conv2`` in a
    Bottleneck (V1.5), on ``conv1`` in a BasicBlock.
    """
    rows = []
    for name in STAGES:
        stage = getattr(model, name)
        first, last = stage[0], stage[-1]
        conv = first.conv2 if isinstance(first, tv_resnet.Bottleneck) else first.conv1
        out_norm = last.bn3 if isinstance(last, tv_resnet.Bottleneck) else last.bn2
        rows.append((name, len(stage), conv.stride[0], out_norm.num_features, _shortcut(first)))
    return rows


def conv_init(model: nn.Module, names: list[str]) -> list[tuple[str, float, float]]:
    """(conv, sqrt(2 / fan_out), measured std): the init loop's He-normal rule checked."""
    rows = []
    for name in names:
        conv = submodule(model, name, nn.Conv2d)
        fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
        rows.append((name, math.sqrt(2 / fan_out), conv.weight.std().item()))
    return rows


def norm_and_fc_init(model: nn.Module) -> dict[str, object]:
    """Batch norms at weight 1, bias 0; ``fc`` left at PyTorch's uniform ±1/sqrt(fan_in).

    The init loop never touches ``fc``, so its largest weight stays inside
    the default bound but its biases are not zero.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    fc = submodule(model, "fc", nn.Linear)
    return {
        "batch_norms": len(bns),
        "weights_one": all(bool((m.weight == 1).all()) for m in bns),
        "biases_zero": all(bool((m.bias == 0).all()) for m in bns),
        "fc_in": fc.in_features,
        "fc_max_weight": fc.weight.abs().max().item(),
        "fc_max_bias": fc.bias.abs().max().item(),
        "bound": 1 / math.sqrt(fc.in_features),
    }


def zero_init_default() -> object:
    """``ResNet.__init__``'s default for ``zero_init_residual``, read from its signature."""
    return inspect.signature(tv_resnet.ResNet.__init__).parameters["zero_init_residual"].default


def block_stats(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[float | None, float]]:
    """For every BasicBlock: (max |output - input| or None if the shape changes, output std).

    A gap of 0 means the block passes its input through unchanged, which is
    what ``zero_init_residual`` makes every shape-keeping block do at first.
    """
    stats: dict[str, tuple[float | None, float]] = {}

    def hook(name: str):
        def record(mod: nn.Module, inputs: tuple[torch.Tensor], output: torch.Tensor) -> None:
            inp = inputs[0]
            gap = (output - inp).abs().max().item() if output.shape == inp.shape else None
            stats[name] = (gap, output.std().item())

        return record

    handles = [
        module.register_forward_hook(hook(name))
        for name, module in model.named_modules()
        if isinstance(module, tv_resnet.BasicBlock)
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return stats


def _gap_text(gap: float | None) -> str:
    return "(shape changes)" if gap is None else f"{gap:.4g}"


def zero_init_comparison(x: torch.Tensor) -> list[tuple[str, str, str, str, str]]:
    """ResNet-18 from seed 0 with and without ``zero_init_residual``, block by block (eval mode).

    Rows: (block, gap default, gap zero init, std default, std zero init).
    """
    torch.manual_seed(0)
    default = tv_resnet.resnet18().eval()
    torch.manual_seed(0)
    zero = tv_resnet.resnet18(zero_init_residual=True).eval()
    a, b = block_stats(default, x), block_stats(zero, x)
    return [
        (
            name,
            _gap_text(a[name][0]),
            _gap_text(b[name][0]),
            f"{a[name][1]:.3f}",
            f"{b[name][1]:.3f}",
        )
        for name in a
    ]


def _weights_enum(builder: str) -> type[WeightsEnum]:
    legacy = tvsource.legacy_default(f"torchvision.models.resnet.{builder}")["pretrained"]
    return getattr(tv_resnet, legacy.split(".")[0])


def groups_table() -> list[tuple[str, str, int, int, int, int, int, int, bool]]:
    """For every Bottleneck builder: the two numbers it sets (read from its source), the
    resulting width of the first 3x3, and the counted parameters against ``num_params``."""
    rows = []
    for builder in [n for n in tv_resnet.__all__ if n[0].islower()]:
        name = f"torchvision.models.resnet.{builder}"
        block, layers, *_ = tvsource.literal_calls(name, "_resnet")[0]
        if block != "Bottleneck":
            continue
        set_args = dict(
            c[1:3]
            for c in tvsource.literal_calls(name, "_ovewrite_named_param")
            if c[1] in ("groups", "width_per_group")
        )
        net = meta_model(getattr(tv_resnet, builder))
        counted = complexity.count_params(net)
        num_params = _weights_enum(builder).DEFAULT.meta["num_params"]
        conv2 = submodule(net, "layer1.0.conv2", nn.Conv2d)
        rows.append(
            (
                builder,
                str(layers),
                set_args.get("groups", 1),
                set_args.get("width_per_group", 64),
                conv2.in_channels,
                conv2.groups,
                counted,
                num_params,
                counted == num_params,
            )
        )
    return rows


@dataclass(frozen=True)
class DilationRun:
    """A meta ResNet-50 built with one setting of ``replace_stride_with_dilation``."""

    flags: list[bool]
    shapes: dict[str, tuple[int, ...]]
    layer4_dilations: list[int]
    params: int

    @property
    def layer4_area(self) -> int:
        """Positions of the final map: what every layer4 convolution computes on."""
        return self.shapes["layer4"][2] * self.shapes["layer4"][3]


def dilation_runs(settings: list[list[bool]]) -> list[DilationRun]:
    """Stage shapes, layer4 dilations and parameters of ResNet-50 under each flag setting."""
    runs = []
    for flags in settings:
        net = meta_model(tv_resnet.resnet50, replace_stride_with_dilation=flags)
        layer4 = submodule(net, "layer4", nn.Sequential)
        dilations = [submodule(b, "conv2", nn.Conv2d).dilation[0] for b in layer4]
        runs.append(
            DilationRun(flags, meta_shapes(net, STAGES), dilations, complexity.count_params(net))
        )
    return runs


def basicblock_dilation_error() -> str:
    """The error a BasicBlock network gives when asked for dilation."""
    try:
        meta_model(tv_resnet.resnet18, replace_stride_with_dilation=[False, False, True])
    except NotImplementedError as err:
        return str(err)
    return ""
