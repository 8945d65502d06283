# %% [markdown]
# # The VGG family
#
# The VGG paper (Simonyan and Zisserman, 2015) did not propose one network but
# six, in the columns of its Table 1: A (11 weight layers), A-LRN (A with local
# response normalisation after the first convolution), B (13), C (16, with
# three $1 \times 1$ convolutions), D (16) and E (19). D and E became famous as
# VGG-16 and VGG-19. torchvision ships A, B, D and E, each with and without
# batch norm; this book's package also builds A-LRN and C, all from one
# configuration table.
#
# Everything below is computed from the code while this page is built: the
# layer lists, the parameter counts, the multiply-accumulates (MACs) and a
# CPU latency measured on the machine that built the page. The only numbers
# typed in are the paper's error rates and torchvision's published ImageNet
# accuracies, quoted as such.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "The paper built six networks, A to E, from one recipe; D and E are "
            "VGG-16/19.",
            "Depth grows from 11 to 19 weight layers, parameters only from 133M to "
            "144M.",
            "Parameters live in the head, the computation in the convolutions.",
            "Batch norm variants add a scale and a shift per channel and train more "
            "easily.",
        ]
    )
)

# %%
import itertools
import statistics

import matplotlib.pyplot as plt
import torch
from IPython.display import display
from torchvision import models as tvm

from cnnbook import plots, runinfo, show
from cnnbook.analysis import complexity, deploy
from cnnbook.analysis.complexity import measure_latency
from cnnbook.experiments.slimming import uninitialised
from cnnbook.models import vgg

# %% [markdown]
# ## Table 1, as data
#
# `cnnbook.models.vgg.CFGS` holds one list per column: a number is a
# $3 \times 3$ convolution with that many output channels, `(c, 1)` a
# $1 \times 1$ convolution, `"M"` a max-pool and `"LRN"` local response
# normalisation. The table below is rebuilt from those lists, one row per
# configuration (the paper prints them as columns); `2 × conv3-64` is two
# $3 \times 3$ convolutions with 64 output channels.

# %%
COLUMNS = ["A", "A-LRN", "B", "C", "D", "E"]


def layer_name(v):
    if v in ("M", "LRN"):
        return v
    channels, kernel = (v, 3) if isinstance(v, int) else v
    return f"conv{kernel}-{channels}"


def blocks(cfg):
    """One cell per block (the list split at its max-pools); runs as "n × layer"."""
    out, lines = [], []
    for name, run in itertools.groupby(map(layer_name, cfg)):
        n = len(list(run))
        if name == "M":
            out, lines = [*out, "\n".join(lines)], []
        else:
            lines.append(f"{n} × {name}" if n > 1 else name)
    return out


rows = [(cfg, vgg.DEPTH[cfg], *blocks(vgg.CFGS[cfg])) for cfg in COLUMNS]
headers = ["config", "weight layers", *(f"block {i}" for i in range(1, 6))]
caption = "VGG configurations, from cnnbook.models.vgg.CFGS. Every one ends in "
show.table(rows, headers, caption + "FC-4096, FC-4096, FC-1000 and a softmax.")

# %% [markdown]
# ## Size, cost and speed of each configuration
#
# For every column the model is built from the registry, its parameters are
# counted, torchinfo counts the multiply-accumulates of one $224 \times 224$
# image, and the forward pass of one image (batch 1) is timed a few times on
# this CPU (the fastest of the runs is shown: other work on the machine can
# only slow a run down, so the minimum is the best estimate of the model's
# own cost). The weights of the timed models are
# allocated but not randomly initialised: dense arithmetic costs the same
# whatever the values, and initialising 130 million weights six times would
# take longer than timing them. The paper's top-1 and top-5 errors (Table 3,
# single-scale test, training scale $S = 256$) are quoted beside them.

# %%
REGISTRY = {
    "A": "vgg11",
    "A-LRN": "vgg_a_lrn",
    "B": "vgg13",
    "C": "vgg_c",
    "D": "vgg16",
    "E": "vgg19",
}
# top-1 / top-5 validation error (%), single scale, S = 256, Q = 256
PAPER_TABLE_3 = {
    "A": (29.6, 10.4),
    "A-LRN": (29.7, 10.5),
    "B": (28.7, 9.9),
    "C": (28.1, 9.4),
    "D": (27.0, 8.8),
    "E": (27.3, 9.0),
}
REPEATS = 3

