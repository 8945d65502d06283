# %% [markdown]
# # Inside torchvision: resnet.py
#
# torchvision's `resnet.py` builds eighteen-layer ResNets, 152-layer ones,
# ResNeXts and wide ResNets from two block classes and one loop. This page reads
# it piece by piece. Each listing is pulled from the torchvision installed when
# the page was built, never pasted, and each is followed by an experiment run on
# that same code. The first cell checks that every listed piece is still the
# code the explanations were written for.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "Two helpers (conv3x3, conv1x1), two blocks and one _make_layer loop build "
            "every torchvision ResNet, ResNeXt and wide ResNet.",
            "torchvision strides a down-sampling Bottleneck's 3x3, not its first 1x1 "
            "(ResNet V1.5): more MACs, every input position read.",
            "zero_init_residual (off by default) starts every block as its shortcut.",
            "replace_stride_with_dilation keeps the map large for dense prediction; "
            "weights come with their preprocessing and metadata.",
        ]
    )
)

# %%
from pathlib import Path

import torch
import torchvision
from IPython.display import display

from cnnbook import show, tvsource
from cnnbook.analysis.torchvision_facts import meta_model, meta_shapes, shape_text
from cnnbook.analysis.torchvision_facts import resnet as facts
from cnnbook.analysis.torchvision_facts import weights as weight_facts
from cnnbook.exercises import resnet_torchvision as ex

