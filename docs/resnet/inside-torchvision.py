# %% [markdown]
# # Inside torchvision: resnet.py
#
# torchvision's `resnet.py` builds eighteen-layer ResNets, 152-layer ones,
# ResNeXts and wide ResNets from two block classes and one loop. This page reads
# it piece by piece. Each listing is pulled from the torchvision installed when
# the page was built, never pasted, and each is followed by an experiment run on
# that same code. The first cell checks that every listed piece is still the
# code the explanations were written for.

# %%
import copy
import inspect
import math
import os
import pickle
import tempfile
import warnings
from pathlib import Path

import torch
import torchvision
from IPython.display import display
from torch import nn
from torchvision.models import resnet as tv_resnet
from torchvision.models.feature_extraction import create_feature_extractor

from cnnbook import runinfo, show, tvsource
from cnnbook.analysis import complexity

print(f"torchvision {torchvision.__version__} (torch {torch.__version__})")
print(runinfo.describe(seed=0))
drifts = tvsource.check_drift(tvsource.page_entries("resnet"))
if drifts:
    display(show.note("\n".join(d.message for d in drifts), "warning", "Source has changed"))
else:
    print(tvsource.summary("resnet"))

# %% [markdown]
# ## Two convolution helpers
#
# Every convolution inside a residual block is made by one of two one-line
# helpers:

# %%
tvsource.show("torchvision.models.resnet.conv3x3")

# %%
tvsource.show("torchvision.models.resnet.conv1x1")

# %% [markdown]
# Neither has a bias: each is followed by batch norm, whose own shift makes a
# bias redundant. `conv3x3` sets `padding=dilation`, which is exactly what keeps
# a $3 \times 3$ kernel from shrinking the map at any dilation. Each variant,
# applied to a $56 \times 56$ map:

# %%
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
    out = conv(torch.zeros(1, conv.in_channels, 56, 56))
    rows.append(
        (
            call,
            conv.padding[0],
            conv.bias is not None,
            complexity.count_params(conv),
            " x ".join(map(str, out.shape[1:])),
        )
    )
display(show.table(rows, ["call", "padding", "bias", "parameters", "output (56x56 input)"]))

# %% [markdown]
# ## `BasicBlock` and `Bottleneck`
#
# ResNet-18 and -34 stack `BasicBlock`s: two $3 \times 3$ convolutions and a
# shortcut. The addition `out += identity` is the residual connection; when
# the block changes shape, `downsample` reshapes the shortcut to match.

# %%
tvsource.show("torchvision.models.resnet.BasicBlock")

# %% [markdown]
# ResNet-50 and deeper use `Bottleneck`: a $1 \times 1$ convolution that
# narrows the channels, a $3 \times 3$ at the narrow width, and a $1 \times 1$
# that widens again by `expansion`. The class attribute `expansion` is how the
# rest of the code knows what a block outputs: `planes * block.expansion`
# channels.

# %%
tvsource.show("torchvision.models.resnet.Bottleneck")

# %%
rows = []
for block, inplanes in ((tv_resnet.BasicBlock, 64), (tv_resnet.Bottleneck, 256)):
    b = block(inplanes, 64)
    out = b(torch.zeros(1, inplanes, 56, 56))
    rows.append(
        (block.__name__, block.expansion, inplanes, 64, out.shape[1], complexity.count_params(b))
    )
display(
    show.table(rows, ["block", "expansion", "inplanes", "planes", "output channels", "parameters"])
)

# %% [markdown]
# ### Where the stride sits: ResNet V1.5
#
# When a stage halves the resolution, its first block carries `stride=2`. In
# the ResNet paper (and in Caffe's original model, "V1") the stride sits on the
# first $1 \times 1$ convolution of the bottleneck. torchvision puts it on the
# $3 \times 3$ (`conv2`), a variant known as ResNet V1.5, as the comment in
# the class says. The strides of the first block of `layer2` in a freshly
# built ResNet-50, and the shapes that come out of each of its convolutions for
# a $224 \times 224$ image. The shapes come from `create_feature_extractor`
# run on a twin of the model built on PyTorch's `meta` device, where every
# operation computes the shape of its result and nothing else, so tracing a
# large input costs nothing.