results = {}
for cfg in COLUMNS:
    model = uninitialised(REGISTRY[cfg])
    convs = sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    # the paper's "weight layers": convolutions + 3 fully connected
    assert convs + 3 == vgg.DEPTH[cfg]
    params = complexity.count_params(model)
    macs = complexity.count_macs(model, (1, 3, 224, 224))  # also warms the kernels up
    lat = measure_latency(model, (1, 3, 224, 224), repeats=REPEATS, warmup=0)
    results[cfg] = dict(convs=convs, params=params, macs=macs, latency=lat["min_s"])
    if cfg == "D":  # VGG-16's bytes, for "Strengths and costs" at the end
        results[cfg] |= dict(
            weights=deploy.weight_bytes(model), file=deploy.saved_bytes(model)
        )
    del model

rows = [
    (cfg, REGISTRY[cfg], r["convs"], r["params"], r["macs"] / 1e9, 1e3 * r["latency"])
    + PAPER_TABLE_3[cfg]
    for cfg, r in results.items()
]
headers = ["config", "name", "convs", "parameters", "GMACs at 224", "CPU ms, batch 1"]
headers += ["paper top-1 err %", "paper top-5 err %"]
formats = {"GMACs at 224": ".2f", "CPU ms, batch 1": ".0f"}
caption = (
    f"CPU time on {runinfo.cpu_name()} with {torch.get_num_threads()} threads: the "
    f"fastest of {REPEATS} timed forward passes, after one warm-up pass"
)
display(show.table(rows, headers, caption, formats=formats))
a, e = results["A"], results["E"]
print(
    f"From A to E: parameters x{e['params'] / a['params']:.2f}, "
    f"MACs x{e['macs'] / a['macs']:.2f}, latency x{e['latency'] / a['latency']:.2f}."
)

# %% [markdown]
# A few things stand out. Depth costs computation much more than parameters
# (the ratios from A to E are printed under the table), and on a quiet
# machine the latency follows the MACs, not the parameters; the figure below
# shows how closely it did on the machine that built this page (timings on a
# busy machine are noisy). One exception is built in: torchinfo counts no
# multiply-adds for local response normalisation, yet PyTorch computes it
# with several passes over the first $64 \times 224 \times 224$ map, so A-LRN
# can take measurably longer than A for the same MACs. A-LRN has
# exactly A's parameters (LRN has none), and the paper found it no better than
# A, which is why LRN disappears from the later columns. C sits between B and
# D: its three extra layers are $1 \times 1$ convolutions, which add
# non-linearity but no spatial context, and D, with $3 \times 3$ in their place,
# is better. E is not better than D when both are trained at the single scale
# $S = 256$; with multi-scale training ($S \in [256, 512]$) the paper has E at
# 25.5% top-1 error against D's 25.6%, a marginal gain: depth had nearly
# saturated on this data.

# %%
xs = [results[c]["macs"] / 1e9 for c in COLUMNS]
ys = [1000 * results[c]["latency"] for c in COLUMNS]
fig, ax = plots.subplots()
ax.scatter(xs, ys, s=40)
for cfg, x, y in zip(COLUMNS, xs, ys, strict=True):
    ax.annotate(cfg, (x, y), textcoords="offset points", xytext=(6, -4))
ax.set_xlabel("GMACs per 224×224 image")
ax.set_ylabel("CPU latency, batch 1 (ms)")
ax.set_title(
    f"Latency follows the MACs (Pearson r = {statistics.correlation(xs, ys):.3f})"
)
plt.show()

# %% [markdown]
# ## With batch norm, and torchvision's weights
#
# Batch normalisation after every convolution adds two learned numbers per
# channel (a scale and a shift), a few thousand parameters in all, and makes
# these deep plain networks much easier to train. torchvision publishes
# ImageNet weights for its eight VGGs; their accuracy comes from the weights'
# metadata (nothing is downloaded). torchvision's weights were trained with a
# simpler recipe than the paper's and are evaluated on a single
# $224 \times 224$ centre crop, so their error is comparable with, but not
# identical in protocol to, the paper's Table 3.


# %%
def counted(cfg, bn):
    with torch.device("meta"):
        return complexity.count_params(vgg.vgg(cfg, batch_norm=bn, init_weights=False))


rows, found = [], {}
for cfg, name in [("A", "vgg11"), ("B", "vgg13"), ("D", "vgg16"), ("E", "vgg19")]:
    for bn in (False, True):
        full = f"{name}_bn" if bn else name
        meta = getattr(tvm, full.upper() + "_Weights").IMAGENET1K_V1.meta
        acc = meta["_metrics"]["ImageNet-1K"]
        params = counted(cfg, bn)
        found[cfg, bn] = (params, acc["acc@1"])
        same = params == meta["num_params"]
        rows.append(
            (
                full,
                bn,
                params,
                same,
                acc["acc@1"],
                100 - acc["acc@1"],
                100 - acc["acc@5"],
            )
        )