print(f"torchvision {torchvision.__version__} (torch {torch.__version__})")
drifts = tvsource.check_drift(tvsource.page_entries("resnet"))
if drifts:
    display(
        show.note("\n".join(d.message for d in drifts), "warning", "Source has changed")
    )
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
display(
    show.table(
        facts.conv_helper_cases(56),
        ["call", "padding", "bias", "parameters", "output (56x56 input)"],
    )
)

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
display(
    show.table(
        facts.block_outputs(),
        ["block", "expansion", "inplanes", "planes", "output channels", "parameters"],
    )
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
r50_twin = meta_model(torchvision.models.resnet50)
shapes = meta_shapes(
    r50_twin, facts.STAGE_NODES + facts.first_block_nodes("layer2"), 224
)
display(
    show.table(
        facts.strides_in_first_block(r50, shapes, "layer2"),
        ["layer", "kernel", "stride", "output"],
        "ResNet-50, layer2.0",
    )
)

# %% [markdown]
# Why move it? A $1 \times 1$ convolution with stride 2 reads only one input
# position in four: the other three never reach the main branch, and the
# shortcut's `downsample` (also $1 \times 1$, stride 2) reads the same one.
# Measured on one bottleneck block in eval mode: the share of input positions
# whose gradient is non-zero, that is, that influence the output at all.


# %%
torch.manual_seed(0)
v15_block = facts.strided_bottleneck(
    256, 128
)  # V1.5; facts.to_v1 moves its stride to conv1
reach = facts.reach_v15_vs_v1(v15_block, (1, 256, 16, 16))
display(
    show.table(
        list(reach.items()),
        ["block", "input positions that reach the output"],
        formats=[None, ".0%"],
    )
)

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
savings = facts.v1_savings(r50, shapes)
rows = [
    (
        s.block,
        shape_text(s.input_shape),
        s.macs_v15,
        s.macs_v1,
        s.macs_v15 / s.macs_v1 - 1,
    )
    for s in savings
]
headers = ["block", "input", "MACs V1.5", "MACs V1", "V1.5 vs V1"]
display(show.table(rows, headers, formats={"V1.5 vs V1": "+.1%"}))
gmacs_v15, gmacs_v1 = facts.resnet50_gmacs(savings)
rows = [
    ("V1.5, stride on the 3x3 (torchvision's _ops)", gmacs_v15),
    ("V1, stride on the 1x1 (paper): _ops minus the savings", gmacs_v1),
]
display(show.table(rows, ["ResNet-50, 224x224", "GMACs"], formats=[None, ".3f"]))
print(f"V1.5 costs {gmacs_v15 / gmacs_v1 - 1:.1%} more multiply-adds than V1.")

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
torch.manual_seed(0)
r18 = torchvision.models.resnet18().eval()
headers = [
    "stage",
    "blocks",
    "stride of first block",
    "output channels",
    "first block's shortcut",
]
for label, model in (("ResNet-18", r18), ("ResNet-50", r50)):
    display(show.table(facts.stages(model), headers, label))

# %% [markdown]
# ### Initialisation
#
# The loop in `__init__` gives every convolution He-normal weights computed
# from the fan-out and every norm layer weight 1, bias 0. The final `fc` layer
# is not in the loop, so it keeps PyTorch's default: uniform in
# $\pm 1/\sqrt{\text{fan-in}}$. Measured on the ResNet-50 above:

# %%
names = ["conv1", "layer1.0.conv1", "layer3.0.conv2", "layer4.2.conv3"]
rows = [
    (name, f"{rule:.5f}", f"{std:.5f}")
    for name, rule, std in facts.conv_init(r50, names)
]
display(show.table(rows, ["conv", "sqrt(2 / fan_out)", "measured std"]))
init = facts.norm_and_fc_init(r50)
print(
    f"{init['batch_norms']} BatchNorm2d layers; all weights 1: {init['weights_one']}; "
    f"all biases 0: {init['biases_zero']}"
)
print(
    f"fc: largest |weight| {init['fc_max_weight']:.5f}, largest |bias| "
    f"{init['fc_max_bias']:.5f}, PyTorch's default bound 1/sqrt({init['fc_in']}) "
    f"= {init['bound']:.5f}"
)

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
print("zero_init_residual default:", facts.zero_init_default())
x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
display(
    show.table(
        facts.zero_init_comparison(x),
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
rows = [
    (builder, blocks, f"{groups} x {width}", *rest)
    for builder, blocks, groups, width, *rest in facts.groups_table()
]
headers = ["builder", "blocks", "groups x width_per_group", "layer1 3x3 width"]
display(show.table(rows, [*headers, "3x3 groups", "counted", "num_params", "equal"]))

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
runs = facts.dilation_runs(
    [[False, False, False], [False, False, True], [False, True, True]]
)
rows = [
    (
        str(r.flags),
        *(shape_text(r.shapes[s]) for s in facts.STAGES),
        str(r.layer4_dilations),
    )
    for r in runs
]
display(
    show.table(
        rows,
        ["flags", "layer1", "layer2", "layer3", "layer4", "layer4 conv2 dilations"],
    )
)
print("parameters in the three settings:", [r.params for r in runs])
print(
    "layer4 computes on",
    [r.layer4_area // runs[0].layer4_area for r in runs],
    "times the area of the plain network",
)
print("resnet18 with dilation: NotImplementedError:", facts.basicblock_dilation_error())

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
rows = [
    (name, a1, a2, f"{a2 - a1:+.3f}", *rest)
    for name, a1, a2, *rest in weight_facts.v1_v2_table()
]
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
stand_in = r18.state_dict()  # random weights, standing in for the real file
cached = weight_facts.load_from_cache(stand_in)
rows = [
    ("hub directory here", torch.hub.get_dir().replace(str(Path.home()), "~")),
    ("hub directory with TORCH_HOME=<tmp>", cached["hub_dir"]),
    ("saved", f"{cached['target']} ({cached['mib']:.1f} MiB)"),
    ("resnet18(weights=IMAGENET1K_V1) loaded the local file", cached["weights_loaded"]),
    ("resnet18(pretrained=True) loaded the same file", cached["pretrained_loaded"]),
    *(("resnet18(pretrained=True) warned", w) for w in cached["warnings"]),
    ("torch.load(..., weights_only=True) + load_state_dict", cached["load_state_dict"]),
]
display(show.table(rows, ["step", "result"], "ResNet-18's weights from a local file"))

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
display(show.source(weight_facts.Payload))
# Saves a weight and a Payload() to one file, then loads it both ways.
demo = weight_facts.unpickling_demo()
rows = [
    ("torch.load(weights_only=False) printed", demo["unsafe_printed"]),
    ("torch.load(weights_only=True) refused", demo["safe_refused"]),
    *(
        (f"weights_only default of {function}", str(default))
        for function, default in weight_facts.weights_only_defaults().items()
    ),
]
display(show.table(rows, ["call", "what happened"], "A file holding a Payload()"))

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
rows = [(node, shape_text(shapes[node])) for node in facts.STAGE_NODES]
display(show.table(rows, ["node", "output"], "ResNet-50, 224x224 input"))

# %% [markdown]
# The old `pretrained=True` API and the weights enums are compared on
# [Inside torchvision: vgg.py](../../vgg/inside-torchvision/).

# %% [markdown]
# ## References
#
# * [He, Zhang, Ren & Sun (2015), Deep Residual Learning for Image
#   Recognition](https://arxiv.org/abs/1512.03385): the architecture torchvision
#   implements (with the stride moved, V1.5).
# * [Goyal et al. (2017), Accurate, Large Minibatch SGD: Training ImageNet in 1
#   Hour](https://arxiv.org/abs/1706.02677): `zero_init_residual`.
# * [torchvision's
#   `resnet.py`](https://github.com/pytorch/vision/blob/main/torchvision/models/resnet.py)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Moving the stride of a down-sampling Bottleneck from its first
# $1 \times 1$ (V1) to its $3 \times 3$ (V1.5) changes the MACs of three blocks of
# ResNet-50. Derive the difference for each in closed form. Why are the three
# equal? What would ResNet-50 V1 cost at $224 \times 224$?

# %%
display(show.solution(ex.stride_moves_text()))

# %% [markdown]
# **Exercise 2.** What is torchvision's default for `zero_init_residual`? With
# `True`, how many batch norms start at zero in ResNet-18 and in ResNet-50, and
# what does each block compute at initialisation?

# %%
display(show.solution(ex.zero_init_text()))

# %% [markdown]
# **Exercise 3.** List every layer of ResNet-50 with stride 2. By what factor
# does the network shrink a $224 \times 224$ image, and what changes with
# `replace_stride_with_dilation=[False, True, True]`?

# %%
display(show.solution(ex.downsampling_text()))