# %%
torch.manual_seed(0)
r50 = torchvision.models.resnet50().eval()  # built once, reused below
with torch.device("meta"):
    r50_twin = torchvision.models.resnet50()
stage_nodes = ["conv1", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"]
block_nodes = ["layer2.0.conv1", "layer2.0.conv2", "layer2.0.conv3", "layer2.0.downsample.0"]
feats = create_feature_extractor(r50_twin, return_nodes=stage_nodes + block_nodes)(
    torch.empty(1, 3, 224, 224, device="meta")
)
rows = []
for node in block_nodes:
    conv = r50.get_submodule(node)
    rows.append((node, f"{conv.kernel_size[0]}x{conv.kernel_size[1]}", conv.stride[0]))
    rows[-1] += (" x ".join(map(str, feats[node].shape[1:])),)
display(show.table(rows, ["layer", "kernel", "stride", "output"], "ResNet-50, layer2.0"))
print(runinfo.describe(seed=0))

# %% [markdown]
# Why move it? A $1 \times 1$ convolution with stride 2 reads only one input
# position in four: the other three never reach the main branch, and the
# shortcut's `downsample` (also $1 \times 1$, stride 2) reads the same one.
# Measured on one bottleneck block in eval mode: the share of input positions
# whose gradient is non-zero, that is, that influence the output at all.


# %%
def v1(block: nn.Module) -> nn.Module:
    """The paper's placement: stride on conv1 (1x1) instead of conv2 (3x3)."""
    block = copy.deepcopy(block)
    stride = block.conv2.stride
    block.conv1.stride, block.conv2.stride = stride, (1, 1)
    return block


torch.manual_seed(0)
down = nn.Sequential(tv_resnet.conv1x1(256, 512, stride=2), nn.BatchNorm2d(512))
v15_block = tv_resnet.Bottleneck(256, 128, stride=2, downsample=down).eval()
rows = []
for label, block in (("V1.5 (torchvision)", v15_block), ("V1 (paper)", v1(v15_block))):
    x = torch.randn(1, 256, 16, 16, requires_grad=True)
    block(x).sum().backward()
    seen = (x.grad.abs().sum(1) > 0).float().mean().item()
    rows.append((label, f"{seen:.0%}"))
display(show.table(rows, ["block", "input positions that reach the output"]))

# %% [markdown]
# The price is arithmetic: the $3 \times 3$ now runs at the higher resolution.
# Only the first block of `layer2`, `layer3` and `layer4` differs between the
# two placements, so the project's `count_macs` is run on those three blocks
# both ways, each on the input it receives inside the network. The total for
# the whole network is torchvision's `_ops` for these weights, which counts
# multiply-adds (the [VGG page](../../vgg/inside-torchvision/) reconciles it
# with `count_macs` layer by layer); the paper's V1 is that total minus the
# savings measured here:

# %%
rows, saved = [], 0
for previous, name in (("layer1", "layer2"), ("layer2", "layer3"), ("layer3", "layer4")):
    block = getattr(r50, name)[0]
    size = tuple(feats[previous].shape)  # the block's input is the previous stage's output
    m15 = complexity.count_macs(block, size)
    m1 = complexity.count_macs(v1(block), size)
    saved += m15 - m1
    rows.append((f"{name}.0", " x ".join(map(str, size[1:])), m15, m1, f"{m15 / m1 - 1:+.1%}"))
display(show.table(rows, ["block", "input", "MACs V1.5", "MACs V1", "V1.5 vs V1"]))

macs_v15 = tv_resnet.ResNet50_Weights.IMAGENET1K_V2.meta["_ops"] * 1e9
macs_v1 = macs_v15 - saved
display(
    show.table(
        [
            ("V1.5, stride on the 3x3 (torchvision's _ops)", f"{macs_v15 / 1e9:.3f}"),
            ("V1, stride on the 1x1 (paper): _ops minus the savings", f"{macs_v1 / 1e9:.3f}"),
        ],
        ["ResNet-50, 224x224", "GMACs"],
    )
)
print(f"V1.5 costs {macs_v15 / macs_v1 - 1:.1%} more multiply-adds than V1.")
print(runinfo.describe(seed=0))

# %% [markdown]
# The parameters are the same in both placements; only where the 3x3 runs
# changes. NVIDIA, whose model scripts the comment in `Bottleneck` links to,
# report that V1.5 is slightly more accurate than V1 and slightly slower.
#
# ## The `ResNet` class and `_make_layer`

# %%
tvsource.show("torchvision.models.resnet.ResNet.__init__")

# %%
tvsource.show("torchvision.models.resnet.ResNet._make_layer")

# %%
tvsource.show("torchvision.models.resnet.ResNet._forward_impl")

# %% [markdown]
# The stem (a $7 \times 7$ stride-2 convolution and a stride-2 max-pool) cuts
# the resolution by four; then four stages of 64, 128, 256 and 512 `planes`,
# the last three starting with stride 2. `_make_layer` builds a stage: only its
# first block may change the shape, so only the first gets the stride and, if
# needed, a `downsample` shortcut; `self.inplanes` carries the channel count
# from one stage to the next. A shortcut is needed when the stride is not 1
# *or* the channels change, which is why ResNet-50's `layer1` has one although
# it keeps the resolution. Read off the two built models:


# %%
def stages(model: nn.Module) -> list[tuple]:
    rows = []
    for name in ("layer1", "layer2", "layer3", "layer4"):
        stage = getattr(model, name)
        first = stage[0]
        conv = first.conv2 if isinstance(first, tv_resnet.Bottleneck) else first.conv1
        ds = first.downsample
        shortcut = (
            f"conv1x1 {ds[0].in_channels}->{ds[0].out_channels}, stride {ds[0].stride[0]}"
            if ds is not None
            else "identity"
        )
        out_ch = (
            stage[-1].bn3.num_features if hasattr(stage[-1], "bn3") else stage[-1].bn2.num_features
        )
        rows.append((name, len(stage), conv.stride[0], out_ch, shortcut))
    return rows


torch.manual_seed(0)
r18 = torchvision.models.resnet18().eval()
for label, model in (("ResNet-18", r18), ("ResNet-50", r50)):
    display(
        show.table(
            stages(model),
            [
                "stage",
                "blocks",
                "stride of first block",
                "output channels",
                "first block's shortcut",
            ],
            label,
        )
    )

# %% [markdown]
# ### Initialisation
#
# The loop in `__init__` gives every convolution He-normal weights computed
# from the fan-out and every norm layer weight 1, bias 0. The final `fc` layer
# is not in the loop, so it keeps PyTorch's default: uniform in
# $\pm 1/\sqrt{\text{fan-in}}$. Measured on the ResNet-50 above:

# %%
rows = []
for name in ("conv1", "layer1.0.conv1", "layer3.0.conv2", "layer4.2.conv3"):
    conv = r50.get_submodule(name)
    fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
    rows.append((name, f"{math.sqrt(2 / fan_out):.5f}", f"{conv.weight.std().item():.5f}"))
display(show.table(rows, ["conv", "sqrt(2 / fan_out)", "measured std"]))
bns = [m for m in r50.modules() if isinstance(m, nn.BatchNorm2d)]
print(
    f"{len(bns)} BatchNorm2d layers; all weights 1: {all(bool((m.weight == 1).all()) for m in bns)}; "
    f"all biases 0: {all(bool((m.bias == 0).all()) for m in bns)}"
)
bound = 1 / math.sqrt(r50.fc.in_features)
print(
    f"fc: largest |weight| {r50.fc.weight.abs().max().item():.5f}, largest |bias| "
    f"{r50.fc.bias.abs().max().item():.5f}, PyTorch's default bound 1/sqrt({r50.fc.in_features}) "
    f"= {bound:.5f}"
)
print(runinfo.describe(seed=0))

# %% [markdown]
# ### `zero_init_residual`
#
# With `zero_init_residual=True` the last batch norm of every residual branch
# (`bn2` in a `BasicBlock`, `bn3` in a `Bottleneck`) starts with weight 0, so
# the branch outputs zeros and each block starts as the identity on its
# shortcut (Goyal et al., "Accurate, Large Minibatch SGD", 2017). The default
# is `False`. Measured on ResNet-18 built both ways from the same seed (eval
# mode, a batch of 4 random $32 \times 32$ images): for each block, how far its
# output is from its input (only meaningful where the shape is kept), and the
# standard deviation of the activations it passes on.

# %%
signature = inspect.signature(tv_resnet.ResNet.__init__)
print("zero_init_residual default:", signature.parameters["zero_init_residual"].default)


def block_stats(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[float | None, float]]:
    stats, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, tv_resnet.BasicBlock):

            def hook(mod, inputs, output, name=name):
                inp = inputs[0]
                gap = (output - inp).abs().max().item() if output.shape == inp.shape else None
                stats[name] = (gap, output.std().item())

            handles.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return stats