rows.append(("vgg_c_bn", True, counted("C", True), None, None, None, None))
headers = ["name", "batch norm", "parameters", "= num_params"]
headers += ["acc@1 %", "top-1 err %", "top-5 err %"]
caption = "torchvision's ImageNet weights (metadata; vgg_c_bn has none)"
display(
    show.table(
        rows, headers, caption, formats=[None, None, None, None, ".1f", ".1f", ".1f"]
    )
)
gains = [
    (found[c, True][1] - found[c, False][1], found[c, True][0] - found[c, False][0])
    for c in "ABDE"
]
print(
    f"Batch norm adds {min(g for g, _ in gains):.1f} to {max(g for g, _ in gains):.1f} "
    f"points of torchvision's acc@1, for {min(p for _, p in gains):,} to "
    f"{max(p for _, p in gains):,} extra parameters."
)

# %% [markdown]
# ## Where VGG-16's parameters sit
#
# Of VGG-16's 138 million parameters (134 million with a three-class head),
# most are in the fully connected head, and three quarters in its first
# layer: $512 \times 7 \times 7 = 25{,}088$ inputs times 4,096 outputs. The
# computation is the other way round: almost all of it happens in the
# convolutions, which slide their small kernels over every position. This
# is what makes the head the natural place to slim VGG (see
# [Slimming VGG](slimming.py)).

# %%
model = uninitialised("vgg16", num_classes=3)
costs = complexity.layer_costs(model, (1, 3, 224, 224))
groups = {}
block, fc = 1, 0
for c in costs:
    if c.name.startswith("features"):
        key = f"block {block}"
        if c.kind == "MaxPool2d":
            block += 1
    elif c.kind == "Linear":
        fc += 1
        key = f"fc {fc}"
    else:
        continue
    p, m = groups.get(key, (0, 0))
    groups[key] = (p + c.params, m + c.macs)
total_p = sum(p for p, _ in groups.values())
total_m = sum(m for _, m in groups.values())
fc1 = model.classifier[0]
rows = [(k, p, p / total_p, m, m / total_m) for k, (p, m) in groups.items()]
display(
    show.table(
        rows,
        ["stage", "parameters", "share", "MACs at 224", "share of MACs"],
        formats={"share": ".1%", "share of MACs": ".1%"},
        footer=("total", total_p, 1, total_m, 1),
    )
)
print(
    f"First fully connected layer: {fc1.in_features:,} x {fc1.out_features:,} weights "
    f"+ {fc1.out_features:,} biases = {complexity.count_params(fc1):,} parameters "
    f"({complexity.count_params(fc1) / total_p:.1%} of the model)."
)
assert total_p == 134_272_835 == complexity.count_params(model)

fig, axes = plots.subplots(1, 2, sharey=True)
names = list(groups)
axes[0].barh(names, [groups[k][0] / 1e6 for k in names], color=plots.PALETTE[0])
axes[0].set_xlabel("parameters (millions)")
axes[1].barh(names, [groups[k][1] / 1e9 for k in names], color=plots.PALETTE[3])
axes[1].set_xlabel("GMACs per 224×224 image")
axes[0].invert_yaxis()
fig.suptitle(
    "VGG-16, 3 classes: parameters live in the head, computation in the convolutions"
)
plt.show()

# %% [markdown]
# ## Strengths and costs
#
# VGG's strength is its recipe: the same $3 \times 3$ convolutions and
# $2 \times 2$ max-pools throughout, so a network is a list of channel
# counts, and stacked small kernels see as far as one large kernel with fewer
# weights and more non-linearities (see [Why 3x3](why-3x3.py)). Its costs
# are the ones usually quoted against it: many parameters make it slow to
# train and tune, and over 500 MB of weights make it hard to deploy. Below,
# VGG-16 is measured beside ResNet-50, which torchvision's weights put
# ahead of it on ImageNet: the bytes of its state dict (every parameter and
# buffer at its dtype's size, 4 bytes for `float32`), the size of the file
# `torch.save(model.state_dict(), path)` writes (serialised into a sink that
# only counts bytes), torchvision's published checkpoint size (metadata;
# nothing is downloaded), the MACs of one image and the CPU time of one
# forward pass at batch size 1, timed as in the table above.