x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
torch.manual_seed(0)
r18_zero = torchvision.models.resnet18(zero_init_residual=True).eval()
default_stats, zero_stats = block_stats(r18, x), block_stats(r18_zero, x)


def fmt(v):
    return "(shape changes)" if v is None else f"{v:.4g}"


rows = [
    (name, fmt(default_stats[name][0]), fmt(zero_stats[name][0]))
    + (f"{default_stats[name][1]:.3f}", f"{zero_stats[name][1]:.3f}")
    for name in default_stats
]
display(
    show.table(
        rows,
        [
            "block",
            "max |out - in|, default",
            "max |out - in|, zero init",
            "out std, default",
            "out std, zero init",
        ],
        "ResNet-18 at initialisation",
    )
)
print(runinfo.describe(seed=0))

# %% [markdown]
# With zero init, every block that keeps its shape passes its input through
# unchanged (its input is already non-negative, so the final ReLU changes
# nothing): in the last column the two blocks of each stage show the same
# statistics, while with the default initialisation every block adds its
# branch to the stream and changes it. A freshly built network is then in
# effect a much shallower one (the stem, the shortcut projections and `fc`),
# and deepens as the zeroed weights learn.
#
# ## `groups` and `width_per_group`: ResNeXt and wide ResNet
#
# `Bottleneck` computes its inner width as
# `int(planes * (base_width / 64.0)) * groups`, and passes `groups` to the
# $3 \times 3$. ResNeXt splits that convolution into many groups; wide ResNet
# doubles `width_per_group`. The builders only set these two numbers:

# %%
tvsource.show("torchvision.models.resnet.resnext50_32x4d")

# %%
tvsource.show("torchvision.models.resnet.wide_resnet50_2")

# %% [markdown]
# For every Bottleneck network in the file: the two numbers as read from each
# builder's source, the resulting width of the first $3 \times 3$, and the
# parameter count of the model (built on the `meta` device, which allocates no
# memory) against the `num_params` in its weights' metadata:

# %%
rows = []
for builder_name in [n for n in tv_resnet.__all__ if n[0].islower()]:
    call = tvsource.literal_calls(f"torchvision.models.resnet.{builder_name}", "_resnet")[0]
    if call[0] != "Bottleneck":
        continue
    set_args = dict(
        c[1:3]
        for c in tvsource.literal_calls(
            f"torchvision.models.resnet.{builder_name}", "_ovewrite_named_param"
        )
        if c[1] in ("groups", "width_per_group")
    )
    with torch.device("meta"):
        net = getattr(tv_resnet, builder_name)()
    enum = getattr(
        tv_resnet,
        tvsource.legacy_default(f"torchvision.models.resnet.{builder_name}")["pretrained"].split(
            "."
        )[0],
    )
    counted = complexity.count_params(net)
    conv2 = net.layer1[0].conv2
    rows.append(
        (
            builder_name,
            str(call[1]),
            set_args.get("groups", 1),
            set_args.get("width_per_group", 64),
            conv2.in_channels,
            conv2.groups,
            counted,
            enum.DEFAULT.meta["num_params"],
            counted == enum.DEFAULT.meta["num_params"],
        )
    )
display(
    show.table(
        rows,
        [
            "builder",
            "blocks",
            "groups",
            "width_per_group",
            "layer1 3x3 width",
            "3x3 groups",
            "counted",
            "num_params",
            "equal",
        ],
    )
)

# %% [markdown]
# ## `replace_stride_with_dilation`
#
# For segmentation and detection a final map of $7 \times 7$ is too coarse.
# `replace_stride_with_dilation` takes three flags, one per stage from
# `layer2` on; a stage whose flag is true keeps stride 1 and multiplies the
# dilation of its convolutions instead, so the resolution stays and the
# receptive field still grows. `_make_layer` gives the first block of such a
# stage the *previous* dilation and the following blocks the new one. Shapes
# from a `meta`-device ResNet-50 for three settings:

# %%
settings = [[False, False, False], [False, False, True], [False, True, True]]
rows, params, areas = [], [], []
for flags in settings:
    with torch.device("meta"):
        net = torchvision.models.resnet50(replace_stride_with_dilation=flags)
    out = create_feature_extractor(net, return_nodes=["layer1", "layer2", "layer3", "layer4"])(
        torch.empty(1, 3, 224, 224, device="meta")
    )
    dilations = [b.conv2.dilation[0] for b in net.layer4]
    rows.append(
        (str(flags), *(" x ".join(map(str, t.shape[1:])) for t in out.values()), str(dilations))
    )
    params.append(complexity.count_params(net))
    areas.append(out["layer4"].shape[2] * out["layer4"].shape[3])
display(
    show.table(rows, ["flags", "layer1", "layer2", "layer3", "layer4", "layer4 conv2 dilations"])
)
print("parameters in the three settings:", params)
print("layer4 computes on", [a // areas[0] for a in areas], "times the area of the plain network")
try:
    with torch.device("meta"):
        torchvision.models.resnet18(replace_stride_with_dilation=[False, False, True])
except NotImplementedError as err:
    print("resnet18 with dilation: NotImplementedError:", err)
print(runinfo.describe(seed=0))

# %% [markdown]
# Dilation adds no parameters, but every convolution of a dilated stage runs
# on a larger map, so the arithmetic grows with the area; `BasicBlock` refuses
# dilation outright.
#
# ## Weights V1 and V2: same network, better recipe
#
# Most ResNet builders have two sets of ImageNet weights. The builder, and so
# the architecture and parameter count, is the same for both; what differs is
# how they were trained. V1 used the simple recipe of the original paper; V2
# the 2021 torchvision recipe (longer training, label smoothing, mixup and
# cutmix, an EMA of the weights and more). V2 also evaluates with a slightly
# different resize. `DEFAULT` points at V2 wherever it exists.

# %%
tvsource.show("torchvision.models.resnet.ResNet50_Weights")

# %%
rows = []
for enum_name in [n for n in tv_resnet.__all__ if n.endswith("_Weights")]:
    enum = getattr(tv_resnet, enum_name)
    if "IMAGENET1K_V2" not in enum.__members__:
        continue
    w1, w2 = enum.IMAGENET1K_V1, enum.IMAGENET1K_V2
    a1 = w1.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    a2 = w2.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    rows.append(
        (
            enum_name,
            a1,
            a2,
            f"{a2 - a1:+.3f}",
            w1.meta["num_params"] == w2.meta["num_params"],
            f"{w1.transforms().resize_size[0]} / {w2.transforms().resize_size[0]}",
            str(enum.DEFAULT).split(".")[1],
        )
    )
display(
    show.table(
        rows,
        [
            "weights",
            "acc@1 V1",
            "acc@1 V2",
            "gap (points)",
            "same num_params",
            "resize V1 / V2",
            "DEFAULT",
        ],
        "ImageNet-1K top-1 accuracy from the weights' metadata",
    )
)

# %% [markdown]
# Several points of top-1 accuracy come from training alone. Comparing a
# ResNet with a newer architecture is only fair if both were trained with
# comparable recipes.
#
# ## Using weights without a network
#
# `resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)` ends in
# `torch.hub.load_state_dict_from_url`:

# %%
tvsource.show("torch.hub.load_state_dict_from_url")

# %% [markdown]
# It looks for the file in `<hub dir>/checkpoints/` under the last part of the
# URL and downloads only if it is missing. The hub directory is
# `$TORCH_HOME/hub`, and `TORCH_HOME` defaults to `~/.cache/torch`. So a
# machine without network can use pretrained weights by copying the file there
# (or by pointing `TORCH_HOME` at a directory holding it). `check_hash`
# compares the file with the hex digits in its name, but only on download.
#
# The cell below does that with a stand-in: it saves the state dict of a
# *randomly initialised* ResNet-18 (there are no real weights on the machine
# that builds this page) under the file name of `ResNet18_Weights.IMAGENET1K_V1`
# in a temporary `TORCH_HOME`, and `tvsource.no_downloads()` makes any download
# attempt an error, so the cell proves it stays offline. The legacy
# `pretrained=True` takes the same path.

# %%
home = Path.home()
print("hub directory here:", torch.hub.get_dir().replace(str(home), "~"))
weights = tv_resnet.ResNet18_Weights.IMAGENET1K_V1
file_name = os.path.basename(weights.url)
stand_in = r18.state_dict()  # random weights, standing in for the real file
with tempfile.TemporaryDirectory() as tmp, tvsource.torch_home(tmp), tvsource.no_downloads():
    print("hub directory with TORCH_HOME=<tmp>:", torch.hub.get_dir().replace(tmp, "<tmp>"))
    target = Path(torch.hub.get_dir()) / "checkpoints" / file_name
    target.parent.mkdir(parents=True)
    torch.save(stand_in, target)
    print("saved", str(target).replace(tmp, "<tmp>"), f"({target.stat().st_size / 2**20:.1f} MiB)")

    loaded = torchvision.models.resnet18(weights=weights)
    same = all(torch.equal(loaded.state_dict()[k], v) for k, v in stand_in.items())
    print("resnet18(weights=IMAGENET1K_V1) loaded the local file:", same)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        legacy = torchvision.models.resnet18(pretrained=True)
    same = all(torch.equal(legacy.state_dict()[k], v) for k, v in stand_in.items())
    print("resnet18(pretrained=True) loaded the same file:", same)
    for w in caught:
        print(f"  {w.category.__name__}: {w.message}")

    sd = torch.load(target, map_location="cpu", weights_only=True)
    fresh = torchvision.models.resnet18()
    print("torch.load(..., weights_only=True) + load_state_dict:", fresh.load_state_dict(sd))

# %% [markdown]
# ## Why `weights_only=True`
#
# A `.pth` file is a pickle, and unpickling can call any function the file
# names: that is how pickle rebuilds objects. A weights file from an untrusted
# source can therefore run code on the machine that loads it. With
# `weights_only=True`, `torch.load` uses a restricted unpickler that accepts
# tensors, plain containers and numbers and refuses everything else.
#
# A harmless demonstration: an object whose `__reduce__` tells pickle to
# rebuild it by calling `print`. A real attack would name `os.system` instead.


# %%
class Payload:
    def __reduce__(self):
        return (print, ("!!! this line was printed by code inside the file !!!",))


with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "payload.pth"
    torch.save({"weight": torch.zeros(2), "extra": Payload()}, path)
    print("torch.load(weights_only=False):")
    torch.load(path, weights_only=False)
    print("torch.load(weights_only=True):")
    try:
        torch.load(path, weights_only=True)
    except pickle.UnpicklingError as err:
        reason = [line for line in str(err).splitlines() if "GLOBAL" in line]
        print("  refused:", (reason or str(err).splitlines())[0].strip())

defaults = {
    "torch.load": inspect.signature(torch.load).parameters["weights_only"].default,
    "torch.hub.load_state_dict_from_url": inspect.signature(torch.hub.load_state_dict_from_url)
    .parameters["weights_only"]
    .default,
}
print("weights_only defaults:", defaults)

# %% [markdown]
# `torch.load`'s default `None` means `True` in current PyTorch, but
# `load_state_dict_from_url` passes its own default on, and torchvision's
# `get_state_dict` does not override it: a file placed in the hub cache is
# trusted. Keep that directory writable only by you, and load files of unknown
# origin yourself with `torch.load(path, weights_only=True)` as above.
#
# ## Every stage's output
#
# Finally, the shapes through ResNet-50 for one $224 \times 224$ image, from
# the `create_feature_extractor` pass made on the `meta` twin earlier on this
# page:

# %%
rows = [(node, " x ".join(map(str, feats[node].shape[1:]))) for node in stage_nodes]
display(show.table(rows, ["node", "output"], "ResNet-50, 224x224 input"))
print(runinfo.describe(seed=0))

# %% [markdown]
# The old `pretrained=True` API and the weights enums are compared on
# [Inside torchvision: vgg.py](../../vgg/inside-torchvision/).