# %%
from cnnbook import models

MIB = 2**20
COMPARED = {"vgg16": "VGG16_Weights", "resnet50": "ResNet50_Weights"}
# VGG-16 is configuration D, already built, counted and timed above.
measured = {"vgg16": dict(results["D"])}
with torch.device("meta"):
    net = models.create("resnet50")
measured["resnet50"] = r = {"params": complexity.count_params(net)}
r["weights"] = deploy.weight_bytes(net)
net = complexity.allocate(net)  # memory, no random initialisation
r["file"] = deploy.saved_bytes(net)
r["macs"] = complexity.count_macs(net, (1, 3, 224, 224))  # also warms the kernels up
lat = measure_latency(net, (1, 3, 224, 224), repeats=REPEATS, warmup=0)
r["latency"] = lat["min_s"]
del net
for name, enum in COMPARED.items():
    meta = getattr(tvm, enum).IMAGENET1K_V1.meta
    measured[name]["published"] = deploy.published_file_mib(enum)
    measured[name]["acc"] = meta["_metrics"]["ImageNet-1K"]["acc@1"]

rows = [
    (
        name,
        m["params"],
        m["weights"] / MIB,
        m["file"] / MIB,
        m["published"],
        m["macs"] / 1e9,
        1e3 * m["latency"],
        m["acc"],
    )
    for name, m in measured.items()
]
headers = ["model", "parameters", "state dict MiB", "saved file MiB"]
headers += ["torchvision file MiB", "GMACs at 224", "CPU ms, batch 1", "acc@1 %"]
formats = {
    "state dict MiB": ".1f",
    "saved file MiB": ".1f",
    "torchvision file MiB": ".1f",
}
formats |= {"GMACs at 224": ".2f", "CPU ms, batch 1": ".0f", "acc@1 %": ".1f"}
caption = (
    f"1 MiB = 2^20 bytes. CPU: {runinfo.cpu_name()}, {torch.get_num_threads()} "
    f"threads; fastest of {REPEATS} passes. acc@1: torchvision's IMAGENET1K_V1 weights"
)
display(show.table(rows, headers, caption, formats=formats))
v, r = measured["vgg16"], measured["resnet50"]
# what the text below says, checked on every build
assert r["file"] < v["file"] and r["macs"] < v["macs"] and r["acc"] > v["acc"]
for m in measured.values():
    assert abs(m["file"] / MIB - m["published"]) < 1e-3 * m["published"]
print(
    f"VGG-16 against ResNet-50: file x{v['file'] / r['file']:.1f}, "
    f"MACs x{v['macs'] / r['macs']:.1f}, CPU time x{v['latency'] / r['latency']:.1f}, "
    f"acc@1 {v['acc'] - r['acc']:+.1f} points."
)
print(
    f"Training state with Adam (weights, gradients, two moments): "
    f"{4 * v['weights'] / MIB:,.0f} MiB for VGG-16."
)

# %% [markdown]
# The saved file is the state dict plus some kilobytes of bookkeeping, and it
# matches torchvision's published checkpoint: the size of a VGG-16 is
# decided by its parameter count, three quarters of it in the first fully
# connected layer. Training costs about three forward passes of arithmetic
# per image, so the ratio of MACs carries over to every epoch. ResNet-50 is
# deeper than VGG-16, yet smaller, cheaper and more accurate: its
# bottleneck blocks keep most convolutions narrow, and global average
# pooling replaces the 25,088-wide head (see the ResNet chapter).

# %% [markdown]
# ## References
#
# * [Simonyan & Zisserman (2015), Very Deep Convolutional Networks for Large-Scale Image
#   Recognition](https://arxiv.org/abs/1409.1556)
# * [Ioffe & Szegedy (2015), Batch Normalization: Accelerating Deep Network Training by
#   Reducing Internal Covariate Shift](https://arxiv.org/abs/1502.03167)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises

# %% [markdown]
# **Exercise 1.** How many weight layers does each column of Table 1 have? Count them
# from the configuration lists, not from the names.

# %%
from cnnbook.exercises import vgg_arch as ex

display(show.solution(ex.weight_layers_text()))

# %% [markdown]
# **Exercise 2.** Configurations C and D have the same depth. How many parameters do
# they differ by, and where does the difference come from?

# %%
display(show.solution(ex.c_versus_d_text()))

# %% [markdown]
# **Exercise 3.** What does batch norm cost VGG-16 in parameters, and what else does it
# add to the state dict?

# %%
display(show.solution(ex.batch_norm_cost_text()))
